"""Stage: the decoded face, and beside it the photo it came from (a dataset original, your photo), on a dark stage.

Both views keep their image's aspect and scale smoothly with the window, down to small minimums, so the
window fits a 1280x720 laptop screen; the captions wrap instead of widening the stage. The original goes beside the
decoded face or below it, whichever leaves the decoded face larger: where the docks leave a tall, narrow stage (a
1366x768 screen with every dock open) the two are stacked instead of shrinking between empty dark bands.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from latentlab.ui.widgets.image_view import STAGE_COLOR, ImageView

DECODED_MINIMUM = 200
ORIGINAL_MINIMUM = 96
CAPTION_COLOR = QColor(205, 205, 205)
DECODED_SHARE = 3 / 5  # of the stage's width (beside) or height (stacked) when the original is shown


def captioned(view: ImageView, caption: QLabel) -> QWidget:
    """`view` above its centred, wrapping caption."""
    caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
    caption.setWordWrap(True)
    caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(view, 1)
    layout.addWidget(caption)
    return box


class Stage(QWidget):
    """The decoded face (3 parts of the width, or of the height when stacked) and, when there is one, its original
    (2 parts). `stacked`: the original is below the decoded face."""

    def __init__(self, image_size: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.decoded_view = ImageView(DECODED_MINIMUM, "decoding…")
        self.decoded_caption = QLabel(f"Decoded · {image_size} × {image_size} px")
        self.original_view = ImageView(ORIGINAL_MINIMUM)
        self.original_caption = QLabel()
        self.original_box = captioned(self.original_view, self.original_caption)
        self.original_box.hide()
        self._original: np.ndarray | None = None

        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, STAGE_COLOR)
        palette.setColor(QPalette.ColorRole.WindowText, CAPTION_COLOR)
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self._layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.addWidget(captioned(self.decoded_view, self.decoded_caption), 3)
        self._layout.addWidget(self.original_box, 2)

    @property
    def stacked(self) -> bool:
        return self._layout.direction() == QBoxLayout.Direction.TopToBottom

    def decoded_side(self, stacked: bool) -> int:
        """The decoded face's side (px) in this stage's size, the original beside it or (`stacked`) below it."""
        margins = self._layout.contentsMargins()
        width = self.width() - margins.left() - margins.right()
        height = self.height() - margins.top() - margins.bottom()
        caption = self.decoded_caption.sizeHint().height()
        spacing = max(self._layout.spacing(), 0)
        if self.original_box.isHidden():
            return max(0, min(width, height - caption))
        if stacked:
            return max(0, min(width, int((height - 2 * caption - 2 * spacing) * DECODED_SHARE)))
        return max(0, min(height - caption, int((width - spacing) * DECODED_SHARE)))

    def _arrange(self) -> None:
        """Beside or below, whichever gives the decoded face more room."""
        stacked = self.decoded_side(True) > self.decoded_side(False)
        if stacked != self.stacked:
            self._layout.setDirection(QBoxLayout.Direction.TopToBottom if stacked
                                      else QBoxLayout.Direction.LeftToRight)

    def resizeEvent(self, event) -> None:
        self._arrange()
        super().resizeEvent(event)

    def show_decoded(self, image: np.ndarray) -> None:
        self.decoded_view.set_image(image)

    def show_original(self, image: np.ndarray | None, caption: str) -> None:
        """Show `image` beside the decoded face (None hides it); nothing is touched when it is already shown."""
        if image is self._original:
            return
        self._original = image
        self.original_box.setVisible(image is not None)
        self._arrange()
        self.original_view.set_image(image)
        self.original_caption.setText(caption)
