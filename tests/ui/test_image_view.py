"""ImageView: enlarged images are resampled bicubically once per image and size; small ones are left to Qt."""

import cv2
import numpy as np

from latentlab.ui.widgets.image_view import ImageView


def test_an_enlarged_image_is_drawn_bicubic_and_cached(qtbot):
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    view = ImageView(64)
    qtbot.addWidget(view)
    view.resize(256, 200)
    view.set_image(image)
    rect = view.image_rect()
    assert (rect.width(), rect.height()) == (200, 200)
    drawn = view.drawn_image(rect.size())
    assert (drawn.width(), drawn.height()) == (200, 200)
    pixels = np.frombuffer(drawn.constBits(), np.uint8).reshape(200, drawn.bytesPerLine())[:, :600].reshape(200, 200, 3)
    np.testing.assert_array_equal(pixels, cv2.resize(image, (200, 200), interpolation=cv2.INTER_CUBIC))
    assert view.drawn_image(rect.size()) is drawn  # cached while image and size stay
    view.set_image(image[::-1])
    assert view.drawn_image(rect.size()) is not drawn


def test_an_image_shown_near_its_own_size_is_left_to_qt(qtbot):
    view = ImageView(64)
    qtbot.addWidget(view)
    view.resize(110, 110)
    view.set_image(np.zeros((100, 100, 3), np.uint8))
    rect = view.image_rect()
    assert rect.width() == 110
    assert view.drawn_image(rect.size()) is view.qimage()
