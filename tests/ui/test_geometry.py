"""The first geometry counts the window frame and stays on the screen (1280x720 and 1366x768 with a title bar: the
status bar is on screen), the face takes the room the docks leave it (at least 300 px at 1366x768 with every dock
open, the original stacked below it on a tall stage), and the Latent distribution window fits the screen."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402
from PySide6.QtCore import QMargins, QRect, QSize  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget  # noqa: E402

from latentlab.ui.geometry import fills_screen, first_geometry  # noqa: E402

WANTED = QSize(1500, 900)  # latentlab.ui.app.WINDOW_SIZE
TITLE_BAR = QMargins(4, 32, 4, 4)  # a window manager's title bar and borders
SCREENS = {"1280x720": QRect(0, 0, 1280, 720), "1366x768": QRect(0, 0, 1366, 768)}


def outer(inner: QRect, frame: QMargins) -> QRect:
    return inner.marginsAdded(frame)


@pytest.mark.parametrize("screen", SCREENS)
def test_first_geometry_with_its_frame_fits_the_screen(screen):
    available = SCREENS[screen]
    inner = first_geometry(available, TITLE_BAR, WANTED)
    assert available.contains(outer(inner, TITLE_BAR)), "the title bar and the bottom border are on screen"
    assert inner.height() == available.height() - 36 and inner.width() == available.width() - 8
    assert fills_screen(available, TITLE_BAR, WANTED), "a screen this small opens the window maximised"


def test_first_geometry_on_a_large_screen_is_the_wanted_size_centred_below_a_top_panel():
    available = QRect(0, 27, 1920, 1053)  # a 1920x1080 screen under a 27 px top panel
    inner = first_geometry(available, TITLE_BAR, WANTED)
    assert inner.size() == WANTED and available.contains(outer(inner, TITLE_BAR))
    assert abs(outer(inner, TITLE_BAR).center().x() - available.center().x()) <= 1
    assert not fills_screen(available, TITLE_BAR, WANTED)


def test_first_geometry_keeps_a_minimum_only_where_the_screen_allows():
    available = SCREENS["1280x720"]
    assert first_geometry(available, TITLE_BAR, QSize(400, 300), QSize(900, 600)).size() == QSize(900, 600)
    assert first_geometry(available, TITLE_BAR, WANTED, QSize(2000, 2000)).size() == QSize(1272, 684)


def open_every_dock(window):
    for dock in window.findChildren(QDockWidget):
        dock.show()
    window.show_face_panel()


@pytest.mark.parametrize("screen", SCREENS)
def test_the_window_with_every_dock_open_fits_with_a_title_bar_and_shows_its_status_bar(window, screen):
    open_every_dock(window)
    inner = first_geometry(SCREENS[screen], TITLE_BAR, WANTED, window.minimumSizeHint())
    window.setGeometry(inner)
    QApplication.processEvents()
    minimum = window.minimumSizeHint()
    assert minimum.width() <= inner.width() and minimum.height() <= inner.height(), (
        f"the window cannot shrink to {inner.width()}x{inner.height()}: it needs {minimum.width()}x{minimum.height()}")
    assert window.size() == inner.size()
    bar = window.statusBar()
    assert bar.isVisible() and bar.geometry().bottom() < window.height()
    assert SCREENS[screen].contains(outer(window.geometry(), TITLE_BAR))
    assert window.face_dock.isVisible() and window.attributes_dock.isVisible()


def test_the_face_takes_the_room_the_docks_leave_it(qtbot, window):
    open_every_dock(window)
    window.setGeometry(first_geometry(SCREENS["1366x768"], TITLE_BAR, WANTED, window.minimumSizeHint()))
    window.dataset.show_dataset_image(4)
    assert window.wait_for_frame(20000)
    stage = window.stage
    qtbot.waitUntil(lambda: stage.original_view.qimage() is not None and stage.original_view.isVisible())
    QApplication.processEvents()
    decoded = stage.decoded_view.image_rect()
    assert decoded.width() >= 300 and decoded.height() >= 300, f"the face is {decoded.width()} px"
    assert stage.stacked == (stage.height() > stage.width()), "the original goes where it leaves the face larger"
    side = stage.decoded_side(stage.stacked)
    assert side >= stage.decoded_side(not stage.stacked)
    dark_above = decoded.top() - stage.decoded_view.geometry().top()
    assert dark_above <= 0.1 * decoded.height() + 2, "no wide empty band above the face"

    window.face_dock.hide()  # a wide stage: the original beside the face
    for dock in window.findChildren(QDockWidget):
        dock.hide()
    window.resize(1366, 520)
    QApplication.processEvents()
    assert not stage.stacked and stage.original_view.isVisible()


def test_the_distribution_window_fits_the_screen(qtbot, window):
    window.show_distribution()
    distribution = window.distribution_window
    qtbot.waitUntil(distribution.isVisible)
    available = distribution.screen().availableGeometry()
    # placed with the frame guessed, then moved once the platform reports its real frame (here 2 px borders)
    qtbot.waitUntil(lambda: available.contains(distribution.frameGeometry()), timeout=3000)
    assert distribution.width() >= 0.9 * min(1100, available.width()), "as large as fits"
    assert distribution.summary_label.geometry().bottom() < distribution.height()
