"""Decoding off the UI thread with latest-wins coalescing.

The window asks for latents as fast as the user drags; the worker thread decodes one at a time and
a latent that arrives while another is being decoded replaces any still waiting, so stale frames
are never queued and the UI thread never blocks on the model.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from latentlab.imaging import to_uint8

_LIVE_DECODERS: "weakref.WeakSet[AsyncDecoder]" = weakref.WeakSet()


@atexit.register
def _stop_live_decoders() -> None:
    """A thread still running when Python exits would abort the process: stop them all first."""
    for decoder in list(_LIVE_DECODERS):
        decoder.stop()


class DecodeWorker(QObject):
    """Lives in a worker thread; decodes the newest requested latent, dropping superseded ones."""

    decoded = Signal(object, object, float)  # uint8 image (S, S, C), the latent it shows, milliseconds
    failed = Signal(str)
    _wake = Signal()

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray]):
        super().__init__()
        self._decode = decode
        self._lock = threading.Lock()
        self._pending: np.ndarray | None = None
        self._running = False
        self.decode_count = 0
        self._wake.connect(self._drain)

    def request(self, z: np.ndarray) -> None:
        """Queue `z` (thread-safe), replacing any latent not yet decoded."""
        with self._lock:
            self._pending = np.array(z, np.float32, copy=True)
            if self._running:
                return
            self._running = True
        self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        while True:
            with self._lock:
                z, self._pending = self._pending, None
                if z is None:
                    self._running = False
                    return
            started = time.perf_counter()
            try:
                image = to_uint8(self._decode(z))
            except Exception as exc:  # a failing decode is reported in the window, never fatal
                self.failed.emit(f"decoding failed: {exc}")
                continue
            self.decode_count += 1
            self.decoded.emit(image, z, (time.perf_counter() - started) * 1000.0)


class AsyncDecoder(QObject):
    """Owns the worker thread: `request(z)` from the UI thread, results arrive as `decoded`."""

    decoded = Signal(object, object, float)
    failed = Signal(str)

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray], parent: QObject | None = None):
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("latentlab-decoder")
        self.worker = DecodeWorker(decode)
        self.worker.moveToThread(self._thread)
        self.worker.decoded.connect(self.decoded)
        self.worker.failed.connect(self.failed)
        self._thread.start()
        _LIVE_DECODERS.add(self)

    def request(self, z: np.ndarray) -> None:
        self.worker.request(z)

    def stop(self) -> None:
        """Finish the decode in progress and end the thread (idempotent)."""
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()
