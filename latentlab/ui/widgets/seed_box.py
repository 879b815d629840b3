"""SeedBox: the seed of the face Randomize drew, and a box to type one: Enter gives that seed's face again."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import QLineEdit, QWidget

from latentlab.latent.explore import SEED_MAX


class SeedBox(QLineEdit):
    """A whole number 0 .. SEED_MAX. `seed_entered(seed)` when the user presses Enter on one; `show_seed` shows the
    seed of a face drawn elsewhere without emitting."""

    seed_entered = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setValidator(QIntValidator(0, SEED_MAX, self))
        self.setPlaceholderText("seed")
        self.setToolTip(f"The seed of the last random face; type a seed (0 to {SEED_MAX}) and press Enter to draw "
                        "its face again (the same seed, range and prior give the same face as "
                        "`vae.py sample --seed`)")
        self.setMaximumWidth(self.fontMetrics().horizontalAdvance(str(SEED_MAX)) + 16)
        self.returnPressed.connect(self._on_return)

    @property
    def seed(self) -> int | None:
        """The seed in the box (None when empty)."""
        text = self.text().strip()
        return int(text) if text.isdigit() and int(text) <= SEED_MAX else None

    def show_seed(self, seed: int | None) -> None:
        """Show `seed` (None: clear) without emitting."""
        self.blockSignals(True)
        self.setText("" if seed is None else str(int(seed)))
        self.blockSignals(False)

    @Slot()
    def _on_return(self) -> None:
        if self.seed is not None:
            self.seed_entered.emit(self.seed)
