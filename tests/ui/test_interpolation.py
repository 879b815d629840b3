"""Interpolation: A and B from faces or dataset images, t in [0, 1], playback, GIF export."""

import numpy as np
import pytest


@pytest.fixture
def a_and_b(window, space):
    window.indexer.choose(2)
    window.commands.set_a_action.trigger()
    window.dataset.set_endpoint_from_index("B", 9)
    return space.latent(2), space.latent(9)


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_t_zero_and_one_give_a_and_b(qtbot, window, space, a_and_b, method):
    a, b = a_and_b
    panel = window.interpolation
    panel.set_method(method)
    panel.set_t(1.0)
    assert np.allclose(window.latent, b, atol=1e-5)
    panel.set_t(0.0)
    assert np.allclose(window.latent, a, atol=1e-5)
    panel.set_t(0.25)
    assert np.allclose(window.latent, space.interpolate(a, b, 0.25, method), atol=1e-6)
    assert window.source == f"blend A→B, t = 0.25 ({method})"
    assert panel.endpoint_labels["B"].text() == "dataset #9 (000009.png)"
    qtbot.waitUntil(lambda: not panel.thumbnails["A"].pixmap().isNull(), timeout=10000)  # decoded off the UI thread
    qtbot.waitUntil(lambda: not panel.thumbnails["B"].pixmap().isNull(), timeout=10000)


def test_setting_an_endpoint_from_the_current_face_moves_t_to_it(window, a_and_b):
    window.indexer.choose(9)
    window.commands.set_b_action.trigger()
    assert window.interpolation.t == 1.0 and window.interpolation.t_label.text() == "t = 1.00"
    window.commands.set_a_action.trigger()
    assert window.interpolation.t == 0.0 and window.interpolation.t_label.text() == "t = 0.00"


def test_a_sweep_of_t_is_one_undo_step(window, a_and_b):
    before = window.latent
    count = window.undo_stack.count()
    for t in np.linspace(0.1, 0.9, 9):
        window.interpolation.set_t(t)
    assert window.undo_stack.count() == count + 1
    window.commands.undo_action.trigger()
    assert np.array_equal(window.latent, before)


def test_play_animates_and_pause_stops(qtbot, window, a_and_b):
    panel = window.interpolation
    panel.duration_box.setValue(1.0)
    seen = set()
    window.latent_changed.connect(lambda z: seen.add(round(panel.t, 2)))
    window.commands.play_action.trigger()
    assert panel.is_playing() and panel.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: len(seen) >= 4, timeout=5000)
    window.commands.play_action.trigger()
    assert not panel.is_playing()
    window.commands.randomize_action.trigger()
    assert not panel.is_playing()


def test_other_controls_stop_playback(window, a_and_b):
    window.commands.play_action.trigger()
    assert window.interpolation.is_playing()
    window.commands.reset_action.trigger()
    assert not window.interpolation.is_playing()


def test_export_writes_a_readable_gif(qtbot, window, tmp_path, a_and_b):
    import imageio.v3 as iio

    window.interpolation.duration_box.setValue(1.0)
    task = window.files.export_animation(tmp_path / "ab.gif")
    assert window.files.export_task is task  # running in the background: the call returned at once
    qtbot.waitUntil(lambda: window.files.export_task is None, timeout=30000)
    path = tmp_path / "ab.gif"
    assert window.statusBar().currentMessage() == f"wrote 20 frames to {path}"
    frames = iio.imread(path, index=None)
    assert frames.shape[0] == 20 and frames.shape[1:3] == (256, 256)
    assert not np.array_equal(frames[0], frames[10])  # A and B differ
    assert window.files.export_animation(tmp_path / "ab.webm") is None
    assert ".gif or .mp4" in window.last_error


def test_export_and_play_need_a_and_b(window, tmp_path):
    assert not window.interpolation.t_slider.isEnabled()
    assert window.files.export_animation(tmp_path / "ab.gif") is None
    assert "Set A and B first" in window.last_error
    window.commands.play_action.trigger()
    assert not window.interpolation.is_playing()
    assert not (tmp_path / "ab.gif").exists()


def test_a_cancelled_export_leaves_no_file(qtbot, window, tmp_path, a_and_b):
    window.interpolation.duration_box.setValue(20.0)  # 400 frames: long enough to cancel midway
    out = tmp_path / "exports"
    out.mkdir()
    window.files.export_animation(out / "long.gif").cancel()
    qtbot.waitUntil(lambda: window.files.export_task is None, timeout=30000)
    assert list(out.iterdir()) == []
    assert window.statusBar().currentMessage() == "export cancelled: nothing was written"


def test_export_action_asks_for_a_file_and_adds_the_chosen_suffix(qtbot, window, tmp_path, a_and_b, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    out = tmp_path / "exports"
    out.mkdir()
    window.interpolation.duration_box.setValue(0.5)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(out / "loop"), "Animated GIF (*.gif)"))
    window.commands.export_action.trigger()
    qtbot.waitUntil(lambda: window.files.export_task is None, timeout=30000)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: ("", ""))  # cancelled
    window.commands.export_action.trigger()
    assert window.files.export_task is None
    assert [p.name for p in out.iterdir()] == ["loop.gif"]
