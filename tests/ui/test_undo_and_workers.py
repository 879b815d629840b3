"""Undo commands (merging of one gesture, before/after states) and the latest-wins worker, without a window."""

import threading
import time

import numpy as np
from PySide6.QtGui import QUndoStack

from latentlab.ui.undo import LatentCommand, LatentState
from latentlab.ui.workers.latest_wins import LatestWinsWorker, start_in_thread, stop_thread


def state(value: float, source: str) -> LatentState:
    return LatentState(np.full(4, value, np.float32), source)


def test_one_gesture_is_one_undo_step_and_other_changes_are_not_merged():
    shown = []
    stack = QUndoStack()
    stack.push(LatentCommand(shown.append, state(0, "start"), state(1, "slider 3"), merge_key="slider 3"))
    stack.push(LatentCommand(shown.append, state(1, "slider 3"), state(2, "slider 3"), merge_key="slider 3"))
    stack.push(LatentCommand(shown.append, state(2, "slider 3"), state(5, "Randomize")))
    stack.push(LatentCommand(shown.append, state(5, "Randomize"), state(6, "Randomize")))
    assert stack.count() == 3  # the drag of slider 3 merged; two Randomize clicks are two steps
    assert [s.z[0] for s in shown] == [1, 2, 5, 6]
    stack.undo()
    stack.undo()
    assert shown[-1].z[0] == 2 and stack.undoText() == "slider 3"
    stack.undo()
    assert shown[-1].z[0] == 0 and not stack.canUndo()
    stack.redo()
    assert shown[-1].z[0] == 2


class SlowRecorder(LatestWinsWorker):
    """Records each job it runs, taking 50 ms per job."""

    def __init__(self):
        super().__init__()
        self.done, self.started = [], threading.Event()

    def process(self, job):
        self.started.set()
        time.sleep(0.05)
        self.done.append(job)


def test_the_worker_runs_the_newest_job_and_drops_those_overtaken(qtbot):
    worker = SlowRecorder()
    thread = start_in_thread(worker, "test-worker")
    try:
        worker.submit_job(0)
        assert worker.started.wait(5)
        for job in range(1, 50):
            worker.submit_job(job)
        qtbot.waitUntil(lambda: bool(worker.done) and worker.done[-1] == 49, timeout=5000)
        assert worker.done == [0, 49]
        worker.submit_job(50)
        qtbot.waitUntil(lambda: worker.done[-1] == 50, timeout=5000)
    finally:
        stop_thread(thread)
    assert not thread.isRunning()
    assert worker.done == [0, 49, 50]
