"""DistributionWindow: the latent distribution figure (latentlab.latent.distribution_plot) on a Qt canvas, following
the face. It opens at 1100x800 or, on a smaller screen, as large as fits with its title bar (latentlab.ui.geometry).

The histograms and the KL bars are drawn once (again only when the chosen dimensions change or the
canvas is resized, about 0.6 s for 22,000 x 256 latents); a new latent only moves the red "current"
markers, blitted over the saved background (a few ms instead of a 0.35 s full redraw). Updates are
throttled (at most one per THROTTLE_MS, the newest latent always drawn last) and skipped while the
window is hidden.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from latentlab.latent.distribution_plot import ACTIVE_KL, active_dimensions, latent_distribution_figure, pick_dimensions
from latentlab.latent.space import INDEX_HINT, LatentSpace
from latentlab.ui.geometry import place_window

THROTTLE_MS = 250
PREFERRED_SIZE = QSize(1100, 800)  # shrunk to fit smaller screens
MAX_DIMS = 12
OUTLIER = 2.0  # prior standard deviations: a coordinate beyond this is unusual (about 4.6 % under N(0, 1))
PRIOR_OUTLIER_SHARE = 0.0455


def parse_dimensions(text: str, latent_dim: int) -> tuple[list[int] | None, str]:
    """Dimensions typed as '3, 17 42' (0-based) -> (list, ""); empty text -> (None, "") for the default
    choice; anything else -> (None, a hint)."""
    parts = text.replace(",", " ").split()
    if not parts:
        return None, ""
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        return None, f"dimensions are whole numbers from 0 to {latent_dim - 1}, separated by commas or spaces"
    wrong = [d for d in dims if not 0 <= d < latent_dim]
    if wrong:
        return None, f"dimension {wrong[0]} is out of range: choose 0 to {latent_dim - 1}"
    if len(dims) > MAX_DIMS:
        return None, f"at most {MAX_DIMS} histograms"
    return list(dict.fromkeys(dims)), ""


class DistributionWindow(QWidget):
    """A separate window: per-dimension histograms of the dataset latents against N(0, 1), KL per dimension
    with the count of active dimensions, and the current face marked; `set_latent` follows the window."""

    def __init__(self, space: LatentSpace, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Latent distribution — latentlab")
        self.space = space
        self.redraws = 0
        self._z = space.reset()
        self._dims: list[int] = []
        self._markers: dict[int, object] = {}
        self._background = None
        self._figure_stale = True
        self._marker_stale = True
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(THROTTLE_MS)
        self._throttle.timeout.connect(self._on_throttle_timeout)

        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.figure = Figure(figsize=(11, 7.5), dpi=100)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(640, 440)
        self.canvas.mpl_connect("draw_event", self._on_canvas_drawn)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.dims_box = QLineEdit()
        self.dims_box.setPlaceholderText("most informative 6 and least informative 2 (default)")
        self.dims_box.setToolTip(f"Latent dimensions to plot (0-based, up to {MAX_DIMS}), e.g. 0, 5, 17; "
                                 "empty for the default choice")
        self.dims_box.returnPressed.connect(self._on_dims_entered)
        apply_button = QPushButton("Plot")
        apply_button.clicked.connect(self._on_dims_entered)
        self.dims_hint = QLabel()
        self.dims_hint.setStyleSheet("color: #c0392b;")
        dims_row = QHBoxLayout()
        dims_row.addWidget(QLabel("Histograms of dimensions"))
        dims_row.addWidget(self.dims_box, 1)
        dims_row.addWidget(apply_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note_label)
        layout.addLayout(dims_row)
        layout.addWidget(self.dims_hint)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.summary_label)

        reason = self.unavailable_reason()
        self.note_label.setText(reason)
        self.note_label.setVisible(bool(reason))
        for widget in (self.canvas, self.dims_box, apply_button):
            widget.setEnabled(not reason)
        self.canvas.setVisible(not reason)
        self.dims_hint.hide()
        place_window(self, PREFERRED_SIZE)  # inside the screen with its title bar: the summary line stays in view

    def unavailable_reason(self) -> str:
        """Why there is nothing to plot ("" when there is)."""
        if not self.space.has_dataset:
            return self.space.note or f"No dataset latents: {INDEX_HINT}"
        if self.space.kl_per_dim is None or not np.isfinite(self.space.kl_per_dim).all():
            return f"{self.space.source or 'the latents file'} holds no KL per dimension: {INDEX_HINT}"
        return ""

    @property
    def available(self) -> bool:
        return not self.unavailable_reason()

    @property
    def dimensions(self) -> list[int]:
        """The dimensions whose histograms are shown."""
        return list(self._dims)

    def marker_positions(self) -> dict[int, float]:
        """Where the "current" marker stands on each histogram, by dimension."""
        return {dim: float(np.asarray(line.get_xdata(), float)[0]) for dim, line in self._markers.items()}

    @Slot(object)
    def set_latent(self, z: np.ndarray) -> None:
        """Mark latent `z`: drawn now when visible and not drawn in the last THROTTLE_MS, else soon after."""
        self._z = np.asarray(z, np.float32).copy()
        self._marker_stale = True
        if not self.isVisible() or not self.available:
            return
        if not self._throttle.isActive():
            self._refresh()
            self._throttle.start()

    def set_dimensions(self, dims: list[int] | None) -> None:
        """Plot histograms of `dims` (None: the default choice) and redraw."""
        self._dims = list(dims) if dims else pick_dimensions(self.space.kl_per_dim)
        self._figure_stale = True
        if self.isVisible():
            self._refresh()

    @Slot()
    def _on_dims_entered(self) -> None:
        dims, hint = parse_dimensions(self.dims_box.text(), self.space.latent_dim)
        self.dims_hint.setText(hint)
        self.dims_hint.setVisible(bool(hint))
        if not hint:
            self.set_dimensions(dims)

    @Slot()
    def _on_throttle_timeout(self) -> None:
        if self._marker_stale and self.isVisible():
            self._refresh()
            self._throttle.start()

    def _refresh(self) -> None:
        """Redraw what is stale: the whole figure, or only the markers and the summary."""
        if not self.available:
            return
        if not self._dims:
            self._dims = pick_dimensions(self.space.kl_per_dim)
        if self._figure_stale:
            latent_distribution_figure(self.figure, self.space.z_mean, self.space.kl_per_dim, self._z, self._dims)
            self._markers = {}
            for dim, axes in zip(self._dims, self.figure.axes):
                lines = [line for line in axes.lines if line.get_label() == "current"]
                if lines:
                    lines[0].set_animated(True)
                    self._markers[dim] = lines[0]
            self._figure_stale = False
            self._background = None
        for dim, line in self._markers.items():
            value = float(self._z[dim])
            line.set_xdata([value, value])
        self._marker_stale = False
        self.summary_label.setText(self._summary())
        self.redraws += 1
        if self._background is None:
            self.canvas.draw_idle()
        else:
            self.canvas.restore_region(self._background)
            self._draw_markers()
            self.canvas.blit(self.figure.bbox)

    def _on_canvas_drawn(self, event) -> None:
        """After every full draw (first show, new dimensions, resize): keep the background, add the markers."""
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._draw_markers()

    def _draw_markers(self) -> None:
        for line in self._markers.values():
            self.figure.draw_artist(line)

    def _summary(self) -> str:
        kl = self.space.kl_per_dim
        d = self.space.latent_dim
        outside = int((np.abs(self._z) > OUTLIER).sum())
        return (f"{active_dimensions(kl)} of {d} dimensions active (average KL to the prior above {ACTIVE_KL:g} nats). "
                f"Current face (red): |z| = {np.linalg.norm(self._z):.1f} (a draw from the prior: about √{d} = "
                f"{np.sqrt(d):.1f}); {outside} of {d} coordinates beyond ±{OUTLIER:g} "
                f"(about {PRIOR_OUTLIER_SHARE * d:.0f} for a prior draw).")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._figure_stale or self._marker_stale:
            self._refresh()

    def shutdown(self) -> None:
        """Stop the throttle timer (the window closes with its parent)."""
        self._throttle.stop()
