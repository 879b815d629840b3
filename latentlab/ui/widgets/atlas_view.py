"""AtlasView: the map canvas of the Atlas dock: every dataset face a point, drawn as one cached layer.

The points are rasterised with NumPy into one RGB32 buffer (each point a 2x2 or 3x3 block of its colour) that is
painted as a single QImage: one redraw of 202,599 points costs a few milliseconds, where a scene item per point or a
scatter-plot library's per-point drawing costs tens (docs/atlas.md gives the measurement). The layer is rebuilt only
when the view, the size or the colours change; the overlays (selection, trail, marker, A / B and the path, your
photo, the lasso, decoded thumbnails when zoomed in) are painted on top each frame.

Interface: `set_points(xy, colours)`, `set_colours`, `fit_all`, `zoom_at`, `pan_pixels`, `to_map` / `to_screen`, the
overlay setters, `thumbnails` (dataset index -> QImage) and the signals below. Mouse: drag pans, the wheel zooms,
a click on a point chooses it, Shift+drag walks, Ctrl+drag lassoes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

HIT_RADIUS_PX = 6.0
CLICK_SLOP_PX = 4
ZOOM_STEP = 1.25
BACKGROUND = 0xFFFFFFFF
SELECTION_COLOUR = QColor(20, 20, 20)
GROUP_COLOURS = (QColor(0, 140, 70), QColor(200, 30, 140))
MARKER_COLOUR = QColor(230, 20, 20)


def argb(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 colours -> (N,) uint32 0xFFRRGGBB."""
    rgb = np.asarray(rgb, np.uint32)
    return (0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)


class AtlasView(QWidget):
    """The map: points, a view (centre in map units, `scale` in pixels per map unit) and overlays."""

    hovered = Signal(int)  # the dataset index under the mouse, -1 when none
    clicked = Signal(int)  # a point was clicked
    walked = Signal(object)  # Shift+drag: the map position (2,) under the mouse
    walk_finished = Signal()
    lasso_finished = Signal(object)  # Ctrl+drag released: the polygon (M, 2) in map units
    view_changed = Signal()  # panned, zoomed or resized

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.xy = np.zeros((0, 2), np.float32)
        self._order = np.zeros(0, np.int64)
        self._xy_drawn = np.zeros((0, 2), np.float32)
        self._colours_drawn = np.zeros(0, np.uint32)
        self.centre = np.zeros(2, np.float64)
        self.scale = 1.0
        self._layer: QImage | None = None
        self._layer_key = None
        self._buffer: np.ndarray | None = None
        self.visible_indices = np.zeros(0, np.int64)
        self.thumbnails: dict[int, QImage] = {}
        self.thumbnail_px = 30
        self.show_thumbnails = False
        self.marker: np.ndarray | None = None
        self.trail: list[np.ndarray] = []
        self.endpoints: dict[str, np.ndarray] = {}
        self.path: np.ndarray | None = None
        self.photo: np.ndarray | None = None
        self.selection = np.zeros(0, np.int64)
        self.groups: list[np.ndarray] = [np.zeros(0, np.int64), np.zeros(0, np.int64)]
        self.hover_index = -1
        self._lasso: list[QPointF] = []
        self._press: QPointF | None = None
        self._mode = ""
        self._moved = False
        self._fitted = True
        self._point_spacing = 1.0  # a typical distance between neighbouring points, in map units

    # ------------------------------------------------------------------------------ points, view

    def set_points(self, xy: np.ndarray, colours: np.ndarray, seed: int = 0) -> None:
        """The points (N, 2) in map units and their colours (N,) uint32; drawn in a fixed shuffled order so that no
        class is always painted over the others."""
        self.xy = np.asarray(xy, np.float32)
        self._order = np.random.default_rng(seed).permutation(len(self.xy))
        self._xy_drawn = self.xy[self._order]
        if len(self.xy):
            span = np.maximum(self.xy.max(axis=0) - self.xy.min(axis=0), 1e-6)
            self._point_spacing = float(np.sqrt(span[0] * span[1] / len(self.xy)))
        self.set_colours(colours)
        self.fit_all()

    def set_colours(self, colours: np.ndarray) -> None:
        self._colours_drawn = np.asarray(colours, np.uint32)[self._order]
        self._layer_key = None
        self.update()

    def fit_all(self) -> None:
        """Show the whole map with a small margin."""
        if not len(self.xy):
            return
        low, high = self.xy.min(axis=0), self.xy.max(axis=0)
        self.centre = ((low + high) / 2).astype(np.float64)
        span = np.maximum(high - low, 1e-6)
        self.scale = 0.94 * min(max(self.width(), 1) / span[0], max(self.height(), 1) / span[1])
        self._fitted = True  # the view follows the widget's size until the user pans or zooms
        self._view_changed()

    def zoom_at(self, pixel: QPointF, factor: float) -> None:
        """Zoom by `factor` keeping the map point under `pixel` in place."""
        before = self.to_map(pixel)
        self.scale = float(np.clip(self.scale * factor, 1e-3, 1e6))
        after = self.to_map(pixel)
        self.centre += before - after
        self._fitted = False
        self._view_changed()

    def pan_pixels(self, dx: float, dy: float) -> None:
        self.centre += np.array([-dx, dy]) / self.scale
        self._fitted = False
        self._view_changed()

    def _view_changed(self) -> None:
        self._layer_key = None
        self.update()
        self.view_changed.emit()

    def to_map(self, pixel: QPointF) -> np.ndarray:
        return np.array([(pixel.x() - self.width() / 2) / self.scale + self.centre[0],
                         (self.height() / 2 - pixel.y()) / self.scale + self.centre[1]])

    def to_screen(self, xy: np.ndarray) -> np.ndarray:
        """Map positions (..., 2) -> pixel positions (..., 2)."""
        xy = np.asarray(xy, np.float64)
        return np.stack([(xy[..., 0] - self.centre[0]) * self.scale + self.width() / 2,
                         self.height() / 2 - (xy[..., 1] - self.centre[1]) * self.scale], axis=-1)

    def index_at(self, pixel: QPointF) -> int:
        """The point within HIT_RADIUS_PX of `pixel` (the nearest), or -1."""
        if not len(self.xy):
            return -1
        d2 = ((self.xy - self.to_map(pixel).astype(np.float32)) ** 2).sum(axis=1)
        index = int(np.argmin(d2))
        return index if np.sqrt(d2[index]) * self.scale <= HIT_RADIUS_PX else -1

    # ---------------------------------------------------------------------------------- drawing

    def render_layer(self) -> QImage:
        """The points layer for the current view and size (rebuilt only when either changed)."""
        w, h = max(self.width(), 1), max(self.height(), 1)
        key = (w, h, float(self.scale), float(self.centre[0]), float(self.centre[1]))
        if self._layer is not None and self._layer_key == key:
            return self._layer
        buffer = np.full(h * w, BACKGROUND, np.uint32)
        size = 3 if self.scale * self._point_spacing > 6 else 2
        scale = np.float32(self.scale)  # float32 and int32: one redraw of 202,599 points in a few milliseconds
        ix = ((self._xy_drawn[:, 0] - np.float32(self.centre[0])) * scale + np.float32(w / 2)).astype(np.int32)
        iy = (np.float32(h / 2) - (self._xy_drawn[:, 1] - np.float32(self.centre[1])) * scale).astype(np.int32)
        inside = (ix >= 0) & (iy >= 0) & (ix < w - size) & (iy < h - size)
        flat = iy[inside] * w + ix[inside]
        colours = self._colours_drawn[inside]
        for dy in range(size):
            for dx in range(size):
                buffer[flat + (dy * w + dx)] = colours
        self.visible_indices = self._order[inside]
        self._buffer = buffer  # the QImage shares this memory
        self._layer = QImage(buffer.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        self._layer_key = key
        return self._layer

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self.render_layer())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_groups(painter)
        if self.show_thumbnails:
            self._paint_thumbnails(painter)
        self._paint_path(painter)
        self._paint_marker(painter)
        if self.hover_index >= 0:
            x, y = self.to_screen(self.xy[self.hover_index])
            painter.setPen(QPen(QColor(0, 0, 0), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(x, y), 5, 5)
        if len(self._lasso) > 1:
            painter.setPen(QPen(QColor(0, 0, 0), 1, Qt.PenStyle.DashLine))
            painter.drawPolyline(QPolygonF(self._lasso))
        painter.end()

    def _paint_groups(self, painter: QPainter) -> None:
        for indices, colour in ((self.selection, SELECTION_COLOUR), *zip(self.groups, GROUP_COLOURS)):
            if len(indices):
                px = self.to_screen(self.xy[indices])
                path = QPainterPath()
                for x, y in px[:: max(1, len(px) // 4000)]:
                    path.addRect(QRectF(x - 1.5, y - 1.5, 3, 3))
                painter.fillPath(path, colour)

    def _paint_thumbnails(self, painter: QPainter) -> None:
        half = self.thumbnail_px / 2
        for index in self.visible_indices:
            image = self.thumbnails.get(int(index))
            if image is not None:
                x, y = self.to_screen(self.xy[index])
                painter.drawImage(QRectF(x - half, y - half, 2 * half, 2 * half), image)

    def _paint_path(self, painter: QPainter) -> None:
        if self.path is not None and len(self.path) > 1:
            painter.setPen(QPen(QColor(90, 90, 90), 2))
            painter.drawPolyline(QPolygonF([QPointF(*p) for p in self.to_screen(self.path)]))
        for name, position in self.endpoints.items():
            x, y = self.to_screen(position)
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(QColor(255, 210, 0))
            painter.drawRect(QRectF(x - 7, y - 7, 14, 14))
            painter.drawText(QRectF(x - 7, y - 7, 14, 14), Qt.AlignmentFlag.AlignCenter, name)
        if self.photo is not None:
            x, y = self.to_screen(self.photo)
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(QColor(0, 200, 255))
            painter.drawPolygon(QPolygonF([QPointF(x, y - 8), QPointF(x + 7, y + 5), QPointF(x - 7, y + 5)]))

    def _paint_marker(self, painter: QPainter) -> None:
        if len(self.trail) > 1:
            points = self.to_screen(np.asarray(self.trail))
            for i, ((x1, y1), (x2, y2)) in enumerate(zip(points[:-1], points[1:])):
                colour = QColor(MARKER_COLOUR)
                colour.setAlphaF(0.15 + 0.6 * (i + 1) / len(points))
                painter.setPen(QPen(colour, 2))
                painter.drawLine(QPointF(x1, y1), QPointF(x2, y2))
        if self.marker is not None:
            x, y = self.to_screen(self.marker)
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.setBrush(MARKER_COLOUR)
            painter.drawEllipse(QPointF(x, y), 6, 6)

    # ------------------------------------------------------------------------------------ mouse

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit_all()
        else:
            self._view_changed()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_at(event.position(), ZOOM_STEP ** steps)

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._press, self._moved = event.position(), False
        modifiers = event.modifiers()
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            self._mode = "walk"
            self.walked.emit(self.to_map(event.position()))
        elif modifiers & Qt.KeyboardModifier.ControlModifier:
            self._mode = "lasso"
            self._lasso = [event.position()]
        else:
            self._mode = "pan"

    def mouseMoveEvent(self, event) -> None:
        position = event.position()
        if self._press is None:
            self.set_hover(self.index_at(position))
            return
        if (position - self._press).manhattanLength() > CLICK_SLOP_PX:
            self._moved = True
        if self._mode == "walk":
            self.walked.emit(self.to_map(position))
        elif self._mode == "lasso":
            self._lasso.append(position)
            self.update()
        elif self._mode == "pan" and self._moved:
            last = getattr(self, "_last_pan", self._press)
            self.pan_pixels(position.x() - last.x(), position.y() - last.y())
            self._last_pan = position

    def mouseReleaseEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        mode, moved = self._mode, self._moved
        self._press, self._mode = None, ""
        self.__dict__.pop("_last_pan", None)
        if mode == "walk":
            self.walk_finished.emit()
        elif mode == "lasso":
            polygon = np.array([self.to_map(p) for p in self._lasso])
            self._lasso = []
            self.update()
            self.lasso_finished.emit(polygon)
        elif mode == "pan" and not moved:
            index = self.index_at(event.position())
            if index >= 0:
                self.clicked.emit(index)

    def leaveEvent(self, event) -> None:
        self.set_hover(-1)
        super().leaveEvent(event)

    def set_hover(self, index: int) -> None:
        if index != self.hover_index:
            self.hover_index = index
            self.update()
            self.hovered.emit(index)
