"""AttributesPanel: one slider per named attribute direction (data/attributes.npz), with hold ticks.

A slider stands for the face's score on that attribute: its projection on the unit direction,
shown in dataset standard deviations from the dataset mean (0 is an average face, +-2 unusual).
Dragging asks for a target score; the panel computes the latent whose projection equals it,
moving along the direction (or, when other attributes are held, along its part orthogonal to
theirs, so that their scores stay exactly where they are) and emits it. The window owns the
latent: `show_latent` syncs the rows in view (VisibleRows) with signals blocked, so nothing echoes back.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QSlider, QStyle,
    QVBoxLayout, QWidget,
)

from latentlab.attributes import REBUILD_HINT, AttributeDirections
from latentlab.errors import UserError
from latentlab.ui.visible_rows import VisibleRows

RANGE = 3.0  # each slider spans -RANGE .. +RANGE dataset standard deviations of the score
STEPS = 300  # slider ticks on each side of zero (0.01 standard deviation per tick)
ERROR_STYLE = "color: #c0392b;"


def display_name(name: str) -> str:
    """'Wearing_Hat' -> 'Wearing Hat'."""
    return name.replace("_", " ")


def slider_positions(scores: np.ndarray) -> np.ndarray:
    """Slider positions (ints) of standardised scores, clipped to the slider's range."""
    return np.rint(np.clip(np.asarray(scores) / RANGE, -1.0, 1.0) * STEPS).astype(int)


def score_text(value: float) -> str:
    """'+1.23' / '-0.45'; never '-0.00'."""
    text = f"{value:+.2f}"
    return "+0.00" if text == "-0.00" else text


class AttributesPanel(QWidget):
    """A filter box, then one row per attribute: hold tick, name, slider (target score) and current score.

    `directions` None disables the panel and shows `note` (why, and how to build attributes.npz).
    """

    latent_edited = Signal(object, str)  # the moved latent (D,) float32, the attribute's name
    gesture_finished = Signal()  # a slider was released: the next move starts a new undo step

    def __init__(self, directions: AttributeDirections | None, note: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.directions = directions
        self.names: list[str] = list(directions.names) if directions is not None else []
        self._z: np.ndarray | None = None

        self.note_label = QLabel(note)
        self.note_label.setWordWrap(True)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label.setVisible(bool(note) or directions is None)
        if directions is None and not note:
            self.note_label.setText(f"Attributes off: no attribute directions loaded; {REBUILD_HINT}.")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(ERROR_STYLE)
        self.message_label.hide()

        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter attributes, e.g. smil, hair")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.apply_filter)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(mid);")
        self.clear_holds_button = QPushButton("Release holds")
        self.clear_holds_button.setToolTip("Untick every hold: edits then move along the plain directions")
        self.clear_holds_button.setEnabled(False)
        self.clear_holds_button.clicked.connect(self.release_holds)

        self.hold_checks: list[QCheckBox] = []
        self.name_labels: list[QLabel] = []
        self.sliders: list[QSlider] = []
        self.score_labels: list[QLabel] = []
        rows = QWidget()
        grid = QGridLayout(rows)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        header = ("hold", "attribute", "", "score")
        for column, text in enumerate(header):
            label = QLabel(text)
            label.setStyleSheet("color: palette(mid);")
            grid.addWidget(label, 0, column)
        self._build_rows(grid)
        grid.setColumnStretch(2, 1)
        grid.setRowStretch(len(self.names) + 1, 1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(rows)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scrollbar = self.scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.scroll.setMinimumWidth(rows.minimumSizeHint().width() + scrollbar + 2 * self.scroll.frameWidth())
        self.rows = VisibleRows(self.scroll, self.sliders, self.score_labels, slider_positions, score_text)

        self.content = QWidget()
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        tools = QHBoxLayout()
        tools.addWidget(self.count_label, 1)
        tools.addWidget(self.clear_holds_button)
        content_layout.addWidget(self.filter_box)
        content_layout.addLayout(tools)
        content_layout.addWidget(self.scroll, 1)
        self.content.setEnabled(directions is not None)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note_label)
        layout.addWidget(self.message_label)
        layout.addWidget(self.content, 1)
        self.apply_filter("")
        self._update_hold_controls()

    def _build_rows(self, grid: QGridLayout) -> None:
        aucs = self.directions.val_auc if self.directions is not None else None
        for i, name in enumerate(self.names):
            pretty = display_name(name)
            hold = QCheckBox()
            hold.setToolTip(f"Hold {pretty} fixed: other attribute edits keep its score unchanged")
            hold.toggled.connect(self._on_hold_toggled)
            label = QLabel(pretty)
            auc = "" if aucs is None or np.isnan(aucs[i]) else f"; validation ROC AUC {float(aucs[i]):.3f}"
            label.setToolTip(f"{name}: the face's projection on the attribute's unit direction{auc}")
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-STEPS, STEPS)
            slider.setMinimumWidth(90)
            slider.setToolTip(f"Move the face along {pretty}: -{RANGE:g} .. +{RANGE:g} dataset standard deviations "
                              "of the score (0 is the dataset average)")
            slider.valueChanged.connect(lambda position, index=i: self._on_slider_moved(index, position))
            slider.sliderReleased.connect(self.gesture_finished)
            score = QLabel("+0.00")
            score.setMinimumWidth(score.fontMetrics().horizontalAdvance("-00.00"))
            score.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for column, widget in enumerate((hold, label, slider, score)):
                grid.addWidget(widget, i + 1, column)
            self.hold_checks.append(hold)
            self.name_labels.append(label)
            self.sliders.append(slider)
            self.score_labels.append(score)

    # ------------------------------------------------------------------------------- state

    @property
    def available(self) -> bool:
        """True when attribute directions for this model are loaded."""
        return self.directions is not None

    def note(self) -> str:
        return self.note_label.text()

    def index(self, name: str) -> int:
        """Row of attribute `name` (case-insensitive; spaces or underscores)."""
        return self.directions.index(name.replace(" ", "_"))

    def held(self) -> list[int]:
        """Rows whose hold tick is set."""
        return [i for i, check in enumerate(self.hold_checks) if check.isChecked()]

    def set_held(self, name: str, held: bool = True) -> None:
        """Tick or untick the hold of attribute `name` as a user would."""
        self.hold_checks[self.index(name)].setChecked(held)

    def scores(self) -> np.ndarray:
        """The current face's standardised scores (A,), as last shown."""
        return self.rows.values

    def value_of(self, name: str) -> float:
        """The target score the slider of `name` stands for (in view or not)."""
        return self.rows.position(self.index(name)) / STEPS * RANGE

    def set_target(self, name: str, value: float) -> None:
        """Move the slider of `name` as a user would (emits `latent_edited`)."""
        index = self.index(name)
        position = int(slider_positions(value))
        if self.sliders[index].value() == position:  # a row out of view may not show its position yet
            self._on_slider_moved(index, position)
        else:
            self.sliders[index].setValue(position)

    # ------------------------------------------------------------------------------ syncing

    @Slot(object)
    def show_latent(self, z: np.ndarray) -> None:
        """Show the scores of latent `z`; the rows in view move (without emitting) now, the others when shown."""
        self._z = np.asarray(z, np.float32).copy()
        if self.directions is not None:
            self.rows.set_values(self.directions.standardized_scores(self._z))

    def _on_slider_moved(self, index: int, position: int) -> None:
        if self._z is None or self.directions is None:
            return
        try:
            z = self.directions.move_to_score(self._z, index, position / STEPS * RANGE, self.held())
        except UserError as exc:
            self.show_message(f"{display_name(self.names[index])}: {exc}")
            self.show_latent(self._z)
            return
        self.show_message("")
        self.latent_edited.emit(z, self.names[index])

    @Slot(bool)
    def _on_hold_toggled(self, checked: bool) -> None:
        self._update_hold_controls()

    @Slot()
    def release_holds(self) -> None:
        """Untick every hold."""
        for check in self.hold_checks:
            check.blockSignals(True)
            check.setChecked(False)
            check.blockSignals(False)
        self._update_hold_controls()

    def _update_hold_controls(self) -> None:
        held = self.held()
        for i, slider in enumerate(self.sliders):
            slider.setEnabled(i not in held)
        self.clear_holds_button.setEnabled(bool(held))
        self.clear_holds_button.setText(f"Release {len(held)} held" if held else "Release holds")

    @Slot(str)
    def apply_filter(self, text: str) -> None:
        """Show only attributes whose name contains `text` (case-insensitive; '_' and ' ' alike)."""
        needle = text.strip().lower().replace("_", " ")
        shown = []
        for i, name in enumerate(self.names):
            visible = needle in display_name(name).lower()
            if visible:
                shown.append(i)
            for widget in (self.hold_checks[i], self.name_labels[i], self.sliders[i], self.score_labels[i]):
                widget.setHidden(not visible)
        self.count_label.setText(f"{len(shown)} of {len(self.names)} attributes" if self.names else "")
        self.rows.set_rows(shown)

    def visible_names(self) -> list[str]:
        return [name for name, label in zip(self.names, self.name_labels) if not label.isHidden()]

    def show_message(self, text: str) -> None:
        """A one-line problem under the note (empty hides it)."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
