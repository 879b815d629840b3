"""The live mirror off the UI thread: camera frames through latentlab.faces.live.LivePipeline, newest wins.

The panel submits every camera frame; while one is being processed, a newer frame replaces any still waiting,
so the mirror always works on the newest frame and never falls behind the camera. Results come back as signals.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from latentlab.errors import UserError
from latentlab.faces.live import LivePipeline
from latentlab.model.codec import Codec
from latentlab.ui.workers.latest_wins import LatestWinsWorker, WorkerThread

_WARM_UP = "warm-up"


class LiveWorker(LatestWinsWorker):
    """Lives in a worker thread; runs the pipeline on the newest submitted frame."""

    produced = Signal(object)  # LiveFrame
    ready = Signal()  # the warm-up has loaded the detector and traced the models
    failed = Signal(str)  # one line

    def __init__(self, pipeline: LivePipeline):
        super().__init__()
        self.pipeline = pipeline

    def process(self, job) -> None:
        try:
            if job is _WARM_UP:
                self.pipeline.warm_up()
                self.ready.emit()
                return
            frame, captured_at = job
            self.produced.emit(self.pipeline.process(frame, captured_at))
        except UserError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a failing frame is a line in the panel, never a crash
            self.failed.emit(f"live mirror failed: {type(exc).__name__}: {exc}")


class AsyncLiveMirror(WorkerThread):
    """The live mirror's thread: `submit(frame, captured_at)` from the UI thread, LiveFrames come back as
    `produced`. `set_edit` (the current face's edits) and `restart` take effect at the next frame."""

    produced = Signal(object)
    ready = Signal()
    failed = Signal(str)

    def __init__(self, codec: Codec, pipeline: LivePipeline | None = None, parent: QObject | None = None):
        pipeline = pipeline or LivePipeline(codec)
        super().__init__(LiveWorker(pipeline), "latentlab-live", parent)
        self.pipeline = pipeline
        self.worker.produced.connect(self.produced)
        self.worker.ready.connect(self.ready)
        self.worker.failed.connect(self.failed)

    def warm_up(self) -> None:
        """Load mtcnn and trace the models in the worker thread (the first frame would otherwise take seconds)."""
        self.worker.submit_job(_WARM_UP)

    def restart(self, align: bool) -> None:
        """A new session: the face is searched for again and the smoothing starts afresh."""
        self.pipeline.align = align
        self.pipeline.reset()

    def submit(self, frame: np.ndarray, captured_at: float) -> None:
        self.worker.submit_job((frame, captured_at))

    def set_edit(self, edit: np.ndarray | None) -> None:
        self.pipeline.set_edit(edit)
