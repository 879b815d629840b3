"""The Your face panel's live mirror: the Live and Record buttons, the model's live face beside the camera image,
its frame rate and latency, and the session recording. The panel feeds it camera frames; the work runs in
AsyncLiveMirror's thread and the recording is written by SessionRecorder's.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from latentlab.errors import UserError
from latentlab.faces.live import LiveFrame, LivePipeline
from latentlab.faces.recording import SessionRecorder, recording_suffix
from latentlab.model.codec import Codec
from latentlab.ui import settings
from latentlab.ui.widgets.image_view import ImageView
from latentlab.ui.workers.background import BackgroundTask
from latentlab.ui.workers.live_worker import AsyncLiveMirror

LIVE_VIEW_SIZE = 120
STATS_EVERY_S = 0.25  # the fps / latency line is rewritten at most this often
STATS_FRAMES = 120  # latency p95 over the last frames shown


class LiveControls(QObject):
    """Live / Record for one panel. `pipeline` (optional) replaces the default LivePipeline (tests, bench)."""

    message = Signal(str, bool)  # one line for the panel's status, error or not
    shown = Signal(object)  # the LiveFrame whose face was just put on screen
    recording_finished = Signal(str)  # the path written
    recording_failed = Signal(str)

    def __init__(self, codec: Codec, parent: QWidget, pipeline: LivePipeline | None = None):
        super().__init__(parent)
        self.codec = codec
        self._pipeline = pipeline
        self.mirror: AsyncLiveMirror | None = None
        self.recorder: SessionRecorder | None = None
        self.finishing: BackgroundTask | None = None
        self._edit: np.ndarray | None = None
        self._on = False
        self.frames_shown = 0
        self.frames_submitted = 0
        self.last_frame: LiveFrame | None = None
        self._shown_at: deque[float] = deque(maxlen=STATS_FRAMES)
        self._latencies: deque[float] = deque(maxlen=STATS_FRAMES)
        self._stats_at = 0.0

        self.live_button = QPushButton("Live")
        self.live_button.setCheckable(True)
        self.live_button.setEnabled(False)
        self.live_button.setToolTip("The model's version of you, live, with the current face's edits "
                                    "(Attributes sliders, holds included) applied as you move")
        self.record_button = QPushButton("Record")
        self.record_button.setCheckable(True)
        self.record_button.setEnabled(False)
        self.record_button.setToolTip(f"Record the live session, camera and model side by side, as "
                                      f"{recording_suffix()[1:].upper()}; press again to stop and save")
        self.record_button.toggled.connect(self._on_record_toggled)
        self.view = ImageView(LIVE_VIEW_SIZE, "Live: the model's version of you")
        self.view.setToolTip("decode(encode(your face)) every frame the pipeline can take, edits applied")
        self.stats_label = QLabel()
        self.stats_label.setStyleSheet("color: palette(mid);")
        self.stats_label.setWordWrap(True)

    # ------------------------------------------------------------------------------------ state

    @property
    def on(self) -> bool:
        return self._on

    def set_available(self, camera_running: bool) -> None:
        """Live can be turned on only while the camera runs."""
        self.live_button.setEnabled(camera_running)
        if not camera_running:
            self.stop()

    def set_edit(self, edit: np.ndarray | None) -> None:
        """The current face's edits, added to every live latent from the next frame on."""
        self._edit = None if edit is None else np.asarray(edit, np.float32).copy()
        if self.mirror is not None:
            self.mirror.set_edit(self._edit)

    def start(self, align: bool) -> None:
        """Turn live mode on (the camera must run)."""
        if self._on:
            return
        if self.mirror is None:
            self.mirror = AsyncLiveMirror(self.codec, self._pipeline, self)
            self.mirror.produced.connect(self._on_produced)
            self.mirror.failed.connect(self._on_failed)
            self.mirror.warm_up()
        self.mirror.restart(align)
        self.mirror.set_edit(self._edit)
        self._on = True
        self.frames_shown = self.frames_submitted = 0
        self._shown_at.clear()
        self._latencies.clear()
        self._set_buttons()
        self.stats_label.setText("live: looking for your face…")
        self.message.emit("Live on: the model's version of you follows you; push an Attributes slider to edit it.",
                          False)

    def stop(self) -> None:
        """Turn live mode off; a recording in progress is finished and saved (idempotent)."""
        if self.recorder is not None:
            self.stop_recording()
        if not self._on:
            self._set_buttons()
            return
        self._on = False
        self._set_buttons()
        self.stats_label.setText("")

    def restart(self, align: bool) -> None:
        """Look for the face again (after Align face was toggled)."""
        if self.mirror is not None and self._on:
            self.mirror.restart(align)

    def _set_buttons(self) -> None:
        for button, checked in ((self.live_button, self._on), (self.record_button, self.recorder is not None)):
            button.blockSignals(True)
            button.setChecked(checked)
            button.blockSignals(False)
        self.record_button.setEnabled(self._on)
        self.record_button.setText("Stop rec." if self.recorder is not None else "Record")

    def feed(self, frame: np.ndarray, captured_at: float) -> None:
        """A camera frame for the mirror (dropped if a newer one comes before the worker is free)."""
        if self._on and self.mirror is not None:
            self.frames_submitted += 1
            self.mirror.submit(frame, captured_at)

    # ------------------------------------------------------------------------------------ results

    @Slot(object)
    def _on_produced(self, frame: LiveFrame) -> None:
        if not self._on:
            return
        self.last_frame = frame
        if frame.decoded is not None:
            self.view.set_image(frame.decoded)
            now = time.perf_counter()
            self.frames_shown += 1
            self._shown_at.append(now)
            self._latencies.append((now - frame.captured_at) * 1000.0)
            if self.recorder is not None:
                self.recorder.add(frame.camera, frame.decoded, frame.captured_at)
            self.shown.emit(frame)
        self._show_stats(frame)

    def _show_stats(self, frame: LiveFrame) -> None:
        now = time.perf_counter()
        if frame.note:
            self.stats_label.setText(f"live: {frame.note}" if frame.decoded is not None
                                     else "live: no face found yet: face the camera")
            self._stats_at = now
            return
        if now - self._stats_at < STATS_EVERY_S:
            return
        self._stats_at = now
        fps, p95 = self.stats()
        edits = " · edits applied" if self._edit is not None and np.any(self._edit) else ""
        recording = f" · recording {self.recorder.seconds:.0f} s" if self.recorder is not None else ""
        self.stats_label.setText(f"live · {fps:.0f} fps · {p95:.0f} ms (p95){edits}{recording}")

    def stats(self) -> tuple[float, float]:
        """Faces shown in the last second, and the p95 latency (ms, frame captured -> face given to the view)."""
        now = time.perf_counter()
        fps = float(sum(1 for t in self._shown_at if now - t <= 1.0))
        p95 = float(np.percentile(self._latencies, 95)) if self._latencies else 0.0
        return fps, p95

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.stop()
        self.message.emit(f"{message}; live mode off.", True)

    # ------------------------------------------------------------------------------------ recording

    @Slot(bool)
    def _on_record_toggled(self, checked: bool) -> None:
        if not checked:
            self.stop_recording()
            return
        default = f"latentlab-live-{datetime.now():%Y%m%d-%H%M%S}{recording_suffix()}"
        chosen = settings.ask_save_path(self.parent(), "recording", "Record the live session",
                                        "Video (*.mp4 *.gif)", default)
        if chosen is not None:
            self.start_recording(chosen)
        else:
            self._set_buttons()

    def start_recording(self, path: str | Path) -> bool:
        """Record the live faces shown from now on, camera beside model, to `path` (.mp4 / .gif)."""
        if not self._on or self.recorder is not None:
            return False
        try:
            self.recorder = SessionRecorder(path)
        except UserError as exc:
            self.message.emit(str(exc), True)
            self._set_buttons()
            return False
        self._set_buttons()
        self.message.emit(f"recording to {Path(path).name}: press Stop rec. to save it.", False)
        return True

    def stop_recording(self) -> None:
        """Stop recording; the file is finished in the background (`recording_finished` / `recording_failed`)."""
        recorder, self.recorder = self.recorder, None
        self._set_buttons()
        if recorder is None:
            return
        task = BackgroundTask(lambda progress, cancelled: recorder.finish(), self)
        task.finished.connect(self._on_recording_written)
        task.failed.connect(self._on_recording_failed)
        self.finishing = task
        self.message.emit(f"saving {recorder.path.name}…", False)
        task.start()

    @Slot(object)
    def _on_recording_written(self, path: Path) -> None:
        self.finishing = None
        self.message.emit(f"recorded the live session to {path}", False)
        self.recording_finished.emit(str(path))

    @Slot(str)
    def _on_recording_failed(self, message: str) -> None:
        self.finishing = None
        self.message.emit(message, True)
        self.recording_failed.emit(message)

    def shutdown(self) -> None:
        """Stop live mode, finish a recording (waits for it) and end the worker thread."""
        self.stop()
        if self.finishing is not None:
            self.finishing.wait(30.0)
        if self.mirror is not None:
            self.mirror.stop()
