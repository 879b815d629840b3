"""UserDirectionsBox: the directions the user made in the Atlas (group 1 -> group 2), as named sliders in the
Attributes panel, each removable; and their storage in QSettings per model (by the weights' fingerprint).

A slider stands for the face's score along the direction, in dataset standard deviations (like the attribute
sliders); dragging moves the face along it, or along its part orthogonal to the held attributes, so their scores
stay. Interface: `add(direction)` (UserError for a bad name or vector), `remove(name)`, `names()`,
`direction(name)`, `show_latent(z)`, `set_target(name, value)`, `score(name)`; signals `latent_edited(z, name)`,
`gesture_finished()`, `changed()` (a direction was added or removed).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from latentlab.errors import UserError
from latentlab.latent.atlas import UserDirection

RANGE = 3.0
STEPS = 300
SETTINGS_PREFIX = "user-directions/"
MUTED_STYLE = "color: palette(mid);"


def settings_key(weights_sha: str) -> str:
    return f"{SETTINGS_PREFIX}{weights_sha}"


def save_directions(settings: QSettings, weights_sha: str, directions: list[UserDirection]) -> None:
    """Keep `directions` for the model with fingerprint `weights_sha`."""
    settings.setValue(settings_key(weights_sha), json.dumps([d.to_dict() for d in directions]))
    settings.sync()


def load_directions(settings: QSettings, weights_sha: str, latent_dim: int) -> tuple[list[UserDirection], str]:
    """(the directions kept for this model, a note naming any that could not be read)."""
    text = settings.value(settings_key(weights_sha), "")
    if not text:
        return [], ""
    try:
        items = json.loads(str(text))
    except ValueError:
        return [], "the saved directions could not be read and were skipped"
    directions, bad = [], []
    for item in items if isinstance(items, list) else []:
        try:
            directions.append(UserDirection.from_dict(item, latent_dim))
        except UserError as exc:
            bad.append(str(exc))
    return directions, "; ".join(bad)


class UserDirectionsBox(QWidget):
    """One row per user direction: name, slider (target score), score, remove button. `held` gives the held
    attribute unit directions (H, D) that an edit keeps fixed (None or empty: none held)."""

    latent_edited = Signal(object, str)
    gesture_finished = Signal()
    changed = Signal()

    def __init__(self, held: Callable[[], np.ndarray | None] = lambda: None, parent: QWidget | None = None):
        super().__init__(parent)
        self._held = held
        self._directions: dict[str, UserDirection] = {}
        self._rows: dict[str, tuple[QLabel, QSlider, QLabel, QToolButton]] = {}
        self._z: np.ndarray | None = None
        self.title = QLabel("Your directions (made in the Atlas)")
        self.title.setStyleSheet(MUTED_STYLE)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #c0392b;")
        self.message_label.hide()
        self._grid = QGridLayout()
        self._grid.setContentsMargins(4, 0, 4, 0)
        self._grid.setHorizontalSpacing(6)
        self._grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(self._grid)
        layout.addWidget(self.message_label)
        self.setVisible(False)

    def names(self) -> list[str]:
        return list(self._directions)

    def direction(self, name: str) -> UserDirection:
        if name not in self._directions:
            raise UserError(f"no direction named {name!r}")
        return self._directions[name]

    def directions(self) -> list[UserDirection]:
        return list(self._directions.values())

    def add(self, direction: UserDirection) -> None:
        """Add a row for `direction` (a direction of the same name is replaced)."""
        name = direction.name.strip()
        if not name:
            raise UserError("a direction needs a name")
        vector = np.asarray(direction.vector, np.float32)
        if vector.ndim != 1 or not np.isfinite(vector).all() or abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
            raise UserError(f"{name}: a direction must be a finite unit vector")
        if name in self._directions:
            self.remove(name, notify=False)
        self._directions[name] = direction
        label = QLabel(name)
        label.setToolTip(f"{name}: the face's score along your direction, in dataset standard deviations")
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(-STEPS, STEPS)
        slider.setMinimumWidth(90)
        slider.valueChanged.connect(lambda position, n=name: self._on_moved(n, position))
        slider.sliderReleased.connect(self.gesture_finished)
        score = QLabel("+0.00")
        score.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        score.setMinimumWidth(score.fontMetrics().horizontalAdvance("-00.00"))
        remove = QToolButton()
        remove.setText("✕")
        remove.setToolTip(f"Remove the direction {name}")
        remove.clicked.connect(lambda _=False, n=name: self.remove(n))
        row = self._grid.rowCount()
        for column, widget in enumerate((label, slider, score, remove)):
            self._grid.addWidget(widget, row, column)
        self._rows[name] = (label, slider, score, remove)
        self.setVisible(True)
        if self._z is not None:
            self.show_latent(self._z)
        self.changed.emit()

    def remove(self, name: str, notify: bool = True) -> None:
        """Remove the row of direction `name` (UserError when there is none)."""
        if name not in self._directions:
            raise UserError(f"no direction named {name!r}")
        del self._directions[name]
        for widget in self._rows.pop(name):
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self.setVisible(bool(self._directions))
        if notify:
            self.changed.emit()

    def score(self, name: str) -> float:
        return self.direction(name).score(self._z) if self._z is not None else 0.0

    @Slot(object)
    def show_latent(self, z: np.ndarray) -> None:
        """Show the scores of `z` (the sliders move without emitting)."""
        self._z = np.asarray(z, np.float32).copy()
        for name, (_, slider, score, _) in self._rows.items():
            value = self._directions[name].score(self._z)
            slider.blockSignals(True)
            slider.setValue(int(np.rint(np.clip(value / RANGE, -1, 1) * STEPS)))
            slider.blockSignals(False)
            text = f"{value:+.2f}"
            score.setText("+0.00" if text == "-0.00" else text)

    def set_target(self, name: str, value: float) -> None:
        """Move the face along direction `name` to score `value`, as dragging its slider does."""
        self.direction(name)
        self._move(name, float(value))

    def _on_moved(self, name: str, position: int) -> None:
        self._move(name, position / STEPS * RANGE)

    def _move(self, name: str, target: float) -> None:
        if self._z is None:
            return
        try:
            z = self._directions[name].move_to_score(self._z, target, self._held())
        except UserError as exc:
            self.message_label.setText(str(exc))
            self.message_label.show()
            self.show_latent(self._z)
            return
        self.message_label.hide()
        self.latent_edited.emit(z, name)
