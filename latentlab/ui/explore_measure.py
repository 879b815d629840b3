"""What `vae.py bench` measures of exploring by sight, through the real window: a 3x3 grid of children and a
7-face strip, each from the request to the faces painted (their latents made and decoded as one batch in the
decoder thread, then drawn). Runs offscreen when there is no display."""

from __future__ import annotations

import time

import numpy as np

from latentlab.ui.measure import _application


def _wait(app, done, timeout_s: float = 60.0) -> bool:
    """Process events until `done()` (True) or `timeout_s` passed (False)."""
    deadline = time.perf_counter() + timeout_s
    while not done() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.0002)
    return done()


def grid_and_strip_ms(codec, space, attributes, repeats: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(milliseconds per 3x3 grid of children, per 7-face strip of PC 1 around a new face), request to painted,
    `repeats` each, in a 1366x768 MainWindow with the dock shown, after 2 untimed ones."""
    app = _application()
    from latentlab.ui.window.main_window import MainWindow

    window = MainWindow(codec, space, rng=np.random.default_rng(seed), attributes=attributes, cameras=[])
    window.resize(1366, 768)
    window.show()
    window.wait_for_frame(60_000)
    children, strips = window.explore.children, window.explore.strips
    shown = []

    def painted(panel_grid):
        panel_grid.repaint()  # drawn now, inside the timing
        shown.append(time.perf_counter())

    children.grid_shown.connect(lambda _latents: painted(children.grid))
    strips.strip_shown.connect(lambda _latents: painted(strips.strip))

    def timed(start_batch, show_dock, prepare=lambda i: None) -> np.ndarray:
        show_dock()
        _wait(app, lambda: False, 0.2)
        times = []
        for i in range(repeats + 2):
            prepare(i)
            _wait(app, lambda: False, 0.2)  # whatever the preparation started (a decode, the judge) is over
            shown.clear()
            started = time.perf_counter()
            start_batch(i)
            if not _wait(app, lambda: bool(shown)):
                raise TimeoutError("the batch was not shown within 60 s")
            times.append((shown[0] - started) * 1000.0)
        return np.array(times[2:])

    grid = timed(lambda i: children.reroll(), window.explore.show_children)
    rng = np.random.default_rng(seed)

    def new_face(i):
        window.set_latent(space.prior.draw(1, 1.0, rng)[0], "bench")
        window.wait_for_frame(60_000)

    strip = timed(lambda i: strips.refresh(), window.explore.show_strips, new_face)
    window.shutdown()
    window.close()
    return grid, strip
