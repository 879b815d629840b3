"""Batches of faces decoded off the UI thread, latest wins: the Children grid, the Strips and the Mixing docks.

A job is a key and a function that makes the latents (n, D): it runs in the worker's thread, then Codec.decode
decodes them as one batch. A job submitted while another runs replaces any still waiting, so a fast drag never
queues stale grids. The worker lives in the window's decoder thread when it is given one: the face and the
batches then take turns on the model instead of fighting over the cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from latentlab.pictures import to_uint8
from latentlab.ui.workers.latest_wins import LatestWinsWorker, WorkerThread

MakeLatents = Callable[[], np.ndarray]


class BatchDecodeWorker(LatestWinsWorker):
    """Makes the newest job's latents and decodes them as one batch."""

    decoded = Signal(object, object, object, float)  # key, latents (n, D), uint8 images (n, S, S, C), milliseconds
    failed = Signal(object, str)  # key, message

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray]):
        super().__init__()
        self._decode = decode
        self.batch_count = 0

    def process(self, job: tuple[object, MakeLatents]) -> None:
        key, make = job
        started = time.perf_counter()
        try:
            latents = np.asarray(make(), np.float32)
            images = to_uint8(self._decode(latents))
        except Exception as exc:  # a failing batch is reported in its panel, never fatal
            self.failed.emit(key, str(exc))
            return
        self.batch_count += 1
        self.decoded.emit(key, latents, images, (time.perf_counter() - started) * 1000.0)


class BatchDecoder(QObject):
    """`request(key, make)` from the UI thread; `decoded(key, latents, images, ms)` comes back by signal.

    `thread`: a running QThread to share (the window's decoder thread); None starts one of its own, which `stop()`
    ends (a shared thread is its owner's to stop).
    """

    decoded = Signal(object, object, object, float)
    failed = Signal(object, str)

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray], thread: QThread | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.worker = BatchDecodeWorker(decode)
        self._owner: WorkerThread | None = None
        if thread is None:
            self._owner = WorkerThread(self.worker, "latentlab-batch-decoder", self)
        else:
            self.worker.moveToThread(thread)
        self.worker.decoded.connect(self.decoded)
        self.worker.failed.connect(self.failed)

    def request(self, key: object, make: MakeLatents) -> None:
        """Queue a batch (thread-safe), replacing any not yet started."""
        self.worker.submit_job((key, make))

    def stop(self) -> None:
        if self._owner is not None:
            self._owner.stop()
