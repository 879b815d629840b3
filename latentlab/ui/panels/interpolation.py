"""InterpolationPanel: endpoints A and B, a blend slider t in [0, 1], play / pause A -> B -> A, export.

The panel holds A and B and computes the blend; the window decides what A and B are (the current
face or a dataset image) through `capture_requested` / `index_requested`, and receives every blend
through `blend_changed`.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.latent.animation import pingpong
from latentlab.latent.space import INTERPOLATIONS, LatentSpace
from latentlab.ui.widgets.image_view import to_qimage

T_STEPS = 1000
FRAME_INTERVAL_MS = 33
THUMBNAIL = 48


class InterpolationPanel(QWidget):
    """Set A / Set B, the t slider, linear or spherical blending, play / pause and export."""

    blend_changed = Signal(object, str)  # latent, description
    capture_requested = Signal(str)  # 'A' or 'B': set it from the current face
    index_requested = Signal(str)  # 'A' or 'B': set it from a dataset image the user picks
    gesture_finished = Signal()  # the t slider was released or playback stopped
    endpoints_changed = Signal()  # A or B was set (the Mixing dock mixes the same two faces)

    def __init__(self, space: LatentSpace, export_action: QAction | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._space = space
        self._endpoints: dict[str, np.ndarray | None] = {"A": None, "B": None}
        self._phase = 0.0
        self._last_tick = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.timeout.connect(self._advance)

        grid = QGridLayout()
        self.set_buttons, self.endpoint_labels, self.thumbnails = {}, {}, {}
        for row, which in enumerate(("A", "B")):
            button = QToolButton()
            button.setText(f"Set {which}")
            button.setToolTip(f"Make the current face endpoint {which} (menu: a dataset image instead)")
            button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            menu = QMenu(button)
            menu.addAction("From the current face", lambda w=which: self.capture_requested.emit(w))
            menu.addAction("From a dataset image…", lambda w=which: self.index_requested.emit(w))
            menu.actions()[1].setEnabled(space.has_dataset)
            button.setMenu(menu)
            button.clicked.connect(lambda _=False, w=which: self.capture_requested.emit(w))
            thumbnail = QLabel()
            thumbnail.setFixedSize(THUMBNAIL, THUMBNAIL)
            thumbnail.setStyleSheet("background: palette(dark); border-radius: 3px;")
            label = QLabel("not set")
            label.setWordWrap(True)
            label.setStyleSheet("color: palette(mid);")
            grid.addWidget(button, row, 0)
            grid.addWidget(thumbnail, row, 1)
            grid.addWidget(label, row, 2)
            self.set_buttons[which], self.thumbnails[which], self.endpoint_labels[which] = button, thumbnail, label
        grid.setColumnStretch(2, 1)

        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, T_STEPS)
        self.t_slider.setToolTip("Blend between A (t = 0) and B (t = 1)")
        self.t_slider.valueChanged.connect(self._on_t_moved)
        self.t_slider.sliderReleased.connect(self.gesture_finished)
        self.t_label = QLabel("t = 0.00")
        self.t_label.setMinimumWidth(self.t_label.fontMetrics().horizontalAdvance("t = 0.000"))
        self.method_box = QComboBox()
        self.method_box.addItems(INTERPOLATIONS)
        self.method_box.setToolTip("linear: straight line; spherical: along the great circle "
                                   "(keeps the norm typical of the prior)")
        self.method_box.currentTextChanged.connect(lambda _: self._emit_blend())
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Animate A → B → A")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.duration_box = QDoubleSpinBox()
        self.duration_box.setRange(0.5, 60.0)
        self.duration_box.setValue(4.0)
        self.duration_box.setSuffix(" s")
        self.duration_box.setToolTip("Time for one A → B → A cycle (playback and export)")
        self.export_button = QToolButton()
        if export_action is not None:
            self.export_button.setDefaultAction(export_action)
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

        t_row = QHBoxLayout()
        t_row.addWidget(QLabel("t"))
        t_row.addWidget(self.t_slider, 1)
        t_row.addWidget(self.t_label)
        options = QHBoxLayout()
        options.addWidget(self.method_box)
        options.addWidget(self.play_button)
        options.addWidget(self.duration_box)
        export_row = QHBoxLayout()
        export_row.addStretch(1)
        export_row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addLayout(t_row)
        layout.addLayout(options)
        layout.addLayout(export_row)
        self._update_enabled()

    @property
    def method(self) -> str:
        return self.method_box.currentText()

    def set_method(self, method: str) -> None:
        self.method_box.setCurrentText(method)

    @property
    def t(self) -> float:
        return self.t_slider.value() / T_STEPS

    def set_t(self, t: float) -> None:
        """Move the t slider (emits blend_changed when A and B are set)."""
        self.t_slider.setValue(int(round(np.clip(t, 0.0, 1.0) * T_STEPS)))

    @property
    def ready(self) -> bool:
        return all(z is not None for z in self._endpoints.values())

    def endpoint(self, which: str) -> np.ndarray | None:
        z = self._endpoints[which]
        return None if z is None else z.copy()

    def set_endpoint(self, which: str, z: np.ndarray, description: str, image: np.ndarray | None = None,
                     current: bool = True) -> None:
        """Store endpoint 'A' or 'B', with a caption and an optional thumbnail of its face (`set_thumbnail` can add
        it later). `current`: the endpoint is the face on screen, so t moves (silently) to 0 for A or 1 for B."""
        self._endpoints[which] = np.asarray(z, np.float32).copy()
        self.endpoint_labels[which].setText(description)
        self.endpoint_labels[which].setToolTip(description)
        self.endpoint_labels[which].setStyleSheet("")
        self.thumbnails[which].clear()
        if image is not None:
            self.set_thumbnail(which, image)
        if current:
            self.t_slider.blockSignals(True)
            self.t_slider.setValue(0 if which == "A" else T_STEPS)
            self.t_slider.blockSignals(False)
            self.t_label.setText(f"t = {self.t:.2f}")
        self._update_enabled()
        self.endpoints_changed.emit()

    def set_thumbnail(self, which: str, image: np.ndarray) -> None:
        """Show `image` (uint8 RGB) as the thumbnail of endpoint 'A' or 'B'."""
        pixmap = QPixmap.fromImage(to_qimage(image)).scaled(
            QSize(THUMBNAIL, THUMBNAIL), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.thumbnails[which].setPixmap(pixmap)

    def blend(self, t: float | None = None) -> np.ndarray:
        """The latent at t (default: the slider's t) between A and B with the chosen method."""
        if not self.ready:
            raise ValueError("set A and B first")
        t = self.t if t is None else t
        return self._space.interpolate(self._endpoints["A"], self._endpoints["B"], t, self.method)

    def is_playing(self) -> bool:
        return self.timer.isActive()

    @Slot()
    def pause(self) -> None:
        self.play_button.setChecked(False)

    @Slot()
    def toggle_play(self) -> None:
        self.play_button.setChecked(not self.play_button.isChecked())

    def _update_enabled(self) -> None:
        for widget in (self.t_slider, self.play_button):
            widget.setEnabled(self.ready)
        hint = "" if self.ready else "Set A and B first"
        self.t_slider.setToolTip(hint or "Blend between A (t = 0) and B (t = 1)")

    def _emit_blend(self) -> None:
        self.t_label.setText(f"t = {self.t:.2f}")
        if self.ready:
            self.blend_changed.emit(self.blend(), f"blend A→B, t = {self.t:.2f} ({self.method})")

    @Slot(int)
    def _on_t_moved(self, _position: int) -> None:
        self._emit_blend()

    @Slot(bool)
    def _on_play_toggled(self, playing: bool) -> None:
        if playing and self.ready:
            self._phase = 0.5 * self.t if self.t < 1.0 else 0.5
            self._last_tick = time.perf_counter()
            self.timer.start()
            self.play_button.setText("Pause")
        else:
            was_playing = self.timer.isActive()
            self.timer.stop()
            self.play_button.setText("Play")
            if was_playing:
                self.gesture_finished.emit()
            if playing:
                self.play_button.setChecked(False)

    @Slot()
    def _advance(self) -> None:
        now = time.perf_counter()
        self._phase = (self._phase + (now - self._last_tick) / self.duration_box.value()) % 1.0
        self._last_tick = now
        self.set_t(float(pingpong(self._phase)))
