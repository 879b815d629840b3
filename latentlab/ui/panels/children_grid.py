"""ChildrenGridPanel: a 3x3 (or 4x4) grid of variations of the current face, drawn from the fitted prior around it
with a spread you set (Ganbreeder's children), or of plain random faces (one seed each); click one to make it the
current face, Re-roll for new ones.

The panel only proposes faces: it emits `face_chosen` and the window makes the face current (one undo step). The
grid's latents are made and decoded as one batch in the window's decoder thread (BatchDecoder, latest wins); while
the grid shows children it follows the current face, coalesced: a burst of changes (a slider drag) gives one new
grid after it settles, and none while the dock is hidden.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.latent import explore
from latentlab.latent.prior import GaussianPrior
from latentlab.ui.widgets.thumbnail_grid import ThumbnailGrid
from latentlab.ui.workers.batch_decoder import BatchDecoder

MODES = ("children", "random")
MODE_TEXT = {"children": "Children of this face", "random": "Random faces"}
SPREAD_DEFAULT = 0.4
FOLLOW_DELAY_MS = 150  # a face change waits this long for the next one before the grid follows it


class ChildrenGridPanel(QWidget):
    """The grid, its mode (children / random), size (3x3 / 4x4), spread and Re-roll.

    `decode` decodes a batch of latents (Codec.decode) in `thread` (None: a thread of its own); `fitted_prior` is
    the prior children are drawn around the face with; `random_prior()` gives (prior, name) and `temperature()` the
    range of Randomize, which random faces use, so face i of a random grid is the face of seed `seed + i`; `rng`
    draws the grids' seeds.
    """

    face_chosen = Signal(object, str, int)  # latent (D,), its source, the seed of a random face (-1: a child)
    grid_shown = Signal(object)  # the latents (n, D) of the faces now on screen

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray], fitted_prior: GaussianPrior,
                 random_prior: Callable[[], tuple[GaussianPrior, str]], temperature: Callable[[], float],
                 rng: np.random.Generator, thread: QThread | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._fitted_prior = fitted_prior
        self._random_prior = random_prior
        self._temperature = temperature
        self._rng = rng
        self._face = fitted_prior.mean.astype(np.float32)
        self.seed = explore.new_seed(rng, 16)
        self._requested = 0  # the key of the newest grid asked for
        self._shown_key = -1
        self._stale = True  # the grid does not show what the settings and the face ask for
        self.latents: np.ndarray | None = None
        self._sources: list[tuple[str, int]] = []
        self.decoder = BatchDecoder(decode, thread, self)
        self.decoder.decoded.connect(self._on_decoded)
        self.decoder.failed.connect(self._on_failed)
        self._follow = QTimer(self)
        self._follow.setSingleShot(True)
        self._follow.setInterval(FOLLOW_DELAY_MS)
        self._follow.timeout.connect(self.refresh)

        self.mode_box = QComboBox()
        for mode in MODES:
            self.mode_box.addItem(MODE_TEXT[mode], mode)
        self.mode_box.setToolTip("Children: variations of the current face drawn from the fitted prior around it. "
                                 "Random: faces drawn as Randomize draws them, one seed each")
        self.mode_box.currentIndexChanged.connect(self._on_settings_changed)
        self.size_box = QComboBox()
        for size in explore.GRID_SIZES:
            self.size_box.addItem(f"{size}×{size}", size)
        self.size_box.setToolTip("How many faces the grid shows")
        self.size_box.currentIndexChanged.connect(self._on_size_changed)
        self.spread_box = QDoubleSpinBox()
        self.spread_box.setRange(0.0, 2.0)
        self.spread_box.setSingleStep(0.05)
        self.spread_box.setDecimals(2)
        self.spread_box.setValue(SPREAD_DEFAULT)
        self.spread_box.setToolTip("How far the children stray from the face, as a share of the dataset's own spread "
                                   "(1: as different as two dataset faces; 0: the face itself)")
        self.spread_box.valueChanged.connect(self._on_settings_changed)
        self.reroll_button = QPushButton("Re-roll")
        self.reroll_button.setToolTip("New faces for the grid (a new seed)")
        self.reroll_button.clicked.connect(self.reroll)
        self.grid = ThumbnailGrid(3, 3, minimum_cell=64, placeholder="decoding…")
        self.grid.clicked.connect(self.choose)
        self.grid.setToolTip("Click a face to make it the current face (Undo goes back)")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: palette(mid);")

        top = QHBoxLayout()
        top.addWidget(self.mode_box, 1)
        top.addWidget(self.size_box)
        settings = QHBoxLayout()
        self.spread_label = QLabel("spread")
        settings.addWidget(self.spread_label)
        settings.addWidget(self.spread_box)
        settings.addStretch(1)
        settings.addWidget(self.reroll_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(settings)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.caption)
        self._update_caption()

    # ------------------------------------------------------------------------------ interface

    @property
    def mode(self) -> str:
        return self.mode_box.currentData()

    def set_mode(self, mode: str) -> None:
        self.mode_box.setCurrentIndex(MODES.index(mode))

    @property
    def size(self) -> int:
        return self.size_box.currentData()

    def set_size(self, size: int) -> None:
        self.size_box.setCurrentIndex(explore.GRID_SIZES.index(size))

    @property
    def spread(self) -> float:
        return self.spread_box.value()

    def is_current(self) -> bool:
        """Whether the grid on screen shows what the face and the settings ask for."""
        return not self._stale and self._shown_key == self._requested and not self._follow.isActive()

    @Slot(object)
    def set_face(self, z: np.ndarray) -> None:
        """The current face changed: children follow it (after FOLLOW_DELAY_MS without another change)."""
        z = np.asarray(z, np.float32)
        if np.array_equal(z, self._face):
            return
        self._face = z.copy()
        if self.mode == "children":
            self._stale = True
            if self.isVisible():
                self._follow.start()

    @Slot()
    def random_settings_changed(self) -> None:
        """Randomize's range or prior changed: a grid of random faces is drawn again with them."""
        if self.mode == "random":
            self._stale = True
            if self.isVisible():
                self._follow.start()

    @Slot()
    def reroll(self) -> None:
        """New faces: a new seed, decoded now."""
        self.seed = explore.new_seed(self._rng, 16)
        self._stale = True
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Ask for the grid the face and the settings give (decoded in the worker; shown when it arrives)."""
        self._follow.stop()
        n, seed = self.size * self.size, self.seed
        if self.mode == "children":
            prior, face, spread = self._fitted_prior, self._face.copy(), self.spread

            def make():
                return explore.children(prior, face, n, spread, seed)

            self._sources = [(f"child {i + 1} of seed {seed} (spread {spread:.2f})", -1) for i in range(n)]
        else:
            prior, name = self._random_prior()
            temperature = self._temperature()
            seeds = explore.seed_range(seed, n)

            def make():
                return explore.seeded_latents(prior, seeds, temperature)

            self._sources = [(f"random{name} seed {s} (range {temperature:.2f})", s) for s in seeds]
        self._requested += 1
        self._stale = False
        self.decoder.request(self._requested, make)
        self._update_caption()

    @Slot(int)
    def choose(self, index: int) -> None:
        """Make face `index` of the grid the current face (through `face_chosen`)."""
        if self.latents is None or not 0 <= index < len(self.latents) or self._shown_key != self._requested:
            return
        source, seed = self._sources[index]
        if self.mode == "children":
            self.seed = explore.new_seed(self._rng, 16)  # the chosen face gets children of its own
        self.face_chosen.emit(self.latents[index].copy(), source, seed)

    def shutdown(self) -> None:
        self._follow.stop()
        self.decoder.stop()

    # ------------------------------------------------------------------------------ private

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    @Slot()
    def _on_settings_changed(self) -> None:
        random = self.mode == "random"
        self.spread_box.setEnabled(not random)
        self.spread_label.setEnabled(not random)
        self._stale = True
        if self.isVisible():
            self.refresh()

    @Slot()
    def _on_size_changed(self) -> None:
        self.grid.set_shape(self.size, self.size)
        self._on_settings_changed()

    @Slot(object, object, object, float)
    def _on_decoded(self, key: int, latents: np.ndarray, images: np.ndarray, milliseconds: float) -> None:
        if key != self._requested:
            return  # a newer grid is on its way
        self.latents, self._shown_key = latents, key
        self.grid.set_images(images)
        self._update_caption(milliseconds)
        self.grid_shown.emit(latents)

    @Slot(object, str)
    def _on_failed(self, key: int, message: str) -> None:
        if key == self._requested:
            self.grid.clear(f"decoding failed: {message}")

    def _update_caption(self, milliseconds: float | None = None) -> None:
        n = self.size * self.size
        if self.mode == "children":
            text = f"{n} children of the current face, seed {self.seed}, spread {self.spread:.2f}"
        else:
            text = f"{n} random faces, seeds {self.seed} to {self.seed + n - 1}"
        if milliseconds is not None:
            text += f" · {milliseconds:.0f} ms"
        self.caption.setText(text + ". Click one to make it the current face.")
