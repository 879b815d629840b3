"""DatasetIndexer: pick a dataset image by number (0 .. N-1), step through it, or jump at random.

Typed text that is not an index in range is refused with a hint beside the box, never a crash; Enter on
the number already shown shows that image again. The box is blank ("–") while the face is not a dataset
image; Previous / Next then go on from the last one shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

NO_IMAGE = -1  # the spin box's special value: the face is not a dataset image
NO_IMAGE_TEXT = "–"


class IndexSpinBox(QSpinBox):
    """A spin box that lets any text be typed and reports what it had to refuse (`refused`)."""

    refused = Signal(str)
    reentered = Signal(int)  # Enter on the value already shown (valueChanged stays silent then)

    def __init__(self):
        super().__init__()
        self._refused = False

    def keyPressEvent(self, event) -> None:
        if event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            super().keyPressEvent(event)
            return
        before, self._refused = self.value(), False
        super().keyPressEvent(event)
        if self.value() == before and not self._refused and before != NO_IMAGE:
            self.reentered.emit(before)

    def validate(self, text: str, position: int):
        state, text, position = super().validate(text, position)
        if state != QValidator.State.Acceptable or text.strip() == str(NO_IMAGE):
            state = QValidator.State.Intermediate
        return state, text, position

    def fixup(self, text: str) -> str:
        self._refused = True
        self.refused.emit(text)
        return text


def parse_index(text: str, count: int) -> tuple[int | None, str]:
    """(index, "") for a whole number in 0 .. count-1, else (None, a hint saying what to type)."""
    expected = f"enter a whole number from 0 to {count - 1:,}"
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        index = int(cleaned)
    except ValueError:
        shown = text.strip()
        return None, f"“{shown}” is not an index: {expected}" if shown else f"no index given: {expected}"
    if not 0 <= index < count:
        return None, f"{index:,} is out of range: {expected}"
    return index, ""


class DatasetIndexer(QWidget):
    """Number box, file name, previous / next / random / nearest buttons and a hint line."""

    index_chosen = Signal(int)
    random_requested = Signal()
    nearest_requested = Signal()
    refused = Signal(str)

    def __init__(self, names: list[str], note: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._names = list(names)
        self.last_index = 0
        self._shown: int | None = 0
        self.spin = IndexSpinBox()
        self.spin.setKeyboardTracking(False)
        self.spin.setRange(NO_IMAGE, max(len(self._names) - 1, 0))
        self.spin.setSpecialValueText(NO_IMAGE_TEXT)
        self.spin.setAccelerated(True)
        self.spin.setToolTip(f"Dataset image number, 0 to {max(len(self._names) - 1, 0):,} (Enter to show)")
        self.spin.valueChanged.connect(self._on_spin_changed)
        self.spin.reentered.connect(self.choose)
        self.spin.refused.connect(self._on_refused_text)
        self.count_label = QLabel(f"of {len(self._names):,}")
        self.name_label = QLabel("—")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.previous_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.random_button = QPushButton("Random image")
        self.nearest_button = QPushButton("Nearest to face")
        self.nearest_button.setToolTip("The dataset image whose latent is closest to the current face")
        self.previous_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.random_button.clicked.connect(self.random_requested)
        self.nearest_button.clicked.connect(self.nearest_requested)
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("color: #c0392b;")
        self.hint_label.hide()

        number_row = QHBoxLayout()
        number_row.addWidget(QLabel("Image"))
        number_row.addWidget(self.spin, 1)
        number_row.addWidget(self.count_label)
        buttons = QGridLayout()
        buttons.addWidget(self.previous_button, 0, 0)
        buttons.addWidget(self.next_button, 0, 1)
        buttons.addWidget(self.random_button, 1, 0)
        buttons.addWidget(self.nearest_button, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(number_row)
        layout.addWidget(self.name_label)
        layout.addLayout(buttons)
        layout.addWidget(self.hint_label)
        if not self._names:
            self.note_label = QLabel(note or "No dataset latents: build them with `python vae.py index --data DIR`")
            self.note_label.setWordWrap(True)
            self.note_label.setStyleSheet("color: palette(mid);")
            layout.addWidget(self.note_label)
            for widget in (self.spin, self.previous_button, self.next_button, self.random_button, self.nearest_button):
                widget.setEnabled(False)

    @property
    def count(self) -> int:
        return len(self._names)

    @property
    def index(self) -> int | None:
        """The dataset image shown, or None when the face is not one."""
        value = self.spin.value()
        return None if value == NO_IMAGE else value

    def hint(self) -> str:
        return self.hint_label.text() if not self.hint_label.isHidden() else ""

    def show_index(self, index: int | None) -> None:
        """Reflect dataset image `index` (None: the face is not a dataset image) without emitting index_chosen."""
        if index == self._shown and index == self.index:
            return
        self._shown = index
        if index is not None:
            self.last_index = index
        self.spin.blockSignals(True)
        self.spin.setValue(NO_IMAGE if index is None else index)
        self.spin.blockSignals(False)
        self.name_label.setText("—" if index is None else self._names[index])
        self._clear_hint()

    def _clear_hint(self) -> None:
        if not self.hint_label.isHidden():
            self.hint_label.hide()

    def submit_text(self, text: str) -> bool:
        """Choose the image that `text` names; refuse anything else with a hint. True when accepted."""
        if not self._names:
            self._show_hint("no dataset latents are loaded")
            return False
        index, hint = parse_index(text, self.count)
        if index is None:
            self._show_hint(hint)
            return False
        self.choose(index)
        return True

    def choose(self, index: int) -> None:
        """Select `index` (already validated) and emit index_chosen."""
        self.show_index(index)
        self._clear_hint()
        self.index_chosen.emit(index)

    @Slot()
    def previous(self) -> None:
        if self._names:
            self.choose((self.last_index - 1) % self.count)

    @Slot()
    def next(self) -> None:
        if self._names:
            self.choose((self.last_index + 1) % self.count)

    def _show_hint(self, hint: str) -> None:
        self.hint_label.setText(hint)
        self.hint_label.show()
        self.refused.emit(hint)

    @Slot(int)
    def _on_spin_changed(self, index: int) -> None:
        if index != NO_IMAGE:
            self.choose(index)

    @Slot(str)
    def _on_refused_text(self, text: str) -> None:
        self.submit_text(text)
