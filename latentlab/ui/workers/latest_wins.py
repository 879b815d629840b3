"""Latest-wins work off the UI thread: a worker that runs only the newest submitted job.

Jobs arrive as fast as the user acts (slider drags, camera captures); one runs at a time in the
worker's thread, and a job submitted while another runs replaces any still waiting, so stale work
is never queued and the UI thread never blocks.
"""

from __future__ import annotations

import atexit
import threading
import weakref

from PySide6.QtCore import QObject, QThread, Signal, Slot


class LatestWinsWorker(QObject):
    """Base for workers living in their own thread; subclasses implement `process(job)`."""

    _wake = Signal()

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._pending = None
        self._running = False
        self._wake.connect(self._drain)

    def submit_job(self, job) -> None:
        """Queue `job` (thread-safe), replacing any job not yet started."""
        with self._lock:
            self._pending = job
            if self._running:
                return
            self._running = True
        self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None:
                    self._running = False
                    return
            self.process(job)

    def process(self, job) -> None:
        raise NotImplementedError


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move `worker` to a new named QThread, start it and return the thread."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread


def stop_thread(thread: QThread) -> None:
    """Let the job in progress finish, then end the thread (idempotent)."""
    if thread.isRunning():
        thread.quit()
        thread.wait()


class WorkerThread(QObject):
    """Owns a worker's thread, started here: the UI thread talks to `worker`, results come back by its signals.

    `stop()` lets the job in progress finish and ends the thread (idempotent). Owners whose thread still runs when
    Python exits are stopped first: a QThread running at exit would abort the process.
    """

    def __init__(self, worker: QObject, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self._thread = start_in_thread(worker, name)
        _RUNNING.add(self)

    def stop(self) -> None:
        """Finish the job in progress and end the thread (idempotent)."""
        stop_thread(self._thread)


_RUNNING: weakref.WeakSet[WorkerThread] = weakref.WeakSet()


@atexit.register
def _stop_running_threads() -> None:
    for owner in list(_RUNNING):
        owner.stop()
