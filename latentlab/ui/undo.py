"""Undo / redo of latent changes: one QUndoCommand per change, consecutive moves of one control merged."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QUndoCommand


@dataclass(frozen=True)
class LatentState:
    """What the window shows: the latent, where it came from, the original photo beside it (if any), the
    dataset image it is (if it is one) and, for an edited face, the latent it was edited from."""

    z: np.ndarray
    source: str
    original: np.ndarray | None = None
    original_caption: str = ""
    dataset_index: int | None = None
    edited_from: np.ndarray | None = None

    @property
    def edit(self) -> np.ndarray | None:
        """What the slider and attribute edits added to the face (z - edited_from); None when it is unedited."""
        return None if self.edited_from is None else self.z - self.edited_from


class LatentCommand(QUndoCommand):
    """Switches the window between two LatentStates. Commands with the same merge key (a drag of one
    slider, a sweep of t) collapse into one, so Ctrl+Z undoes the whole gesture."""

    def __init__(self, apply: Callable[[LatentState], None], before: LatentState, after: LatentState,
                 merge_key: str | None = None):
        super().__init__(after.source)
        self._apply = apply
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def id(self) -> int:
        return -1 if self.merge_key is None else zlib.crc32(self.merge_key.encode()) & 0x7FFFFFFF

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, LatentCommand) or other.merge_key != self.merge_key or self.merge_key is None:
            return False
        self.after = other.after
        self.setText(other.after.source)
        return True

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)
