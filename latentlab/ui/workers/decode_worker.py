"""Decoding off the UI thread with latest-wins coalescing (see latest_wins).

The window asks for latents as fast as the user drags; the worker thread decodes one at a time and
a latent that arrives while another is being decoded replaces any still waiting, so stale frames
are never queued and the UI thread never blocks on the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from latentlab.pictures import to_uint8
from latentlab.ui.workers.latest_wins import LatestWinsWorker, WorkerThread


class DecodeWorker(LatestWinsWorker):
    """Lives in a worker thread; decodes the newest requested latent, dropping superseded ones."""

    decoded = Signal(object, object, float)  # uint8 image (S, S, C), the latent it shows, milliseconds
    failed = Signal(str)

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray]):
        super().__init__()
        self._decode = decode
        self.decode_count = 0

    def request(self, z: np.ndarray) -> None:
        """Queue `z` (thread-safe), replacing any latent not yet decoded."""
        self.submit_job(np.array(z, np.float32, copy=True))

    def process(self, z: np.ndarray) -> None:
        started = time.perf_counter()
        try:
            image = to_uint8(self._decode(z))
        except Exception as exc:  # a failing decode is reported in the window, never fatal
            self.failed.emit(f"decoding failed: {exc}")
            return
        self.decode_count += 1
        self.decoded.emit(image, z, (time.perf_counter() - started) * 1000.0)


class AsyncDecoder(WorkerThread):
    """The decoder's thread: `request(z)` from the UI thread, results arrive as `decoded`."""

    decoded = Signal(object, object, float)
    failed = Signal(str)

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray], parent: QObject | None = None):
        super().__init__(DecodeWorker(decode), "latentlab-decoder", parent)
        self.worker.decoded.connect(self.decoded)
        self.worker.failed.connect(self.failed)

    def request(self, z: np.ndarray) -> None:
        self.worker.request(z)
