"""CameraWorker: a QThread that opens any FrameSource and reads it, handing the newest frame to the UI.

Frames are delivered latest-wins: the worker keeps only the newest frame and signals `frame_ready`
once until the UI takes it, so a slow UI never builds a queue of stale frames.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from latentlab.errors import UserError
from latentlab.faces.camera import FrameSource

DEFAULT_MAX_FPS = 30.0
STOP_TIMEOUT_MS = 5000


class CameraWorker(QThread):
    """Opens the source made by `open_source` inside the thread (opening a webcam can take a second),
    then reads frames until stopped, the source ends or it fails. The source is always closed."""

    opened = Signal(str)  # the source's name
    frame_ready = Signal()  # a new frame waits in take_frame()
    failed = Signal(str)  # a one-line reason: no camera, busy, stopped mid-stream
    ended = Signal()  # the source has no more frames

    def __init__(self, open_source: Callable[[], FrameSource], max_fps: float = DEFAULT_MAX_FPS,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("latentlab-camera")
        self._open_source = open_source
        self._interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self._lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self._latest_at = 0.0
        self._signalled = False
        self.frames_read = 0

    def run(self) -> None:
        try:
            source = self._open_source()
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # any failure to open is a message in the panel, never a crash
            self.failed.emit(f"cannot open the camera: {exc}")
            return
        self.opened.emit(source.name)
        try:
            self._read_until_stopped(source)
        except UserError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            self.failed.emit(f"{source.name} failed: {exc}")
        finally:
            source.close()

    def _read_until_stopped(self, source: FrameSource) -> None:
        while not self.isInterruptionRequested():
            started = time.perf_counter()
            frame = source.read()
            if self.isInterruptionRequested():
                return
            if frame is None:
                self.ended.emit()
                return
            with self._lock:
                self._latest, self._latest_at = frame, time.perf_counter()
                self.frames_read += 1
                notify, self._signalled = not self._signalled, True
            if notify:
                self.frame_ready.emit()
            pause = self._interval - (time.perf_counter() - started)
            if pause > 0:
                time.sleep(pause)

    def take_frame(self) -> np.ndarray | None:
        """The newest frame (None before the first); re-arms `frame_ready`."""
        return self.take_stamped_frame()[0]

    def take_stamped_frame(self) -> tuple[np.ndarray | None, float]:
        """The newest frame and when it was read (time.perf_counter()); re-arms `frame_ready`."""
        with self._lock:
            self._signalled = False
            return self._latest, self._latest_at

    def latest_frame(self) -> np.ndarray | None:
        """The newest frame without re-arming `frame_ready` (for Capture)."""
        with self._lock:
            return self._latest

    def stop(self) -> None:
        """Ask the thread to finish and wait for it, which releases the source (idempotent)."""
        self.requestInterruption()
        if self.isRunning():
            self.wait(STOP_TIMEOUT_MS)
