"""The dataset indexer: reconstructions of dataset images, originals beside them, bad input refused."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.helpers import LATENT_DIM, N_IMAGES


def type_index(qtbot, indexer, text):
    indexer.spin.lineEdit().selectAll()
    qtbot.keyClicks(indexer.spin.lineEdit(), text)
    qtbot.keyClick(indexer.spin, Qt.Key.Key_Return)


def test_choosing_an_image_shows_its_reconstruction_and_original(qtbot, window, space):
    type_index(qtbot, window.indexer, "12")
    assert np.array_equal(window.latent, space.latent(12))
    assert window.source == "dataset #12 (000012.png)"
    assert window.indexer.name_label.text() == "000012.png"
    assert window.stage.original_box.isVisibleTo(window)
    assert window.stage.original_view.qimage().width() == 40  # the centre crop of the 40 x 48 photo
    assert window.stage.original_caption.text() == "Original · 000012.png"
    assert window.wait_for_frame(10000)


@pytest.mark.parametrize("text, hint", [
    ("-1", "-1 is out of range: enter a whole number from 0 to 29"),
    ("30", "30 is out of range"),
    ("99999999999", "out of range"),
    ("abc", "“abc” is not an index"),
    ("", "no index given"),
])
def test_invalid_entries_are_refused_with_a_hint(qtbot, window, text, hint):
    window.indexer.choose(5)
    latent = window.latent
    assert not window.indexer.submit_text(text)
    assert hint in window.indexer.hint()
    assert np.array_equal(window.latent, latent)
    if text:
        type_index(qtbot, window.indexer, text)
        assert hint in window.indexer.hint()
        assert window.indexer.index == 5 and np.array_equal(window.latent, latent)
    assert window.dataset.show_dataset_image(N_IMAGES) is False


def test_previous_next_wrap_and_random_and_nearest(qtbot, window, space):
    window.indexer.choose(0)
    window.commands.previous_action.trigger()
    assert window.indexer.index == N_IMAGES - 1
    window.commands.next_action.trigger()
    assert window.indexer.index == 0 and window.indexer.hint() == ""
    window.commands.random_image_action.trigger()
    chosen = window.indexer.index
    assert np.array_equal(window.latent, space.latent(chosen))
    window.set_latent(space.latent(17) + 0.01, "near 17")
    window.commands.nearest_action.trigger()
    assert window.indexer.index == 17 and window.source == "dataset #17 (000017.png)"


def test_editing_a_dataset_face_keeps_its_original(window):
    window.indexer.choose(3)
    window.slider_panel.set_value(0, -2.5)
    assert window.source == "dataset #3 (000003.png), edited"
    assert window.stage.original_box.isVisibleTo(window)
    window.randomize()
    assert not window.stage.original_box.isVisibleTo(window)


def test_without_a_photo_folder_only_the_reconstruction_is_shown(qtbot, tiny_codec, space):
    from latentlab.ui.window.main_window import MainWindow

    window = MainWindow(tiny_codec, space, data_dir=None, rng=0)
    qtbot.addWidget(window)
    window.indexer.choose(4)
    assert np.array_equal(window.latent, space.latent(4))
    assert not window.stage.original_box.isVisibleTo(window)
    window.shutdown()


def test_without_dataset_latents_the_indexer_is_off_with_a_note(qtbot, tiny_codec):
    from latentlab.latent.space import LatentSpace
    from latentlab.ui.window.main_window import MainWindow

    space = LatentSpace.open("missing/latents.npz", LATENT_DIM)
    window = MainWindow(tiny_codec, space, rng=0)
    qtbot.addWidget(window)
    assert not window.indexer.spin.isEnabled() and not window.commands.next_action.isEnabled()
    assert "python vae.py index --data DIR" in window.indexer.note_label.text()
    assert not window.indexer.submit_text("3")
    assert window.slider_panel.mode == "raw" and not window.slider_panel.raw_toggle.isEnabled()
    window.reset()
    assert not window.latent.any() and window.source == "zero latent"
    window.shutdown()


def test_enter_on_the_number_shown_shows_that_image_again(qtbot, window, space):
    type_index(qtbot, window.indexer, "0")  # at start the box is blank: the face is the average face
    assert np.array_equal(window.latent, space.latent(0)) and window.indexer.index == 0
    type_index(qtbot, window.indexer, "12.5")
    assert "not an index" in window.indexer.hint()
    window.slider_panel.set_value(0, 1.0)
    assert window.indexer.index is None and window.indexer.spin.text() == "–", "an edited face is no dataset image"
    type_index(qtbot, window.indexer, "0")
    assert np.array_equal(window.latent, space.latent(0)) and window.indexer.hint() == ""
    count = window.undo_stack.count()
    type_index(qtbot, window.indexer, "0")
    assert window.undo_stack.count() == count + 1, "Enter on the number shown picks the image once"
