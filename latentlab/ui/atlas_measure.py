"""What `vae.py bench` measures of the Atlas, through the Atlas's own widgets: one redraw of the map while panning
and zooming (AtlasView, with any number of points), and the UI thread's time per hover (a mouse move over the map of
the real AtlasPanel). Runs offscreen when there is no display."""

from __future__ import annotations

import time

import numpy as np

from latentlab.ui.measure import _application

VIEW_SIZE = (900, 640)  # the map at about the size of the Atlas dock pulled out wide


def frame_ms(xy: np.ndarray, colours: np.ndarray, frames: int, size: tuple[int, int] = VIEW_SIZE) -> np.ndarray:
    """Milliseconds of one redraw (points layer rebuilt + overlays painted) of an AtlasView showing `xy` while it
    is panned and zoomed in turn."""
    app = _application()
    from latentlab.ui.widgets.atlas_view import AtlasView

    view = AtlasView()
    view.resize(*size)
    view.show()
    app.processEvents()
    view.set_points(xy, colours)
    view.marker = xy[0]
    view.trail = [xy[i] for i in range(min(16, len(xy)))]
    centre = view.rect().center().toPointF()
    times = np.empty(frames)
    for i in range(frames + 3):
        if i % 4 == 3:
            view.zoom_at(centre, 1.1 if (i // 4) % 2 == 0 else 1 / 1.1)
        else:
            view.pan_pixels(3.0, -2.0)
        start = time.perf_counter()
        view.repaint()
        if i >= 3:
            times[i - 3] = (time.perf_counter() - start) * 1000.0
    view.close()
    return times


def hover_ms(space, decode, moves: int) -> np.ndarray:
    """UI-thread milliseconds of a mouse move over the real AtlasPanel's map, from the event to the hovered face's
    name and thumbnail shown (or asked of the worker) and the view repainted."""
    app = _application()
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from latentlab.ui.panels.atlas_panel import AtlasPanel

    panel = AtlasPanel(space, decode)
    panel.resize(*VIEW_SIZE)
    panel.show()
    app.processEvents()
    view = panel.view
    rng = np.random.default_rng(0)
    targets = view.to_screen(panel.atlas.xy[rng.integers(len(panel.atlas), size=moves)])
    times = np.empty(moves)
    for i, (x, y) in enumerate(targets):
        point = QPointF(float(x), float(y))
        event = QMouseEvent(QEvent.Type.MouseMove, point, view.mapToGlobal(point), Qt.MouseButton.NoButton,
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
        start = time.perf_counter()
        QApplication.sendEvent(view, event)
        view.repaint()
        times[i] = (time.perf_counter() - start) * 1000.0
        app.processEvents()
    panel.shutdown()
    panel.close()
    return times
