"""Where a top-level window first opens: inside the screen's available area with its window frame (title bar and
borders) counted, so that nothing (the status bar, a summary line) is left below the screen's edge.

`first_geometry` is the rule (pure, tested at 1280x720 and 1366x768 with a frame); `place_window` applies it to a
window about to be shown, and `keep_on_screen` corrects it once the window manager has given it its real frame.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

FRAME_GUESS = QMargins(4, 32, 4, 4)  # a common title bar and border before the window manager reports the real one
FRAMELESS_PLATFORMS = ("offscreen", "minimal")
SETTLE_MS = 250  # after show: when the window manager has framed the window


def frame_margins(window: QWidget) -> QMargins:
    """The window's frame (title bar, borders): the real one once shown and framed, else a guess (none offscreen)."""
    if window.isVisible():
        frame, inner = window.frameGeometry(), window.geometry()
        real = QMargins(inner.left() - frame.left(), inner.top() - frame.top(), frame.right() - inner.right(),
                        frame.bottom() - inner.bottom())
        if not real.isNull():
            return real
    if QGuiApplication.platformName() in FRAMELESS_PLATFORMS:
        return QMargins()
    return FRAME_GUESS


def first_geometry(available: QRect, frame: QMargins, wanted: QSize, minimum: QSize | None = None) -> QRect:
    """The window's inner geometry (what `setGeometry` takes): `wanted`, shrunk so that it and its `frame` fit in the
    screen's `available` area (never below `minimum` where the screen allows it), centred there."""
    room = QSize(available.width() - frame.left() - frame.right(), available.height() - frame.top() - frame.bottom())
    size = wanted.boundedTo(room).expandedTo((minimum or QSize(0, 0)).boundedTo(room))
    outer_w = size.width() + frame.left() + frame.right()
    outer_h = size.height() + frame.top() + frame.bottom()
    left = available.left() + max(0, (available.width() - outer_w) // 2) + frame.left()
    top = available.top() + max(0, (available.height() - outer_h) // 2) + frame.top()
    return QRect(left, top, size.width(), size.height())


def fills_screen(available: QRect, frame: QMargins, wanted: QSize) -> bool:
    """Whether `wanted` with its frame is at least the whole available area in width or height (then the window
    opens maximised: the window manager fits the frame)."""
    return (wanted.width() + frame.left() + frame.right() >= available.width()
            or wanted.height() + frame.top() + frame.bottom() >= available.height())


def place_window(window: QWidget, wanted: QSize, maximise_when_small: bool = False) -> bool:
    """Give `window` (not yet shown) its first geometry on its screen; True when it should be shown maximised
    (`maximise_when_small` and the screen is no larger than `wanted`). After show, `keep_on_screen` runs once the
    real frame is known."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(wanted)
        return False
    available, frame = screen.availableGeometry(), frame_margins(window)
    window.setGeometry(first_geometry(available, frame, wanted, window.minimumSizeHint()))
    QTimer.singleShot(SETTLE_MS, window, lambda: keep_on_screen(window))  # not after the window is gone
    return maximise_when_small and fills_screen(available, frame, wanted)


def keep_on_screen(window: QWidget) -> None:
    """Move (and if need be shrink) a shown, un-maximised window so that its frame lies inside its screen's
    available area."""
    if not window.isVisible() or window.isMaximized() or window.isFullScreen():
        return
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    available = screen.availableGeometry()
    if available.contains(window.frameGeometry()):
        return
    window.setGeometry(first_geometry(available, frame_margins(window), window.size(), window.minimumSizeHint()))
