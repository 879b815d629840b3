"""ImageView: a NumPy RGB image drawn as large as its widget allows, aspect kept, smoothly scaled,
on a dark stage. Enlarged images are resampled bicubically (once per image and size): Qt's smooth scaling is
bilinear, which makes a 128 px face drawn at 500 px look softer than the face is."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from latentlab.pictures import to_uint8

STAGE_COLOR = QColor(32, 33, 36)
PLACEHOLDER_COLOR = QColor(140, 140, 140)
BICUBIC_ABOVE = 1.25  # enlargements beyond this are resampled bicubically


def to_qimage(image: np.ndarray) -> QImage:
    """uint8 or [0, 1] float (H, W, 3) / (H, W) array -> a QImage that owns a copy of the pixels."""
    pixels = np.ascontiguousarray(to_uint8(image))
    if pixels.ndim == 2:
        height, width = pixels.shape
        return QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    height, width, channels = pixels.shape
    if channels == 1:
        return to_qimage(pixels[..., 0])
    fmt = QImage.Format.Format_RGBA8888 if channels == 4 else QImage.Format.Format_RGB888
    return QImage(pixels.data, width, height, width * channels, fmt).copy()


class ImageView(QWidget):
    """Shows one image centred and scaled to fit (smooth transformation); a placeholder text when empty."""

    def __init__(self, minimum: int = 256, placeholder: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._pixels: np.ndarray | None = None
        self._enlarged: QImage | None = None
        self._placeholder = placeholder
        self._minimum = minimum
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(self._minimum, self._minimum)

    def set_image(self, image: np.ndarray | None) -> None:
        self._pixels = None if image is None else np.ascontiguousarray(to_uint8(image))
        self._image = None if image is None else to_qimage(self._pixels)
        self._enlarged = None
        self.update()

    def qimage(self) -> QImage | None:
        return self._image

    def image_rect(self) -> QRect:
        """Where the image is drawn: the largest centred rectangle of its aspect ratio."""
        if self._image is None:
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        left, top = (self.width() - size.width()) // 2, (self.height() - size.height()) // 2
        return QRect(left, top, size.width(), size.height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), STAGE_COLOR)
        if self._image is None:
            painter.setPen(PLACEHOLDER_COLOR)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        rect = self.image_rect()
        painter.drawImage(rect, self.drawn_image(rect.size()))

    def drawn_image(self, size: QSize) -> QImage:
        """The image as drawn at `size`: bicubically enlarged when that is more than BICUBIC_ABOVE times its own
        size (cached until the image or the size changes), else the image itself (Qt scales it)."""
        if size.width() <= BICUBIC_ABOVE * self._image.width():
            return self._image
        if self._enlarged is None or self._enlarged.size() != size:
            self._enlarged = to_qimage(cv2.resize(self._pixels, (size.width(), size.height()),
                                                  interpolation=cv2.INTER_CUBIC))
        return self._enlarged
