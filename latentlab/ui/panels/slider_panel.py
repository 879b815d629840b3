"""SliderPanel: one slider per principal component (or raw latent dimension), filterable by name.

The panel only shows coordinates and reports moves; the window owns the latent. `show_coordinates`
stores the coordinates and moves only the sliders in view (VisibleRows), with their signals blocked, so a
latent set by another control never echoes back and a face change costs a few dozen Qt calls.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from latentlab.ui.widgets.visible_rows import VisibleRows

STEPS = 1000  # slider ticks on each side of zero
DEFAULT_RANGE = 3.0


def slider_names(count: int, mode: str) -> list[str]:
    """'PC 1', 'PC 2', ... in PCA mode; 'dim 1', 'dim 2', ... for raw latent dimensions."""
    prefix = "PC" if mode == "pca" else "dim"
    return [f"{prefix} {i + 1}" for i in range(count)]


class SliderPanel(QWidget):
    """Sliders for every latent coordinate, a PCA / raw toggle, a range box and a filter box."""

    coordinate_changed = Signal(int, float)  # slider index, new coordinate
    mode_changed = Signal(str)  # 'pca' or 'raw'
    gesture_finished = Signal()  # a slider was released: the next move starts a new undo step

    def __init__(self, count: int, pca_sigma: np.ndarray, raw_sigma: np.ndarray | None,
                 pca_available: bool, note: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._pca_sigma = np.asarray(pca_sigma, np.float32)
        self._raw_sigma = None if raw_sigma is None else np.asarray(raw_sigma, np.float32)
        self._mode = "pca" if pca_available else "raw"
        self._range = DEFAULT_RANGE
        self._names: list[str] = []

        self.raw_toggle = QCheckBox("Raw latent dimensions")
        self.raw_toggle.setChecked(not pca_available)
        self.raw_toggle.setEnabled(pca_available)
        self.raw_toggle.setToolTip(
            "Show one slider per latent dimension instead of the dataset's principal components"
            if pca_available else note or "No dataset latents: only raw dimensions are available"
        )
        self.raw_toggle.toggled.connect(self._on_raw_toggled)
        self.range_box = QDoubleSpinBox()
        self.range_box.setRange(0.5, 10.0)
        self.range_box.setSingleStep(0.5)
        self.range_box.setDecimals(1)
        self.range_box.setValue(DEFAULT_RANGE)
        self.range_box.setToolTip("Each slider spans -range .. +range (sigma units for principal components)")
        self.range_box.valueChanged.connect(self._on_range_changed)
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter sliders by name, e.g. PC 1")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.apply_filter)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: palette(mid);")

        self.name_labels, self.sigma_labels, self.sliders, self.value_labels = [], [], [], []
        rows = QWidget()
        grid = QGridLayout(rows)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        for i in range(count):
            name, sigma, value = QLabel(), QLabel(), QLabel("+0.00")
            sigma.setStyleSheet("color: palette(mid);")
            name.setMinimumWidth(name.fontMetrics().horizontalAdvance(f"dim {count}"))
            sigma.setMinimumWidth(sigma.fontMetrics().horizontalAdvance("σ 00.00"))
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("-00.00"))
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(-STEPS, STEPS)
            slider.setMinimumWidth(120)
            slider.valueChanged.connect(lambda position, index=i: self._on_slider_moved(index, position))
            slider.sliderReleased.connect(self.gesture_finished)
            for column, widget in enumerate((name, sigma, slider, value)):
                grid.addWidget(widget, i, column)
            self.name_labels.append(name)
            self.sigma_labels.append(sigma)
            self.sliders.append(slider)
            self.value_labels.append(value)
        grid.setColumnStretch(2, 1)
        grid.setRowStretch(count, 1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(rows)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rows = VisibleRows(self.scroll, self.sliders, self.value_labels, self._positions, "{:+.2f}".format)

        range_row = QHBoxLayout()
        range_row.addWidget(QLabel("Range ±"))
        range_row.addWidget(self.range_box)
        range_row.addStretch(1)
        range_row.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.raw_toggle)
        layout.addLayout(range_row)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.scroll, 1)
        self._relabel()
        scrollbar = self.scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.scroll.setMinimumWidth(rows.minimumSizeHint().width() + scrollbar + 2 * self.scroll.frameWidth())

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """Switch between 'pca' and 'raw' (emits mode_changed when it changes)."""
        self.raw_toggle.setChecked(mode == "raw")

    def names(self) -> list[str]:
        return list(self._names)

    def visible_names(self) -> list[str]:
        return [name for name, label in zip(self._names, self.name_labels) if not label.isHidden()]

    def value_of(self, index: int) -> float:
        """The coordinate slider `index` stands for (its position, in coordinate units), in view or not."""
        return self.rows.position(index) / STEPS * self._range

    def set_value(self, index: int, value: float) -> None:
        """Move slider `index` as a user would: emits coordinate_changed."""
        position = self._position(value)
        slider = self.sliders[index]
        if slider.value() == position:  # a row out of view may not show its position yet
            self._on_slider_moved(index, position)
        else:
            slider.setValue(position)

    def show_coordinates(self, coordinates: np.ndarray) -> None:
        """Show `coordinates` without emitting anything: the rows in view move now, the others when shown."""
        self.rows.set_values(coordinates)

    @Slot(str)
    def apply_filter(self, text: str) -> None:
        """Show only sliders whose name contains `text` (case-insensitive)."""
        needle = text.strip().lower()
        shown = []
        for i, name in enumerate(self._names):
            visible = needle in name.lower()
            if visible:
                shown.append(i)
            for widget in (self.name_labels[i], self.sigma_labels[i], self.sliders[i], self.value_labels[i]):
                widget.setHidden(not visible)
        self.count_label.setText(f"{len(shown)} of {len(self._names)} sliders")
        self.rows.set_rows(shown)

    def _position(self, value: float) -> int:
        return int(self._positions(np.array([value]))[0])

    def _positions(self, values: np.ndarray) -> np.ndarray:
        return np.rint(np.clip(values / self._range, -1.0, 1.0) * STEPS).astype(int)

    def _relabel(self) -> None:
        self._names = slider_names(len(self.sliders), self._mode)
        sigma = self._pca_sigma if self._mode == "pca" else self._raw_sigma
        unit = "sigma" if self._mode == "pca" else "latent units"
        for i, name in enumerate(self._names):
            self.name_labels[i].setText(name)
            self.sigma_labels[i].setText("" if sigma is None else f"σ {sigma[i]:.2f}")
            self.sliders[i].setToolTip(f"{name}: -{self._range:g} .. +{self._range:g} {unit}")
        self.apply_filter(self.filter_box.text())

    @Slot(bool)
    def _on_raw_toggled(self, raw: bool) -> None:
        self._mode = "raw" if raw else "pca"
        self._relabel()
        self.mode_changed.emit(self._mode)

    @Slot(float)
    def _on_range_changed(self, value: float) -> None:
        self._range = float(value)
        self._relabel()
        self.rows.refresh()

    def _on_slider_moved(self, index: int, position: int) -> None:
        self.coordinate_changed.emit(index, position / STEPS * self._range)
