"""The attribute judge off the UI thread with latest-wins coalescing (see latest_wins).

Every decoded face is offered to the judge; while one is being read, a newer face replaces any still waiting, so
a fast drag never queues stale work and the probabilities shown always belong to the newest face judged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from latentlab.ui.workers.latest_wins import LatestWinsWorker, WorkerThread


class JudgeWorker(LatestWinsWorker):
    """Lives in a worker thread; reads the newest requested face, dropping superseded ones."""

    judged = Signal(object, object, float)  # probabilities (A,) float32, the latent of the face, milliseconds
    failed = Signal(str)

    def __init__(self, probabilities: Callable[[np.ndarray], np.ndarray]):
        super().__init__()
        self._probabilities = probabilities
        self.judge_count = 0

    def request(self, image: np.ndarray, z: np.ndarray) -> None:
        """Queue the decoded face `image` of latent `z` (thread-safe), replacing any face not yet read."""
        self.submit_job((image, np.array(z, np.float32, copy=True)))

    def process(self, job: tuple[np.ndarray, np.ndarray]) -> None:
        image, z = job
        started = time.perf_counter()
        try:
            probabilities = np.asarray(self._probabilities(image[None])[0], np.float32)
        except Exception as exc:  # a failing judge leaves the probabilities as they were, never fatal
            self.failed.emit(f"the attribute judge failed: {exc}")
            return
        self.judge_count += 1
        self.judged.emit(probabilities, z, (time.perf_counter() - started) * 1000.0)


class AsyncJudge(WorkerThread):
    """The judge's thread: `request(image, z)` from the UI thread, results arrive as `judged`."""

    judged = Signal(object, object, float)
    failed = Signal(str)

    def __init__(self, probabilities: Callable[[np.ndarray], np.ndarray], parent: QObject | None = None):
        super().__init__(JudgeWorker(probabilities), "latentlab-judge", parent)
        self.worker.judged.connect(self.judged)
        self.worker.failed.connect(self.failed)

    def request(self, image: np.ndarray, z: np.ndarray) -> None:
        self.worker.request(image, z)
