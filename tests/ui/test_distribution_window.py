"""Latent distribution window: opened from the View menu, draws latentlab.latent.distribution_plot' figure on a Qt
canvas, marks the current latent and follows it (throttled, only while visible)."""

import numpy as np
import pytest
from PySide6.QtGui import QKeySequence

from latentlab.latent.space import LatentSpace
from latentlab.ui.panels.distribution_window import THROTTLE_MS, DistributionWindow, parse_dimensions
from tests.helpers import LATENT_DIM


def markers_match(dist, z):
    return dist.marker_positions() and all(v == pytest.approx(float(z[d])) for d, v in dist.marker_positions().items())


def test_the_window_opens_draws_and_marks_the_current_latent(qtbot, window, space):
    assert window.commands.distribution_action.shortcut() == QKeySequence("Ctrl+L")
    assert window.commands.distribution_action in window.menuBar().actions()[3].menu().actions()  # View
    window.commands.distribution_action.trigger()
    dist = window.distribution_window
    qtbot.waitExposed(dist)
    assert dist.isVisible() and dist.redraws == 1
    dims = dist.dimensions
    assert len(dist.figure.axes) == len(dims) + 1
    assert sorted(dims) == list(range(LATENT_DIM)), "8 dimensions: every one gets a histogram"
    assert markers_match(dist, window.latent)
    assert "of 8 dimensions active" in dist.summary_label.text()
    assert "KL per dimension" in dist.figure.axes[-1].get_title()

    window.dataset.show_dataset_image(4)
    qtbot.waitUntil(lambda: markers_match(dist, space.latent(4)), timeout=2000)

    dist.dims_box.setText("7, 2")
    dist.dims_box.returnPressed.emit()
    assert dist.dimensions == [7, 2] and len(dist.figure.axes) == 3 and markers_match(dist, space.latent(4))
    dist.dims_box.setText("9")
    dist.dims_box.returnPressed.emit()
    assert dist.dims_hint.isVisible() and "choose 0 to 7" in dist.dims_hint.text() and dist.dimensions == [7, 2]


def test_updates_are_throttled_and_skipped_while_hidden(qtbot, window):
    window.show_distribution()
    dist = window.distribution_window
    qtbot.waitExposed(dist)
    qtbot.wait(THROTTLE_MS + 50)
    start = dist.redraws
    for _ in range(20):
        window.randomize()
    assert dist.redraws == start + 1, "a burst draws once at once ..."
    qtbot.waitUntil(lambda: markers_match(dist, window.latent), timeout=2000)
    assert dist.redraws == start + 2, "... and once more for the newest latent"

    dist.close()
    drawn = dist.redraws
    window.randomize()
    qtbot.wait(THROTTLE_MS + 50)
    assert dist.redraws == drawn and not markers_match(dist, window.latent)
    window.show_distribution()
    assert window.distribution_window is dist and markers_match(dist, window.latent)
    window.close()
    assert not dist.isVisible()


def test_without_dataset_latents_or_kl_the_window_says_why(qtbot, space):
    bare = DistributionWindow(LatentSpace(LATENT_DIM, note="dataset features off: latents.npz not found"))
    qtbot.addWidget(bare)
    bare.show()
    assert not bare.available and "latents.npz not found" in bare.note_label.text() and not bare.canvas.isVisible()
    bare.set_latent(np.ones(LATENT_DIM, np.float32))
    assert bare.redraws == 0

    no_kl = DistributionWindow(LatentSpace(LATENT_DIM, space.z_mean, space.names))
    qtbot.addWidget(no_kl)
    assert "no KL per dimension" in no_kl.note_label.text()


def test_parse_dimensions():
    assert parse_dimensions("", 8) == (None, "")
    assert parse_dimensions("3, 1 3", 8) == ([3, 1], "")
    assert "whole numbers" in parse_dimensions("two", 8)[1]
    assert "out of range" in parse_dimensions("-1", 8)[1]
    assert "at most" in parse_dimensions(" ".join(str(i) for i in range(13)), 20)[1]


def test_the_windows_shortcuts_work_in_the_distribution_window_and_f1_lists_them(qtbot, window):
    window.commands.distribution_action.trigger()
    dist = window.distribution_window
    assert window.commands.randomize_action in dist.actions() and window.commands.undo_action in dist.actions()
    table = dict(window.commands.shortcut_table())
    assert table["Capture (Your face, camera on)"] == "Space"
    assert table["Undo"] == "Ctrl+Z" and "Alt+Backspace" not in table["Undo"]
