"""BackgroundTask: one piece of slow work (an export, a one-off decode) in Qt's global thread pool.

The UI thread starts it and goes on; the result, a failure or the progress comes back as signals, delivered
in the UI thread. Unlike the latest-wins workers, every task runs to its end unless cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

from latentlab.errors import UserError
from latentlab.files import Cancelled

Work = Callable[[Callable[[int, int], None], Callable[[], bool]], object]


class BackgroundTask(QObject):
    """Runs `work(progress, cancelled)` once: `progress(done, total)` reports, `cancelled()` tells it to stop.

    Exactly one of `finished(result)`, `failed(message)` or `cancelled_done()` follows, then the task deletes itself.
    """

    progressed = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)
    cancelled_done = Signal()

    def __init__(self, work: Work, parent: QObject | None = None):
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._done = threading.Event()

    def start(self) -> BackgroundTask:
        """Run the work; connect to the signals before this. The task deletes itself after the last handler: its
        deleteLater is connected last, so its queued call comes after theirs."""
        for signal in (self.finished, self.failed, self.cancelled_done):
            signal.connect(self.deleteLater)
        QThreadPool.globalInstance().start(self._run)
        return self

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the work has returned (for shutdown); True when it has."""
        return self._done.wait(timeout_s)

    def _run(self) -> None:
        try:
            result = self._work(self.progressed.emit, self._cancel.is_set)
        except Cancelled:
            self.cancelled_done.emit()
        except UserError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # reported in the window, never fatal
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.finished.emit(result)
        finally:
            self._done.set()
