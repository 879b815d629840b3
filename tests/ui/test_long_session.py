"""The window at the product's real size (256 latent sliders, 40 attributes with the judge's probabilities) survives a
long session and fits a laptop screen with every dock open."""

import gc
import sys

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLabel

from latentlab.eval.judge import Judge, JudgeConfig, build_judge
from latentlab.latent.directions import AttributeDirections
from latentlab.model.config import ModelConfig
from tests.helpers import shown, write_latents

LATENT_DIM = 256
N_ATTRIBUTES = 40
FACE_CHANGES = 1000
NONE_REFERENCES_LOST_AT_MOST = 300  # a binding that drops one per Qt call loses ~100,000 over this session


@pytest.fixture(scope="module")
def codec_256():
    from latentlab.model.codec import Codec
    from latentlab.model.vae import build_vae

    return Codec(build_vae(ModelConfig(image_size=32, latent_dim=LATENT_DIM, widths=(8, 16), bottleneck_channels=8)))


@pytest.fixture
def big_window(qtbot, tmp_path, codec_256):
    from latentlab.latent.space import LatentSpace
    from latentlab.ui.window.main_window import MainWindow

    names = [f"{i:06d}.png" for i in range(300)]
    photos = tmp_path / "photos"
    photos.mkdir()
    pixels = np.random.default_rng(2).integers(0, 256, (218, 178, 3), dtype=np.uint8)
    for name in names[:40]:  # enough for every neighbour shown to have its original
        Image.fromarray(pixels).save(photos / name)
    space = LatentSpace.load(write_latents(tmp_path / "latents.npz", names, LATENT_DIM), LATENT_DIM)
    rng = np.random.default_rng(5)
    directions = rng.standard_normal((N_ATTRIBUTES, LATENT_DIM)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    scores = space.z_mean.astype(np.float32) @ directions.T
    attributes = AttributeDirections([f"Attribute_{i}" for i in range(N_ATTRIBUTES)], directions, scores.mean(0),
                                     scores.std(0), "mean_diff")
    judge_config = JudgeConfig(names=tuple(attributes.names), image_size=16, widths=(4, 8), strides=(2, 2))
    window = MainWindow(codec_256, space, data_dir=photos, rng=np.random.default_rng(1), attributes=attributes,
                        cameras=[], judge=Judge(build_judge(judge_config), judge_config))
    with shown(qtbot, window, 1366, 768):
        yield window


def test_a_thousand_mixed_face_changes_leave_the_window_working(qtbot, big_window):
    window = big_window
    rng = np.random.default_rng(0)
    panel = window.attributes_panel
    gc.collect()  # garbage of earlier tests, freed during this one, would drop references to None
    none_before = sys.getrefcount(None)
    for i in range(FACE_CHANGES):
        kind = i % 5
        if kind == 0:
            window.randomize()
        elif kind == 1:
            window.slider_panel.set_value(int(rng.integers(12)), float(rng.uniform(-2, 2)))
        elif kind == 2:
            window.attributes_panel.set_target(panel.names[int(rng.integers(8))], float(rng.uniform(-2, 2)))
        elif kind == 3:
            window.commands.undo_action.trigger()
        else:
            window.commands.redo_action.trigger()
        if i % 25 == 0:
            qtbot.wait(1)  # let frames arrive, as they do between a user's moves
    assert window.wait_for_frame(20000)
    gc.collect()
    assert sys.getrefcount(None) >= none_before - NONE_REFERENCES_LOST_AT_MOST
    coordinates = window.space.coordinates(window.latent, "pca")
    assert window.slider_panel.value_of(0) == pytest.approx(np.clip(coordinates[0], -3, 3), abs=0.01)
    assert window.slider_panel.value_labels[0].text() == f"{coordinates[0]:+.2f}"
    assert np.allclose(panel.scores(), window.attributes_panel.directions.standardized_scores(window.latent))
    qtbot.waitUntil(lambda: np.array_equal(panel._judged_z, window.latent), timeout=20000)
    np.testing.assert_allclose(panel.probabilities(), panel.judge.probabilities(window.shown_image()[None])[0],
                               atol=1e-6)


def test_rows_out_of_view_follow_when_scrolled_to(qtbot, big_window):
    window = big_window
    window.sliders_dock.raise_()
    window.randomize()
    last = LATENT_DIM - 1
    value = window.space.coordinates(window.latent, "pca")[last]
    scroll = window.slider_panel.scroll
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    assert window.slider_panel.value_labels[last].text() == f"{value:+.2f}"
    assert window.slider_panel.sliders[last].value() == round(np.clip(value / 3.0, -1, 1) * 1000)


def visible_rect(widget, window) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


@pytest.mark.parametrize("size", [(1280, 720), (1366, 768)])
def test_every_dock_fits_a_laptop_screen(qtbot, big_window, size):
    window = big_window
    window.show_face_panel()
    window.face_panel.align_check.setChecked(False)
    window.set_latent(window.space.latent(0), "near the first photos")
    window.face_panel.open_photo(window.dataset.data_dir / "000000.png")  # neighbours with originals: the tallest panel
    qtbot.waitUntil(lambda: window.face_panel.last_match is not None, timeout=20000)
    photo = np.full((218, 178, 3), 128, np.uint8)
    window.set_latent(window.space.latent(3), "dataset #3 (000003.png)", photo, "Original · 000003.png")
    window.sliders_dock.show()
    window.attributes_dock.show()
    hint = window.attributes_panel.side_effect_hint
    hint.show_side_effect("Attribute 12", 2.0, "Attribute 37", 0.81, 0.2, window.latent)  # the widest line
    window.resize(*size)
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 700
    assert (window.width(), window.height()) == size, "opening a dock never grows the window"
    views = [window.stage.decoded_view, window.stage.original_view, window.face_panel.preview,
             window.face_panel.input_view, window.face_panel.reconstruction_view]
    rects = [visible_rect(v, window) for v in views if v.isVisible()]
    assert len(rects) == 5
    assert hint.isVisible() and window.attributes_panel.rect().contains(visible_rect(hint.hold_button,
                                                                                     window.attributes_panel))
    for i, a in enumerate(rects):
        assert window.rect().contains(a)
        for b in rects[i + 1:]:
            assert not a.intersects(b)
    for caption in [window.stage.decoded_caption, window.stage.original_caption,
                    *window.face_panel.findChildren(QLabel)]:
        if caption.isVisible() and caption.text() and not caption.wordWrap():
            assert caption.width() >= caption.sizeHint().width(), caption.text()
