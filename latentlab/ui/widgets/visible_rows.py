"""VisibleRows: a column of sliders and value labels in a scroll area, kept in step with an array of values
while touching only the rows in view.

A face change moves every coordinate, but only a couple of dozen rows are on screen: syncing those (and the
rest as they scroll into view or their panel is shown) keeps one change to a few dozen Qt calls instead of
one per row, whatever the latent size. Further label columns (`add_column`) follow values of their own the same way.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtWidgets import QLabel, QScrollArea, QSlider


class _Column:
    """A column of labels showing `text(values[i])`, with the texts last set (to skip unchanged ones)."""

    def __init__(self, labels: list[QLabel], text: Callable[[float], str], fill: float = np.nan):
        self.labels = labels
        self.text = text
        self.values = np.full(len(labels), fill)
        self.shown_texts = [label.text() for label in labels]

    def sync(self, rows: list[int]) -> None:
        for row in rows:
            text = self.text(float(self.values[row]))
            if self.shown_texts[row] != text:
                self.labels[row].setText(text)
                self.shown_texts[row] = text


class VisibleRows(QObject):
    """Rows i = (sliders[i], labels[i]) inside `scroll`; `set_values` stores the targets, `sync` applies them to
    the rows in view with the sliders' signals blocked (nothing echoes back as a user move)."""

    def __init__(self, scroll: QScrollArea, sliders: list[QSlider], labels: list[QLabel],
                 position: Callable[[np.ndarray], np.ndarray], text: Callable[[float], str]):
        super().__init__(scroll)
        self._scroll = scroll
        self._sliders = sliders
        self._position = position
        self._value_labels = _Column(labels, text, fill=0.0)  # the value beside each slider
        self._positions = [0] * len(sliders)
        self._rows = list(range(len(sliders)))  # rows not filtered out, top to bottom
        self._columns: list[_Column] = []
        scroll.verticalScrollBar().valueChanged.connect(self.sync)
        scroll.viewport().installEventFilter(self)

    @property
    def values(self) -> np.ndarray:
        return self._value_labels.values.copy()

    def position(self, row: int) -> int:
        """The slider position row `row` stands for (whether or not it has been synced yet)."""
        return self._positions[row]

    def set_values(self, values: np.ndarray) -> None:
        """New values for every row; the rows in view follow at once, the others when they come into view."""
        self._value_labels.values = np.asarray(values, np.float64).copy()
        self._positions = self._position(self._value_labels.values).tolist()
        self._sync_values(self.rows_in_view())

    def add_column(self, labels: list[QLabel], text: Callable[[float], str]) -> int:
        """One more label per row, showing `text(value)` of its own values (NaN until `set_column`); its number."""
        self._columns.append(_Column(labels, text))
        return len(self._columns) - 1

    def set_column(self, column: int, values: np.ndarray) -> None:
        """New values for every row of label column `column`; only its labels in view are touched now."""
        self._columns[column].values = np.asarray(values, np.float64).copy()
        self._columns[column].sync(self.rows_in_view())

    def column_values(self, column: int) -> np.ndarray:
        return self._columns[column].values.copy()

    def set_rows(self, rows: list[int]) -> None:
        """The rows left visible by a filter, top to bottom."""
        self._rows = list(rows)
        self.sync()

    def refresh(self) -> None:
        """Recompute the positions (the value -> position mapping changed) and sync."""
        self.set_values(self._value_labels.values)

    def rows_in_view(self) -> list[int]:
        """Visible rows that intersect the scroll area's viewport (empty while it is hidden)."""
        if not self._scroll.isVisible() or not self._rows:
            return []
        top = self._scroll.verticalScrollBar().value()
        bottom = top + self._scroll.viewport().height()
        tops = _Tops(self._sliders, self._rows)
        first = max(bisect.bisect_right(tops, top) - 1, 0)
        last = bisect.bisect_right(tops, bottom)
        return self._rows[first:last]

    @Slot()
    def sync(self) -> None:
        """Apply the stored values to the rows in view (only rows whose position or text differ)."""
        rows = self.rows_in_view()
        for column in self._columns:
            column.sync(rows)
        self._sync_values(rows)

    def _sync_values(self, rows: list[int]) -> None:
        for row in rows:
            position = self._positions[row]
            slider = self._sliders[row]
            if slider.value() != position:
                slider.blockSignals(True)
                slider.setValue(position)
                slider.blockSignals(False)
        self._value_labels.sync(rows)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Resize, QEvent.Type.LayoutRequest):
            self.sync()
        return False


class _Tops:
    """The top y of each listed row's slider, read lazily (bisect needs only log2(n) of them)."""

    def __init__(self, sliders: list[QSlider], rows: list[int]):
        self._sliders = sliders
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, k: int) -> int:
        return self._sliders[self._rows[k]].y()
