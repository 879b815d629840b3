"""What `vae.py bench` measures of the window, through the window's own code: the frame (decode -> QImage) and
the UI thread's time for one face change in the real MainWindow. Runs offscreen when there is no display."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np


def _application():
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["latentlab-bench"])


def frame_function(codec) -> Callable[[np.ndarray], object]:
    """z -> the QImage the window paints (Codec.decode, to_uint8, to_qimage)."""
    _application()
    from latentlab.pictures import to_uint8
    from latentlab.ui.widgets.image_view import to_qimage

    return lambda z: to_qimage(to_uint8(codec.decode(z)))


def face_change_ms(codec, space, attributes, changes: int, seed: int = 0, judge=None,
                   atlas: bool = False) -> np.ndarray:
    """UI-thread milliseconds of `changes` face changes in a 1366x768 MainWindow with every panel in sync:
    Randomize, a latent slider, an attribute slider, undo and redo in turn (decoding, and the `judge` when given,
    run in their workers), with the Strips dock shown."""
    app = _application()
    from latentlab.ui.window.main_window import MainWindow

    window = MainWindow(codec, space, rng=np.random.default_rng(seed), attributes=attributes, cameras=[], judge=judge)
    window.resize(1366, 768)
    window.show()
    window.explore.show_strips()  # a strip shown, following each face (explore_docks.py)
    if atlas:
        window.show_atlas()  # the Atlas dock in front, its marker following each face (panels/atlas_panel.py)
    window.wait_for_frame(60_000)
    rng = np.random.default_rng(seed)
    names = window.attributes_panel.names
    moves = (
        window.randomize,
        lambda: window.slider_panel.set_value(int(rng.integers(min(10, codec.latent_dim))), float(rng.uniform(-2, 2))),
        lambda: window.attributes_panel.set_target(names[int(rng.integers(len(names)))], float(rng.uniform(-2, 2)))
        if names else window.randomize(),
        window.undo_stack.undo,
        window.undo_stack.redo,
    )
    times = np.empty(changes)
    for i in range(changes):
        start = time.perf_counter()
        moves[i % len(moves)]()
        times[i] = (time.perf_counter() - start) * 1000.0
        app.processEvents()
    window.shutdown()
    window.close()
    return times
