"""MixingPanel: A / B mixing by principal components: the first k components from A, the rest from B (k on a
slider), so one sees what the leading components carry (pose, light, gender) and what the later ones carry.

A and B are the Interpolation group's endpoints (`set_endpoints`). Moving k emits `mix_changed` (the window makes
the mix the current face, one undo step per drag, like the blend's t). Below the slider, a grid of mixes over k
(`explore.k_steps`: 0 = B, ..., all = A) is decoded as one batch in the window's decoder thread; clicking one sets k.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from latentlab.latent import explore
from latentlab.ui.widgets.thumbnail_grid import ThumbnailGrid
from latentlab.ui.workers.batch_decoder import BatchDecoder

PREVIEW_MIXES = 9  # a 3x3 grid of mixes over k


class MixingPanel(QWidget):
    """The k slider, what it means, and the grid of mixes over k. `space` gives the principal axes; `decode`
    decodes a batch (Codec.decode) in `thread` (None: a thread of its own)."""

    mix_changed = Signal(object, str)  # the mix (D,), its description
    gesture_finished = Signal()  # the k slider was released
    mixes_shown = Signal(object)  # the latents of the grid now on screen

    def __init__(self, space, decode: Callable[[np.ndarray], np.ndarray], thread: QThread | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._space = space
        self._a: np.ndarray | None = None
        self._b: np.ndarray | None = None
        self._requested = 0
        self._stale = False
        self.latents: np.ndarray | None = None
        self.ks = explore.k_steps(space.latent_dim, PREVIEW_MIXES)
        self.decoder = BatchDecoder(decode, thread, self)
        self.decoder.decoded.connect(self._on_decoded)
        axes = "principal components" if space.has_dataset else "latent dimensions (no dataset latents: no PCA)"
        self._axes = axes

        self.endpoints_label = QLabel()
        self.endpoints_label.setWordWrap(True)
        self.k_slider = QSlider(Qt.Orientation.Horizontal)
        self.k_slider.setRange(0, space.latent_dim)
        self.k_slider.setValue(space.latent_dim // 2)
        self.k_slider.setToolTip(f"k: the first k {axes} come from A, the rest from B (0: B itself; "
                                 f"{space.latent_dim}: A itself)")
        self.k_slider.valueChanged.connect(self._on_k_moved)
        self.k_slider.sliderReleased.connect(self.gesture_finished)
        self.k_label = QLabel()
        self.k_label.setMinimumWidth(self.k_label.fontMetrics().horizontalAdvance(f"k = {space.latent_dim}0"))
        self.meaning_label = QLabel()
        self.meaning_label.setWordWrap(True)
        self.meaning_label.setStyleSheet("color: palette(mid);")
        self.grid = ThumbnailGrid(3, 3, minimum_cell=64, placeholder="Set A and B in the Interpolation group")
        self.grid.setToolTip("Mixes over k; click one to move k there")
        self.grid.clicked.connect(lambda i: self.set_k(self.ks[i]) if self.latents is not None else None)

        k_row = QHBoxLayout()
        k_row.addWidget(QLabel("k"))
        k_row.addWidget(self.k_slider, 1)
        k_row.addWidget(self.k_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.endpoints_label)
        layout.addLayout(k_row)
        layout.addWidget(self.meaning_label)
        layout.addWidget(self.grid, 1)
        self.k_slider.setEnabled(False)  # until A and B are set
        self._update_labels()

    # ------------------------------------------------------------------------------ interface

    @property
    def ready(self) -> bool:
        return self._a is not None and self._b is not None

    @property
    def k(self) -> int:
        return self.k_slider.value()

    def set_k(self, k: int) -> None:
        """Move the k slider (emits mix_changed when A and B are set)."""
        self.k_slider.setValue(int(np.clip(k, 0, self._space.latent_dim)))
        if not self.k_slider.isSliderDown():
            self.gesture_finished.emit()

    def set_endpoints(self, a: np.ndarray | None, b: np.ndarray | None) -> None:
        """A and B (None: not set); the grid of mixes is made again."""
        self._a = None if a is None else np.asarray(a, np.float32).copy()
        self._b = None if b is None else np.asarray(b, np.float32).copy()
        self.k_slider.setEnabled(self.ready)
        self._update_labels()
        self._stale = True
        if self.isVisible():
            self.refresh()

    def mix(self, k: int | None = None) -> np.ndarray:
        """The latent with the first k (default: the slider's) components from A and the rest from B."""
        if not self.ready:
            raise ValueError("set A and B first")
        return explore.mix_components(self._space, self._a, self._b, self.k if k is None else k)

    @Slot()
    def refresh(self) -> None:
        """Ask for the grid of mixes over k (shown when decoded)."""
        if not self.ready:
            self.grid.clear()
            return
        space, a, b, ks = self._space, self._a.copy(), self._b.copy(), list(self.ks)
        self._requested += 1
        self._stale = False
        self.decoder.request(self._requested, lambda: explore.mix_series(space, a, b, ks))

    def shutdown(self) -> None:
        self.decoder.stop()

    # ------------------------------------------------------------------------------ private

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _update_labels(self) -> None:
        d, k = self._space.latent_dim, self.k
        self.k_label.setText(f"k = {k}")
        self.endpoints_label.setText("The first k components of A with the rest of B." if self.ready else
                                     "Set A and B in the Interpolation group (Ctrl+Shift+A, Ctrl+Shift+B).")
        if k == 0:
            meaning = "k = 0: B itself"
        elif k == d:
            meaning = f"k = {d}: A itself"
        else:
            meaning = f"{self._axes} 1–{k} from A, {k + 1}–{d} from B"
        self.meaning_label.setText(meaning)

    @Slot(int)
    def _on_k_moved(self, _k: int) -> None:
        self._update_labels()
        if self.ready:
            self.mix_changed.emit(self.mix(), f"mix: components 1–{self.k} of A, the rest of B")

    @Slot(object, object, object, float)
    def _on_decoded(self, key: int, latents: np.ndarray, images: np.ndarray, milliseconds: float) -> None:
        if key != self._requested:
            return
        self.latents = latents
        self.grid.set_images(images, [f"k = {k}" for k in self.ks])
        self.mixes_shown.emit(latents)
