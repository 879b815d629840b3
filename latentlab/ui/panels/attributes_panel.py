"""AttributesPanel: one slider per named attribute direction (data/attributes.npz), with hold ticks.

A slider stands for the face's score on that attribute: its projection on the unit direction,
shown in dataset standard deviations from the dataset mean (0 is an average face, +-2 unusual).
Dragging asks for a target score; the panel computes the latent whose projection equals it,
moving along the direction (or, when other attributes are held, along its part orthogonal to
theirs, so that their scores stay exactly where they are) and emits it. The window owns the
latent: `show_latent` syncs the rows in view (VisibleRows) with signals blocked, so nothing echoes back.

With an attribute judge (latentlab.eval.judge) each row also shows the judge's probability for the decoded face, read
in a worker thread (latest wins) after each frame; after a move, the other attribute whose probability changed
the most is named in one line with a button that holds it (SideEffectHint): with the judge's calibrated thresholds
(latentlab.eval.edits), the one whose reading turned over. Sliders whose calibrated effect (`vae.py evaluate --edits
--save-effects`, stored in attributes.npz) is below latentlab.eval.edits.WEAK_EFFECT are shown as weak (an older file
holding only the raw `edit_effect`: below WEAK_EFFECT). A slider's move is latentlab.latent.edits.slider_edit, the
code `vae.py manipulate` and `evaluate --edits` use, and its end stands for the attribute's range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import UserError
from latentlab.eval import edits as calibrated
from latentlab.eval.judge import Judge, largest_side_effect
from latentlab.latent.directions import REBUILD_HINT, WEAK_EFFECT, AttributeDirections
from latentlab.latent.edits import SLIDER_END, slider_edit, slider_ranges
from latentlab.ui.panels.side_effect_hint import SideEffectHint
from latentlab.ui.panels.user_directions import UserDirectionsBox
from latentlab.ui.widgets.visible_rows import VisibleRows
from latentlab.ui.workers.judge_worker import AsyncJudge

RANGE = 3.0  # each slider spans -RANGE .. +RANGE dataset standard deviations of the score
STEPS = 300  # slider ticks on each side of zero (0.01 standard deviation per tick)
ERROR_STYLE = "color: #c0392b;"
JUDGE_INTERVAL_MS = 50  # the probabilities follow a drag at most 20 times a second: the decoder keeps the CPU
MUTED_STYLE = "color: palette(mid);"
WEAK_STYLE = "color: palette(mid); font-style: italic;"


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


def probability_text(value: float) -> str:
    """'0.83'; '–' while not judged (NaN)."""
    return "–" if np.isnan(value) else f"{value:.2f}"


@dataclass
class _Move:
    """One move of one attribute slider: the face before it and the judge's probabilities for that face (None when
    the judge had not read it)."""

    index: int
    before_z: np.ndarray
    before_p: np.ndarray | None
    after_z: np.ndarray | None = None


class AttributesPanel(QWidget):
    """A filter box, then one row per attribute: hold tick, name, slider (target score), current score and, with a
    `judge` that reads some of the attributes, its probability for the decoded face (`judge_face`).

    `directions` None disables the panel and shows `note` (why, and how to build attributes.npz).
    """

    latent_edited = Signal(object, str)  # the moved latent (D,) float32, the attribute's name
    gesture_finished = Signal()  # a slider was released: the next move starts a new undo step

    def __init__(self, directions: AttributeDirections | None, note: str = "", parent: QWidget | None = None, *,
                 judge: Judge | None = None):
        super().__init__(parent)
        self.directions = directions
        self._kept_apart = directions  # the edit directions as loaded (judged ones keep the person)
        self._label_fitted = directions.label_fitted() if directions is not None else None
        self.names: list[str] = list(directions.names) if directions is not None else []
        self._z: np.ndarray | None = None
        judged = [judge.names.index(n) if judge is not None and n in judge.names else -1 for n in self.names]
        self.judge = judge if max(judged, default=-1) >= 0 else None
        self._judge_columns = np.array(judged, int)
        self._calibration = self._row_calibration(judge)
        self._probabilities = np.full(len(self.names), np.nan)
        self._judged_z: np.ndarray | None = None
        self._move: _Move | None = None
        self._pending: _Move | None = None  # a finished move waiting for the judge to read its face
        self._set_effects()
        self._unjudged_face: tuple[np.ndarray, np.ndarray] | None = None

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
        self.count_label.setStyleSheet(MUTED_STYLE)
        self._set_count_tooltip()
        self.clear_holds_button = QPushButton("Release holds")
        self.clear_holds_button.setToolTip("Untick every hold: edits then move along the plain directions")
        self.clear_holds_button.setEnabled(False)
        self.clear_holds_button.clicked.connect(self.release_holds)
        self.keep_identity_check = QCheckBox("Keep identity")
        self.keep_identity_check.setChecked(True)
        self.keep_identity_check.setToolTip(
            "Edits move along directions fitted on the model's own faces and kept apart from Male, Young, Pale Skin, "
            "Eyeglasses and Smiling, so they change little else.\nUntick to move along the directions fitted on the "
            "photos' labels: often stronger, but they also change gender, age or smile")
        self.keep_identity_check.setVisible(self._label_fitted is not None)
        self.keep_identity_check.toggled.connect(self.set_keep_identity)
        self.side_effect_hint = SideEffectHint()
        self.side_effect_hint.hold_requested.connect(self._on_hold_requested)

        self.hold_checks: list[QCheckBox] = []
        self.name_labels: list[QLabel] = []
        self.sliders: list[QSlider] = []
        self.score_labels: list[QLabel] = []
        self.probability_labels: list[QLabel] = []
        rows = QWidget()
        grid = QGridLayout(rows)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        header = ["hold", "attribute", "", "score"] + (["p"] if self.judge is not None else [])
        for column, text in enumerate(header):
            label = QLabel(text)
            label.setStyleSheet(MUTED_STYLE)
            grid.addWidget(label, 0, column)
            if text == "p":
                label.setToolTip("The attribute judge's probability that the decoded face shows the attribute")
        self._build_rows(grid)
        grid.setColumnStretch(2, 1)
        grid.setRowStretch(len(self.names) + 1, 1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(rows)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scrollbar = self.scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.scroll.setMinimumWidth(rows.minimumSizeHint().width() + scrollbar + 2 * self.scroll.frameWidth())
        self.rows = VisibleRows(self.scroll, self.sliders, self.score_labels, self._slider_positions, score_text)
        self.async_judge: AsyncJudge | None = None
        if self.judge is not None:
            self._probability_column = self.rows.add_column(self.probability_labels, probability_text)
            self.async_judge = AsyncJudge(self.judge.probabilities, self)
            self.async_judge.judged.connect(self._on_judged)
            self.async_judge.failed.connect(self.show_message)
        self._judge_timer = QTimer(self)
        self._judge_timer.setSingleShot(True)
        self._judge_timer.setInterval(JUDGE_INTERVAL_MS)
        self._judge_timer.timeout.connect(self._judge_newest_face)

        self.content = QWidget()
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        search = QHBoxLayout()
        search.addWidget(self.filter_box, 1)
        search.addWidget(self.keep_identity_check)
        tools = QHBoxLayout()
        tools.addWidget(self.count_label, 1)
        tools.addWidget(self.clear_holds_button)
        content_layout.addLayout(search)
        content_layout.addLayout(tools)
        content_layout.addWidget(self.side_effect_hint)
        content_layout.addWidget(self.scroll, 1)
        self.content.setEnabled(directions is not None)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note_label)
        layout.addWidget(self.message_label)
        layout.addWidget(self.content, 1)
        # the user's directions made in the Atlas (user_directions.py): their own rows, usable without attributes.npz
        self.user_directions = UserDirectionsBox(self._held_vectors)
        self.user_directions.latent_edited.connect(self.latent_edited)
        self.user_directions.gesture_finished.connect(self.gesture_finished)
        layout.addWidget(self.user_directions)
        self.apply_filter("")
        self._update_hold_controls()

    def _build_rows(self, grid: QGridLayout) -> None:
        for i, name in enumerate(self.names):
            pretty = display_name(name)
            hold = QCheckBox()
            hold.setToolTip(f"Hold {pretty} fixed: other attribute edits keep its score unchanged")
            hold.toggled.connect(self._on_hold_toggled)
            label = QLabel(pretty)
            label.setToolTip(self._name_tooltip(i))
            label.setStyleSheet(WEAK_STYLE if self.weak[i] else "")
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-STEPS, STEPS)
            slider.setMinimumWidth(90)
            slider.setToolTip(f"Move the face along {pretty}: -{RANGE:g} .. +{RANGE:g} dataset standard deviations "
                              "of the score (0 is the dataset average)")
            slider.valueChanged.connect(lambda position, index=i: self._on_slider_moved(index, position))
            slider.sliderReleased.connect(self._on_slider_released)
            score = QLabel("+0.00")
            score.setMinimumWidth(score.fontMetrics().horizontalAdvance("-00.00"))
            score.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row = [hold, label, slider, score]
            if self.judge is not None:
                probability = QLabel(probability_text(np.nan))
                probability.setFixedSize(probability.fontMetrics().horizontalAdvance("0.00") + 2,
                                         probability.sizeHint().height())  # a new text never relayouts the rows
                probability.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                probability.setToolTip(f"The attribute judge's probability that the decoded face shows {pretty}"
                                       if self._judge_columns[i] >= 0
                                       else f"The attribute judge does not read {pretty}")
                self.probability_labels.append(probability)
                row.append(probability)
            for column, widget in enumerate(row):
                grid.addWidget(widget, i + 1, column)
            self.hold_checks.append(hold)
            self.name_labels.append(label)
            self.sliders.append(slider)
            self.score_labels.append(score)

    def _set_effects(self) -> None:
        """The measured effect of each current direction (None when not measured), its leakage (None unless the
        calibrated measure is stored), which ones are weak, and each slider's range (score sd at its end)."""
        self.ranges = slider_ranges(self.directions) if self.directions is not None else np.zeros(0)
        measured = calibrated.stored_measure(self.directions)
        self.calibrated = measured is not None
        if measured is not None:
            self.effect, self.leakage = measured
            self.weak = self.effect < calibrated.WEAK_EFFECT
            return
        self.leakage = None
        self.effect = self.directions.edit_effect if self.directions is not None else None
        self.weak = self.effect < WEAK_EFFECT if self.effect is not None else np.zeros(len(self.names), bool)

    def _set_count_tooltip(self) -> None:
        if not self.weak.any():
            self.count_label.setToolTip("")
        elif self.calibrated:
            self.count_label.setToolTip(
                f"Grey names: sliders that turn the attribute judge's reading on for fewer than "
                f"{calibrated.WEAK_EFFECT:.0%} of faces between their two ends (read at thresholds fitted on real "
                "photos; vae.py evaluate --edits)")
        else:
            self.count_label.setToolTip(f"Grey names: directions whose measured effect is below {WEAK_EFFECT}: moving "
                                        "them hardly changes what the attribute judge sees (vae.py evaluate --edits)")

    def _row_calibration(self, judge) -> calibrated.Calibration | None:
        """The judge's calibrated thresholds in row order (NaN where it reads no row), or None without them."""
        found = calibrated.judge_calibration(judge) if isinstance(getattr(judge, "summary", None), dict) else None
        if found is None or self.judge is None:
            return None
        columns, judged = np.maximum(self._judge_columns, 0), self._judge_columns >= 0
        return calibrated.Calibration(np.where(judged, found.reads[columns], np.nan),
                                      np.where(judged, found.boundary[columns], np.nan))

    def _slider_positions(self, scores: np.ndarray) -> np.ndarray:
        """Slider positions of standardised scores (A,): each row's end stands for its range."""
        scores = np.asarray(scores, np.float64)
        if len(self.ranges) == len(scores):
            scores = scores * (SLIDER_END / self.ranges)
        return slider_positions(scores * RANGE / SLIDER_END)

    @Slot(bool)
    def set_keep_identity(self, keep: bool) -> None:
        """Edit along the judged directions kept apart from the identity attributes (True) or along the label-fitted
        ones (False); the scores, weak marks and tooltips follow."""
        if self._label_fitted is None:
            return
        if self.keep_identity_check.isChecked() != keep:
            self.keep_identity_check.setChecked(keep)  # comes back here through `toggled`
            return
        self.directions = self._kept_apart if keep else self._label_fitted
        self._set_effects()
        self._set_count_tooltip()
        for i, label in enumerate(self.name_labels):
            label.setStyleSheet(WEAK_STYLE if self.weak[i] else "")
            label.setToolTip(self._name_tooltip(i))
        self.apply_filter(self.filter_box.text())
        if self._z is not None:
            self.show_latent(self._z)
        self.rows.refresh()

    def _name_tooltip(self, index: int) -> str:
        """An attribute name's tooltip: what its score is, its validation AUC and its measured effect when known."""
        aucs = self.directions.val_auc if self.directions is not None else None
        auc = "" if aucs is None or np.isnan(aucs[index]) else f"; validation ROC AUC {float(aucs[index]):.3f}"
        return (f"{self.names[index]}: the face's projection on the attribute's unit direction{auc}"
                f"{self._effect_note(index)}")

    def _effect_note(self, index: int) -> str:
        """The tooltip's sentence on the direction's measured effect ('' when not measured)."""
        if self.effect is None:
            return ""
        if self.calibrated:
            end = f"{SLIDER_END:g}"
            reach = (f" (the end stands for {self.ranges[index]:.1f} sd)"
                     if abs(self.ranges[index] - SLIDER_END) > 1e-6 else "")
            measured = (f"the attribute judge reads it like a real photo of it on {self.effect[index]:.0%} more "
                        f"faces at +{end}{reach} than at -{end}; Male, Young, Pale Skin, Eyeglasses or Smiling turns "
                        f"over on {self.leakage[index]:.0%} of them (vae.py evaluate --edits)")
            if self.weak[index]:
                return f".\nWeak slider: {measured}"
            return f".\nEffect: {measured}"
        measured = (f"moving it from -2 to +2 sd changes the judge's probability by {self.effect[index]:+.2f} on "
                    "average (vae.py evaluate --edits)")
        if self.weak[index]:
            return f".\nWeak direction: {measured}; the face hardly shows it"
        return f".\nEffect: {measured}"

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

    def _held_vectors(self) -> np.ndarray | None:
        """The unit directions (H, D) of the held attributes (a user direction's edit keeps their scores)."""
        held = self.held()
        return self.directions.directions[held] if held and self.directions is not None else None

    def add_user_direction(self, direction) -> None:
        """A named slider for a direction made in the Atlas (latent.atlas.UserDirection); UserError when unusable."""
        self.user_directions.add(direction)

    def remove_user_direction(self, name: str) -> None:
        self.user_directions.remove(name)

    def set_held(self, name: str, held: bool = True) -> None:
        """Tick or untick the hold of attribute `name` as a user would."""
        self.hold_checks[self.index(name)].setChecked(held)

    def scores(self) -> np.ndarray:
        """The current face's standardised scores (A,), as last shown."""
        return self.rows.values

    def probabilities(self) -> np.ndarray:
        """The judge's probabilities (A,) for the last face it read (NaN where it reads none, or has read none)."""
        return self._probabilities.copy()

    def judged_current_face(self) -> bool:
        """Whether the probabilities shown are the judge's reading of the current face."""
        return self._judged_z is not None and np.array_equal(self._judged_z, self._z)

    def value_of(self, name: str) -> float:
        """The target score (sd) the slider of `name` stands for (in view or not)."""
        index = self.index(name)
        return self.rows.position(index) / STEPS * self.ranges[index]

    def set_target(self, name: str, value: float) -> None:
        """Move the slider of `name` to the target score `value` (sd) as a user would (emits `latent_edited`)."""
        index = self.index(name)
        position = int(slider_positions(value * RANGE / self.ranges[index]))
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
        if self._pending is not None and not np.array_equal(self._pending.after_z, self._z):
            self._pending = None  # the face changed before the judge read the moved one
        self.side_effect_hint.dismiss_unless(self._z)
        self.user_directions.show_latent(self._z)

    @Slot(object, object, float)
    def judge_face(self, image: np.ndarray, z: np.ndarray, milliseconds: float = 0.0) -> None:
        """Have the judge read the decoded face `image` of latent `z` in its thread (the newest face wins): at once,
        or JUDGE_INTERVAL_MS after the last face it was given; while the panel is hidden, when it is shown."""
        if self.async_judge is None:
            return
        self._unjudged_face = (image, z)
        if not self._judge_timer.isActive():
            self._judge_newest_face()

    @Slot()
    def _judge_newest_face(self) -> None:
        if self._unjudged_face is None or not self.isVisible():
            return
        self.async_judge.request(*self._unjudged_face)
        self._unjudged_face = None
        self._judge_timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.async_judge is not None:
            self._judge_newest_face()

    @Slot(object, object, float)
    def _on_judged(self, probabilities: np.ndarray, z: np.ndarray, milliseconds: float) -> None:
        columns = self._judge_columns
        self._probabilities = np.where(columns >= 0, probabilities[np.maximum(columns, 0)], np.nan)
        self._judged_z = z
        self.rows.set_column(self._probability_column, self._probabilities)
        if self._pending is not None and np.array_equal(self._pending.after_z, z):
            self._report_side_effect()

    def _on_slider_moved(self, index: int, position: int) -> None:
        if self._z is None or self.directions is None:
            return
        try:
            z = slider_edit(self.directions, self._z, index, position / STEPS * SLIDER_END, self.held())
        except UserError as exc:
            self.show_message(f"{display_name(self.names[index])}: {exc}")
            self.show_latent(self._z)
            return
        self.show_message("")
        if self._move is None or self._move.index != index:
            self._start_move(index)
        self.latent_edited.emit(z, self.names[index])
        if not self.sliders[index].isSliderDown():  # a key, a click on the groove, set_target: the move is done
            self._finish_move()

    def _start_move(self, index: int) -> None:
        self._pending = None
        judged = self.judged_current_face()
        self._move = _Move(index, self._z.copy(), self._probabilities.copy() if judged else None)

    @Slot()
    def _on_slider_released(self) -> None:
        self._finish_move()
        self.gesture_finished.emit()

    def _finish_move(self) -> None:
        """The move is over: once the judge has read the moved face, name its largest side effect."""
        move, self._move = self._move, None
        if move is None or move.before_p is None or self._z is None:
            return
        move.after_z = self._z.copy()
        self._pending = move
        if self._judged_z is not None and np.array_equal(self._judged_z, move.after_z):
            self._report_side_effect()

    def _report_side_effect(self) -> None:
        move, self._pending = self._pending, None
        if self._calibration is not None:
            found = self._turned_over(move.before_p, self._probabilities, move.index)
        else:
            found = largest_side_effect(move.before_p, self._probabilities, move.index, self.held())
        if found is None:
            return
        other = found[0]
        scores = self.directions.standardized_scores(np.stack([move.before_z, move.after_z]))[:, move.index]
        self.side_effect_hint.show_side_effect(
            display_name(self.names[move.index]), float(scores[1] - scores[0]), display_name(self.names[other]),
            float(move.before_p[other]), float(self._probabilities[other]), move.after_z,
            turned=self._calibration is not None)

    def _turned_over(self, before: np.ndarray, after: np.ndarray, moved: int) -> tuple[int, float] | None:
        """(row, change) of the other attribute whose calibrated reading turned over with the largest change of
        probability (the moved and held rows left out), or None."""
        flipped = self._calibration.flipped(before, after)
        flipped[[moved, *self.held()]] = False
        if not flipped.any():
            return None
        change = np.where(flipped, np.abs(np.asarray(after) - np.asarray(before)), -1.0)
        other = int(np.argmax(change))
        return other, float(after[other] - before[other])

    @Slot(str)
    def _on_hold_requested(self, name: str) -> None:
        self.set_held(name)

    @Slot(bool)
    def _on_hold_toggled(self, checked: bool) -> None:
        self._update_hold_controls()
        hinted = self.side_effect_hint.attribute
        if hinted and self.hold_checks[self.index(hinted)].isChecked():
            self.side_effect_hint.dismiss()

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
            for widget in (self.hold_checks[i], self.name_labels[i], self.sliders[i], self.score_labels[i],
                           *self.probability_labels[i : i + 1]):
                widget.setHidden(not visible)
        weak = f" · {int(self.weak.sum())} weak (grey)" if self.weak.any() else ""
        self.count_label.setText(f"{len(shown)} of {len(self.names)} attributes{weak}" if self.names else "")
        self.rows.set_rows(shown)

    def visible_names(self) -> list[str]:
        return [name for name, label in zip(self.names, self.name_labels) if not label.isHidden()]

    @Slot(str)
    def show_message(self, text: str) -> None:
        """A one-line problem under the note (empty hides it)."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def shutdown(self) -> None:
        """Finish the face the judge is reading and end its thread (idempotent)."""
        self._judge_timer.stop()
        if self.async_judge is not None:
            self.async_judge.stop()
