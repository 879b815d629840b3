"""FaceHost: what a part of the main window (file commands, dataset and interpolation) may use of the window.

The window owns the current face and its undo history; a part reads the face through `state`, changes it only
through `set_latent` (one undo step each), and reports through `status` and `show_error`. MainWindow is a FaceHost;
a test can hand a part a small fake instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from PySide6.QtWidgets import QWidget

from latentlab.latent.space import LatentSpace
from latentlab.model.codec import Codec
from latentlab.ui.undo import LatentState


class FaceHost(Protocol):
    """The model and dataset latents, the current face and the one way to change it, the decoded picture,
    the status bar and message boxes."""

    codec: Codec
    space: LatentSpace

    @property
    def state(self) -> LatentState:
        """The current face: its latent (D,), source, original photo and dataset index."""

    def set_latent(self, z: np.ndarray, source: str, original: np.ndarray | None = None,
                   original_caption: str = "", merge_key: str | None = None,
                   dataset_index: int | None = None) -> None:
        """Show latent `z` (D,) as one undo step (changes with the same `merge_key` merge into one)."""

    def gesture_key(self, control: str) -> str:
        """A merge key for `control` that stays the same until the user's current gesture ends."""

    def decode_then(self, z: np.ndarray, use: Callable[[np.ndarray], None]) -> None:
        """Call `use(image)` with the decoding of `z` (H, W, 3) uint8, now or once a background decode made it."""

    def status(self, message: str) -> None:
        """Show `message` in the status bar for a while."""

    def show_error(self, title: str, message: str) -> None:
        """Report a failed command in a box that does not block the event loop."""

    def window(self) -> QWidget:
        """The parent of the part's dialogs."""
