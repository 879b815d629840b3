"""VisibleRows: a column of sliders and value labels in a scroll area, kept in step with an array of values
while touching only the rows in view.

A face change moves every coordinate, but only a couple of dozen rows are on screen: syncing those (and the
rest as they scroll into view or their panel is shown) keeps one change to a few dozen Qt calls instead of
one per row, whatever the latent size.
"""

from __future__ import annotations

import bisect
from typing import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtWidgets import QLabel, QScrollArea, QSlider


class VisibleRows(QObject):
    """Rows i = (sliders[i], labels[i]) inside `scroll`; `set_values` stores the targets, `sync` applies them to
    the rows in view with the sliders' signals blocked (nothing echoes back as a user move)."""

    def __init__(self, scroll: QScrollArea, sliders: list[QSlider], labels: list[QLabel],
                 position: Callable[[np.ndarray], np.ndarray], text: Callable[[float], str]):
        super().__init__(scroll)
        self._scroll = scroll
        self._sliders = sliders
        self._labels = labels
        self._position = position
        self._text = text
        self._values = np.zeros(len(sliders))
        self._positions = [0] * len(sliders)
        self._shown_texts = [label.text() for label in labels]
        self._rows = list(range(len(sliders)))  # rows not filtered out, top to bottom
        scroll.verticalScrollBar().valueChanged.connect(self.sync)
        scroll.viewport().installEventFilter(self)

    @property
    def values(self) -> np.ndarray:
        return self._values.copy()

    def position(self, row: int) -> int:
        """The slider position row `row` stands for (whether or not it has been synced yet)."""
        return self._positions[row]

    def set_values(self, values: np.ndarray) -> None:
        """New values for every row; the rows in view follow at once, the others when they come into view."""
        self._values = np.asarray(values, np.float64).copy()
        self._positions = self._position(self._values).tolist()
        self.sync()

    def set_rows(self, rows: list[int]) -> None:
        """The rows left visible by a filter, top to bottom."""
        self._rows = list(rows)
        self.sync()

    def refresh(self) -> None:
        """Recompute the positions (the value -> position mapping changed) and sync."""
        self.set_values(self._values)

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
        for row in self.rows_in_view():
            position = self._positions[row]
            slider = self._sliders[row]
            if slider.value() != position:
                slider.blockSignals(True)
                slider.setValue(position)
                slider.blockSignals(False)
            text = self._text(float(self._values[row]))
            if self._shown_texts[row] != text:
                self._labels[row].setText(text)
                self._shown_texts[row] = text

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
