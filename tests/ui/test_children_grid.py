"""Seeds (Randomize's seed box, the same face as `vae.py sample --seed`) and the Children grid dock."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from latentlab.latent import explore
from latentlab.latent.prior import standard_normal
from tests.helpers import LATENT_DIM, shown


def enter_seed(window, seed: int) -> None:
    window.seed_box.clear()
    QTest.keyClicks(window.seed_box, str(seed))
    QTest.keyClick(window.seed_box, Qt.Key.Key_Return)


def test_randomize_shows_its_seed_and_typing_it_gives_the_face_again(window, space):
    window.random_range_box.setValue(0.7)
    window.randomize()
    seed = window.seed_box.seed
    assert seed is not None and window.source_label.text() == f"random seed {seed} (range 0.70)"
    assert window.statusBar().currentMessage() == f"seed {seed}"
    face = window.latent
    assert np.array_equal(face, explore.seeded_latent(space.prior, seed, 0.7))
    window.randomize()
    assert not np.array_equal(window.latent, face)
    steps = window.undo_stack.count()
    enter_seed(window, seed)
    assert np.array_equal(window.latent, face) and window.undo_stack.count() == steps + 1
    window.normal_prior_box.setChecked(True)
    enter_seed(window, 12345)
    assert np.array_equal(window.latent, explore.seeded_latent(standard_normal(LATENT_DIM), 12345, 0.7))
    assert window.source_label.text() == "random N(0, I) seed 12345 (range 0.70)"
    window.seed_box.setText("")
    QTest.keyClick(window.seed_box, Qt.Key.Key_Return)  # nothing typed: nothing happens
    assert window.undo_stack.count() == steps + 2


@pytest.mark.parametrize("prior", ["fitted", "normal"])
def test_the_window_and_vae_py_sample_give_the_same_face_for_a_seed(qtbot, tmp_path, prior):
    """One code path: the same seed, range and prior give the same pixels in the window and on the command line."""
    from latentlab.cli.main import main
    from latentlab.files import weights_fingerprint
    from latentlab.latent.space import LatentSpace
    from latentlab.model.codec import Codec
    from latentlab.ui.window.main_window import MainWindow
    from tests.helpers import write_latents, write_untrained_model

    weights = write_untrained_model(tmp_path)
    latents = write_latents(tmp_path / "latents.npz", [f"{i}.png" for i in range(40)],
                            weights_sha=weights_fingerprint(weights))
    codec = Codec.load(weights)
    window = MainWindow(codec, LatentSpace.load(latents, LATENT_DIM, weights_fingerprint(weights)), cameras=[])
    with shown(qtbot, window, 1400, 850):
        window.random_range_box.setValue(0.8)
        window.normal_prior_box.setChecked(prior == "normal")
        enter_seed(window, 2024)
        assert window.wait_for_frame(20000)
        on_screen = window.shown_image()
    out = tmp_path / "cli"
    assert main(["sample", "--seed", "2024", "--n", "1", "--temperature", "0.8", "--prior", prior,
                 "--latents", str(latents), "--weights", str(weights), "--out-dir", str(out)]) == 0
    written = np.asarray(Image.open(out / "sample_000.png"))
    assert np.array_equal(written, on_screen)


def wait_grid(qtbot, panel):
    qtbot.waitUntil(panel.is_current, timeout=20000)
    return panel.latents


def click_cell(panel, index: int) -> None:
    QTest.mouseClick(panel.grid, Qt.MouseButton.LeftButton, pos=panel.grid.cell_rect(index).center())


def test_a_child_click_is_one_undo_step(qtbot, window):
    children = window.explore.children
    window.randomize()
    parent = window.latent
    window.explore.show_children()
    latents = wait_grid(qtbot, children)
    assert latents.shape == (9, LATENT_DIM) and children.grid.count() == 9
    assert np.allclose(latents, explore.children(window.space.prior, parent, 9, children.spread, children.seed))
    steps = window.undo_stack.count()
    click_cell(children, 4)
    assert np.array_equal(window.latent, latents[4])
    assert window.undo_stack.count() == steps + 1 and window.source.startswith("child 5 of seed")
    window.undo_stack.undo()
    assert np.array_equal(window.latent, parent)
    window.undo_stack.redo()
    assert np.array_equal(window.latent, latents[4])
    # the chosen face gets children of its own, with a new seed
    grown = wait_grid(qtbot, children)
    assert np.allclose(grown, explore.children(window.space.prior, latents[4], 9, children.spread, children.seed))


def test_spread_size_and_reroll(qtbot, window):
    children = window.explore.children
    window.explore.show_children()
    first = wait_grid(qtbot, children).copy()
    seed = children.seed
    window.commands.reroll_action.trigger()
    rerolled = wait_grid(qtbot, children)
    assert children.seed != seed and not np.allclose(rerolled, first)
    children.spread_box.setValue(0.0)
    assert np.allclose(wait_grid(qtbot, children), window.latent)  # spread 0: the face itself
    children.set_size(4)
    assert wait_grid(qtbot, children).shape == (16, LATENT_DIM) and children.grid.count() == 16


def test_the_grid_follows_the_face_once_it_settles_and_not_while_hidden(qtbot, window):
    children = window.explore.children
    window.explore.show_children()
    wait_grid(qtbot, children)
    requested = children._requested
    for _ in range(5):  # a burst of changes: one new grid
        window.randomize()
    latents = wait_grid(qtbot, children)
    assert children._requested == requested + 1
    assert np.allclose(latents, explore.children(window.space.prior, window.latent, 9, children.spread,
                                                 children.seed))
    window.explore.docks[0].hide()
    window.randomize()
    qtbot.wait(2 * 150 + 50)
    assert children._requested == requested + 1 and not children.is_current()
    window.explore.show_children()
    shown_again = wait_grid(qtbot, children)  # shown again: it catches up with the face
    assert np.allclose(shown_again, explore.children(window.space.prior, window.latent, 9, children.spread,
                                                     children.seed))


def test_a_grid_of_random_faces_has_one_seed_each(qtbot, window, space):
    children = window.explore.children
    window.random_range_box.setValue(0.6)
    children.set_mode("random")
    window.explore.show_children()
    latents = wait_grid(qtbot, children)
    assert not children.spread_box.isEnabled()
    seed = children.seed
    assert np.array_equal(latents, explore.seeded_latents(space.prior, range(seed, seed + 9), 0.6))
    click_cell(children, 2)
    assert np.array_equal(window.latent, latents[2])
    assert window.seed_box.seed == seed + 2 and window.source == f"random seed {seed + 2} (range 0.60)"
    window.randomize()
    enter_seed(window, seed + 2)  # the seed shown gives that face again through the seed box
    assert np.array_equal(window.latent, latents[2])
    window.normal_prior_box.setChecked(True)  # Randomize's prior changed: the random grid follows it
    qtbot.waitUntil(lambda: children.is_current() and not np.array_equal(children.latents, latents), timeout=20000)
    assert np.array_equal(children.latents,
                          explore.seeded_latents(standard_normal(LATENT_DIM), range(seed, seed + 9), 0.6))
