"""The Strips dock (7 faces from a slider's -end to its +end, following the face, exported as PNG) and the Mixing
dock (the first k principal components from A, the rest from B)."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from latentlab.latent import explore
from latentlab.latent.directions import fit_directions, split_mask
from tests.helpers import LATENT_DIM, shown

NAMES = ["Smiling", "Male", "Eyeglasses"]


@pytest.fixture
def directions(space):
    rng = np.random.default_rng(3)
    planted = rng.standard_normal((len(NAMES), LATENT_DIM))
    z = space.z_mean.astype(np.float32)
    logits = (z - z.mean(0)) @ planted.T + 0.3 * rng.standard_normal((len(z), len(NAMES)))
    labels = np.where(logits > np.median(logits, axis=0), 1, -1).astype(np.int8)
    train, val, _ = split_mask(space.names, None, val_fraction=0.3)
    return fit_directions(z, labels, NAMES, train, val)[0]


@pytest.fixture
def attr_window(qtbot, tiny_codec, space, directions):
    from latentlab.ui.window.main_window import MainWindow

    window = MainWindow(tiny_codec, space, rng=np.random.default_rng(7), attributes=directions, cameras=[])
    with shown(qtbot, window, 1400, 850):
        yield window


def wait_strip(qtbot, strips):
    qtbot.waitUntil(strips.is_current, timeout=20000)
    return strips.latents.copy()


def test_strip_ends_equal_the_sliders_ends(qtbot, attr_window):
    window, strips = attr_window, attr_window.explore.strips
    window.randomize()
    window.explore.show_strips()
    strips.set_target("slider", 2)
    strip = wait_strip(qtbot, strips)
    assert strip.shape == (7, LATENT_DIM) and strips.strip.count() == 7
    extent = window.slider_panel.range_box.value()
    for end, value in ((0, -extent), (-1, extent)):
        window.slider_panel.set_value(2, value)  # the slider at its end, as a user would drag it
        assert np.allclose(window.latent, strip[end], atol=1e-6)
        window.undo_stack.undo()
    window.slider_panel.range_box.setValue(1.5)  # a new range: the strip spans it
    strip = wait_strip(qtbot, strips)
    window.slider_panel.set_value(2, 1.5)
    assert np.allclose(window.latent, strip[-1], atol=1e-6)
    window.undo_stack.undo()
    assert strips.strip.captions()[0] == "-1.5σ"

    strips.set_target("attribute", 1)
    window.attributes_panel.set_held("Smiling")
    strip = wait_strip(qtbot, strips)
    for end, value in ((0, -3.0), (-1, 3.0)):
        window.attributes_panel.set_target("Male", value)
        assert np.allclose(window.latent, strip[end], atol=1e-6)
        window.undo_stack.undo()
    scores = directions_scores(window, strip)
    assert np.allclose(scores[:, 1], np.linspace(-3, 3, 7), atol=1e-3)
    assert np.allclose(scores[:, 0], scores[0, 0], atol=1e-3)  # Smiling held along the strip


def directions_scores(window, latents):
    return window.attributes_panel.directions.standardized_scores(latents)


def test_the_strip_follows_the_face_and_the_row_under_the_mouse(qtbot, attr_window, space):
    window, strips = attr_window, attr_window.explore.strips
    window.explore.show_strips()
    wait_strip(qtbot, strips)
    QApplication.sendEvent(window.slider_panel.sliders[4], QEvent(QEvent.Type.Enter))
    assert strips.target == ("slider", 4)
    QApplication.sendEvent(window.attributes_panel.name_labels[2], QEvent(QEvent.Type.Enter))
    assert strips.target == ("attribute", 2) and strips.target_name() == "Eyeglasses"
    strips.follow_box.setChecked(False)
    QApplication.sendEvent(window.slider_panel.sliders[1], QEvent(QEvent.Type.Enter))
    assert strips.target == ("attribute", 2)
    strips.set_target("slider", 0)
    for _ in range(4):
        window.randomize()
    strip = wait_strip(qtbot, strips)
    extent = window.slider_panel.range_box.value()
    assert np.allclose(strip, explore.component_strip(space, window.latent, 0, extent), atol=1e-6)
    steps = window.undo_stack.count()
    strips.choose(6)  # a strip face clicked: the current face, one undo step
    assert np.array_equal(window.latent, strip[6]) and window.undo_stack.count() == steps + 1
    window.set_raw_sliders(True)
    assert strips.target_name() == "dim 1"
    strip = wait_strip(qtbot, strips)
    assert np.allclose(strip[:, 0], np.linspace(-extent, extent, 7), atol=1e-6)


def test_export_a_strip_and_a_grid_of_strips(qtbot, window, tmp_path):
    strips = window.explore.strips
    window.explore.show_strips()
    wait_strip(qtbot, strips)
    one = tmp_path / "strip.png"
    with qtbot.waitSignal(strips.status, timeout=20000) as said:
        strips.export_strip(one)
    assert "wrote the strip of PC 1" in said.args[0]
    assert np.asarray(Image.open(one)).shape == (32 + 4, 7 * 34 + 2, 3)
    grid = tmp_path / "grid.png"
    with qtbot.waitSignal(strips.status, timeout=20000):
        strips.export_components(grid, 3)
    pixels = np.asarray(Image.open(grid))
    assert pixels.shape == (3 * 34 + 2, 7 * 34 + 2, 3)
    assert np.array_equal(pixels[:36], np.asarray(Image.open(one)))  # its first row is the strip of PC 1
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    with qtbot.waitSignal(strips.status, timeout=20000) as said:
        strips.export_strip(blocker / "strip.png")
    assert said.args[0].startswith("export failed")


def test_mixing_with_k_0_is_b_and_k_all_is_a(qtbot, window, space):
    mixing = window.explore.mixing
    window.explore.show_mixing()
    assert not mixing.k_slider.isEnabled()
    window.dataset.show_dataset_image(3)
    window.dataset.capture_endpoint("A")
    window.dataset.show_dataset_image(11)
    window.dataset.capture_endpoint("B")
    a, b = space.latent(3), space.latent(11)
    assert mixing.ready and mixing.k_slider.isEnabled()
    steps = window.undo_stack.count()
    mixing.set_k(0)
    assert np.array_equal(window.latent, b)
    mixing.set_k(LATENT_DIM)
    assert np.array_equal(window.latent, a)
    mixing.set_k(3)
    assert np.allclose(window.latent, explore.mix_components(space, a, b, 3))
    assert window.undo_stack.count() == steps + 3 and "components 1–3 of A" in window.source
    qtbot.waitUntil(lambda: mixing.latents is not None, timeout=20000)
    assert np.array_equal(mixing.latents[0], b) and np.array_equal(mixing.latents[-1], a)
    assert mixing.grid.captions()[0] == "k = 0"
    mixing.grid.clicked.emit(len(mixing.ks) - 1)
    assert mixing.k == LATENT_DIM and np.array_equal(window.latent, a)


def test_export_asks_where_offering_a_name(qtbot, window, tmp_path, monkeypatch):
    from latentlab.ui import settings

    asked = []

    def ask(parent, kind, title, filters, name=""):
        asked.append((kind, name))
        return tmp_path / "chosen.png"

    monkeypatch.setattr(settings, "ask_save_path", ask)
    window.explore.show_strips()
    wait_strip(qtbot, window.explore.strips)
    with qtbot.waitSignal(window.explore.strips.status, timeout=20000):
        window.explore.strips.export_button.click()
    assert asked == [("strips", "strip-PC1.png")] and (tmp_path / "chosen.png").is_file()
    monkeypatch.setattr(settings, "ask_save_path", lambda *args: None)  # cancelled: nothing written
    assert window.explore.strips.export_components() is None
