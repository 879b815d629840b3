"""ThumbnailGrid: a rows x cols grid of small faces, each with an optional caption, scaled to the room it is given;
clicking one emits its index. The Children grid, the Strips and the Mixing docks show their faces in one.

The pictures are turned into QImages once when set (`set_images`); painting only scales them, so a grid of 16
faces costs the UI thread well under a millisecond per repaint.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from latentlab.ui.widgets.image_view import STAGE_COLOR, to_qimage

GAP = 4
CAPTION_COLOR = QColor(205, 205, 205)
HOVER_COLOR = QColor(90, 160, 255)
PREFERRED_CELL = 76  # the cell side a grid asks for (it takes more when the dock gives more)


class ThumbnailGrid(QWidget):
    """`rows` x `cols` cells; `set_images` fills them in row order. `clicked(index)` when a face is clicked."""

    clicked = Signal(int)

    def __init__(self, rows: int, cols: int, minimum_cell: int = 48, placeholder: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._rows, self._cols = rows, cols
        self._minimum_cell = minimum_cell
        self._images: list[QImage] = []
        self._captions: list[str] = []
        self._hover = -1
        self.placeholder = placeholder
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    # ------------------------------------------------------------------------------ interface

    @property
    def shape(self) -> tuple[int, int]:
        return self._rows, self._cols

    def set_shape(self, rows: int, cols: int) -> None:
        """Change the number of cells (the faces shown are cleared)."""
        if (rows, cols) != (self._rows, self._cols):
            self._rows, self._cols = rows, cols
            self.clear()
            self.updateGeometry()

    def set_images(self, images: np.ndarray, captions: list[str] | None = None) -> None:
        """Show `images` (n, S, S, 3) uint8, n <= rows x cols, in row order, each above its caption."""
        self._images = [to_qimage(np.ascontiguousarray(image)) for image in images[: self._rows * self._cols]]
        self._captions = list(captions or [])
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self._images, self._captions = [], []
        self.update()

    def count(self) -> int:
        """How many faces are shown."""
        return len(self._images)

    def captions(self) -> list[str]:
        return list(self._captions)

    def cell_rect(self, index: int) -> QRect:
        """Where face `index` is drawn (widget coordinates)."""
        side, left, top, caption = self._layout()
        row, col = divmod(index, self._cols)
        return QRect(left + col * (side + GAP), top + row * (side + caption + GAP), side, side)

    # ------------------------------------------------------------------------------ Qt

    def sizeHint(self) -> QSize:
        caption = self._caption_height()
        cell = max(self._minimum_cell, PREFERRED_CELL)
        return QSize(self._cols * (cell + GAP) + GAP, self._rows * (cell + caption + GAP) + GAP)

    def minimumSizeHint(self) -> QSize:
        caption = self._caption_height()
        return QSize(self._cols * (self._minimum_cell + GAP) + GAP,
                     self._rows * (self._minimum_cell + caption + GAP) + GAP)

    def _caption_height(self) -> int:
        return self.fontMetrics().height() if self._captions or self._rows * self._cols == 0 else 0

    def _layout(self) -> tuple[int, int, int, int]:
        """(cell side, left, top, caption height): square cells as large as fit, centred."""
        caption = self.fontMetrics().height() if self._captions else 0
        width = (self.width() - GAP * (self._cols + 1)) // max(self._cols, 1)
        height = (self.height() - GAP * (self._rows + 1)) // max(self._rows, 1) - caption
        side = max(8, min(width, height))
        used_w = self._cols * side + (self._cols - 1) * GAP
        used_h = self._rows * (side + caption) + (self._rows - 1) * GAP
        return side, (self.width() - used_w) // 2, (self.height() - used_h) // 2, caption

    def index_at(self, x: float, y: float) -> int:
        """The face under (x, y), or -1."""
        for index in range(len(self._images)):
            if self.cell_rect(index).contains(int(x), int(y)):
                return index
        return -1

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), STAGE_COLOR)
        if not self._images:
            painter.setPen(CAPTION_COLOR)
            painter.drawText(self.rect().adjusted(6, 6, -6, -6),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        side, _, _, caption = self._layout()
        for index, image in enumerate(self._images):
            rect = self.cell_rect(index)
            painter.drawImage(QRectF(rect), image)
            if index == self._hover:
                painter.setPen(QPen(HOVER_COLOR, 2))
                painter.drawRect(rect.adjusted(1, 1, -1, -1))
            if index < len(self._captions) and caption:
                painter.setPen(CAPTION_COLOR)
                text_rect = QRect(rect.left() - GAP // 2, rect.bottom() + 1, side + GAP, caption)
                text = painter.fontMetrics().elidedText(self._captions[index], Qt.TextElideMode.ElideRight,
                                                        text_rect.width())
                painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, text)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hover = self.index_at(event.position().x(), event.position().y())
        if hover != self._hover:
            self._hover = hover
            self.update()

    def leaveEvent(self, event) -> None:
        self._hover = -1
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.index_at(event.position().x(), event.position().y())
            if index >= 0:
                self.clicked.emit(index)
