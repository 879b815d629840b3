"""SideEffectHint: one line under the Attributes filter after a move, saying which other attribute the attribute
judge saw change the most, with units, and a button that holds it: with the judge's calibrated thresholds, the one
whose reading turned over ("Young +2.0 sd also turned Male off (p 0.80 → 0.20)"), else the largest change of
probability ("Young +2.0 sd also moved Male p -0.60"). Its space is kept while hidden, so the rows never jump."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

NO_BREAK = "\u00a0"


class SideEffectHint(QWidget):
    """Hidden until `show_side_effect`; gone when the face changes (`dismiss_unless`) or its button is clicked."""

    hold_requested = Signal(str)  # the attribute to hold, as shown

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.attribute = ""
        self._z: np.ndarray | None = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.hold_button = QToolButton()
        self.hold_button.clicked.connect(self._on_hold_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.hold_button)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # showing the line never moves the rows under it
        self.setSizePolicy(policy)
        self.setFixedHeight(max(self.hold_button.sizeHint().height(), 2 * self.label.fontMetrics().lineSpacing()))
        self.hide()

    def show_side_effect(self, moved: str, score_change: float, other: str, before: float, after: float,
                         z: np.ndarray, turned: bool = False) -> None:
        """Say that moving `moved` by `score_change` sd also moved `other`'s probability from `before` to `after`
        (`turned`: its calibrated reading turned over), for the face of latent `z` (names as shown)."""
        self.attribute = other
        self._z = np.array(z, np.float32, copy=True)
        moved_text = f"{moved} {score_change:+.1f} sd".replace(" ", NO_BREAK)  # a wrap never splits these
        if turned:
            state = "on" if after > before else "off"
            self.label.setText(f"{moved_text} also turned {other.replace(' ', NO_BREAK)}{NO_BREAK}{state} "
                               f"(p{NO_BREAK}{before:.2f}{NO_BREAK}→{NO_BREAK}{after:.2f})")
        else:
            self.label.setText(f"{moved_text} also moved {other} p {after - before:+.2f}".replace(" ", NO_BREAK)
                               .replace(f"{NO_BREAK}also{NO_BREAK}moved{NO_BREAK}", " also moved "))
        reading = (f" Its reading turned {'on' if after > before else 'off'}: the judge's threshold for reading it "
                   "like a real photo of it, fitted on validation photos, was crossed." if turned else "")
        self.label.setToolTip(
            f"The attribute judge read {other} at p {before:.2f} before this move of {moved} and "
            f"{after:.2f} after it.{reading} Holding {other} keeps its score fixed while you move other attributes.")
        self.hold_button.setText(f"Hold {other}")
        self.hold_button.setToolTip(f"Tick the hold of {other}")
        self.show()

    def dismiss_unless(self, z: np.ndarray) -> None:
        """Hide the line unless it is about the face of latent `z` (cheap when hidden)."""
        if self._z is not None and not np.array_equal(self._z, z):
            self.dismiss()

    def dismiss(self) -> None:
        self._z = None
        self.attribute = ""
        self.hide()

    @Slot()
    def _on_hold_clicked(self) -> None:
        attribute = self.attribute
        self.dismiss()
        self.hold_requested.emit(attribute)
