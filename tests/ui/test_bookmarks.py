"""Bookmarks: the per-model store (kept across restarts, another model's refused and kept), the Gallery dock in the real
window (star, go back as one undo step, restart, export), all in a temporary application-data folder."""

import shutil

import numpy as np
import pytest
from PIL import Image

from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.ui.bookmarks import BOOKMARKS_FILE, THUMBNAIL_SIZE, BookmarkStore, default_folder, short_name
from tests.helpers import LATENT_DIM, shown, write_untrained_model


@pytest.fixture
def app_data(tmp_path, monkeypatch, qapp):
    """A temporary application-data folder (QStandardPaths.AppDataLocation follows XDG_DATA_HOME)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    folder = default_folder()
    assert str(folder).startswith(str(tmp_path / "appdata"))
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two untrained tiny models with weights files (different fingerprints)."""
    root = tmp_path_factory.mktemp("bookmark_models")
    a = write_untrained_model(root / "a")
    b = write_untrained_model(root / "b", widths=(8, 8))
    assert weights_fingerprint(a) != weights_fingerprint(b)
    return a, b


def picture(value: int, size: int = 32) -> np.ndarray:
    return np.full((size, size, 3), value, np.uint8)


def test_store_survives_reopening_and_keeps_names_latents_thumbnails(tmp_path):
    store = BookmarkStore(tmp_path, "aaaa", LATENT_DIM)
    z1, z2 = np.arange(LATENT_DIM, dtype=np.float32), -np.ones(LATENT_DIM, np.float32)
    first = store.add(z1, picture(10), "dataset #3 (000003.png)", dataset_index=3)
    second = store.add(z2, picture(200), "random (range 1.00)", name="my favourite")
    assert first.name == "dataset #3" and second.name == "my favourite"
    assert first.thumbnail.shape == (THUMBNAIL_SIZE, THUMBNAIL_SIZE, 3)
    store.rename(first.key, "renamed")
    assert (tmp_path / "aaaa" / BOOKMARKS_FILE).is_file()

    again = BookmarkStore(tmp_path, "aaaa", LATENT_DIM)
    assert [b.name for b in again.bookmarks] == ["renamed", "my favourite"]
    np.testing.assert_array_equal(again.bookmarks[0].z, z1)
    np.testing.assert_array_equal(again.bookmarks[1].z, z2)
    assert again.bookmarks[0].dataset_index == 3 and again.bookmarks[0].source == "dataset #3 (000003.png)"
    assert int(again.bookmarks[1].thumbnail.mean()) == 200
    again.remove(first.key)
    assert [b.name for b in BookmarkStore(tmp_path, "aaaa", LATENT_DIM).bookmarks] == ["my favourite"]


def test_store_refuses_bad_input_and_changes_nothing(tmp_path):
    store = BookmarkStore(tmp_path, "aaaa", LATENT_DIM)
    store.add(np.zeros(LATENT_DIM), picture(1), "average face")
    before = (tmp_path / "aaaa" / BOOKMARKS_FILE).read_bytes()
    with pytest.raises(UserError, match="finite"):
        store.add(np.full(LATENT_DIM, np.nan), picture(1), "x")
    with pytest.raises(UserError, match=f"{LATENT_DIM} finite"):
        store.add(np.zeros(LATENT_DIM + 1), picture(1), "x")
    with pytest.raises(UserError, match="needs a name"):
        store.rename(store.bookmarks[0].key, "   ")
    assert len(store) == 1 and (tmp_path / "aaaa" / BOOKMARKS_FILE).read_bytes() == before


def test_another_models_bookmarks_are_not_offered_and_not_lost(tmp_path):
    theirs = BookmarkStore(tmp_path, "aaaa", LATENT_DIM)
    theirs.add(np.ones(LATENT_DIM), picture(5), "dataset #1")
    assert len(BookmarkStore(tmp_path, "bbbb", LATENT_DIM)) == 0  # another model's folder

    # their file copied into this model's folder by hand: refused, with a note, and kept when this model saves
    (tmp_path / "bbbb").mkdir()
    shutil.copy(tmp_path / "aaaa" / BOOKMARKS_FILE, tmp_path / "bbbb" / BOOKMARKS_FILE)
    mine = BookmarkStore(tmp_path, "bbbb", LATENT_DIM)
    assert len(mine) == 0 and "other weights" in mine.note
    mine.add(np.zeros(LATENT_DIM), picture(9), "average face")
    kept = list((tmp_path / "bbbb").glob("bookmarks-refused-*.npz"))
    assert len(kept) == 1
    assert len(BookmarkStore(tmp_path, "bbbb", LATENT_DIM)) == 1
    assert len(BookmarkStore(tmp_path, "aaaa", LATENT_DIM)) == 1
    # the same fingerprint but another latent size (a damaged or edited file) is refused too
    assert "shape" in BookmarkStore(tmp_path, "aaaa", LATENT_DIM + 2).note


def test_short_names():
    assert short_name("dataset #17 (000018.jpg)") == "dataset #17"
    assert short_name("random (range 1.00)") == "random"
    assert short_name("") == "face"


def open_window(qtbot, weights):
    from latentlab.latent.space import LatentSpace
    from latentlab.model.codec import Codec
    from latentlab.ui.window.main_window import MainWindow

    codec = Codec.load(weights)
    window = MainWindow(codec, LatentSpace(codec.latent_dim), rng=np.random.default_rng(3))
    qtbot.waitUntil(lambda: window.bookmarks.store is not None, timeout=20000)
    return window


def test_bookmarks_survive_a_restart_and_refuse_another_model(qtbot, app_data, models):
    weights_a, weights_b = models
    window = open_window(qtbot, weights_a)
    with shown(qtbot, window, 1366, 768):
        window.randomize()
        assert window.wait_for_frame()
        starred = window.latent
        window.commands.bookmark_action.trigger()
        qtbot.waitUntil(lambda: len(window.bookmarks.store) == 1, timeout=10000)
        assert window.gallery_dock.isVisible()
        assert window.gallery_panel.keys() == [window.bookmarks.store.bookmarks[0].key]
        assert (app_data / weights_fingerprint(weights_a) / BOOKMARKS_FILE).is_file()
    window.close()

    # a new window on the same weights (a restart): the bookmark is offered, and going to it is one undo step
    again = open_window(qtbot, weights_a)
    with shown(qtbot, again, 1366, 768):
        keys = again.gallery_panel.keys()
        assert len(keys) == 1
        before, steps = again.latent, again.undo_stack.count()
        again.gallery_panel.select(keys[0])
        again.gallery_panel.go_button.click()
        np.testing.assert_array_equal(again.latent, starred)
        assert again.source.startswith("bookmark “random")
        assert again.undo_stack.count() == steps + 1
        again.undo_stack.undo()
        np.testing.assert_array_equal(again.latent, before)
    again.close()

    # another model: none of the first model's bookmarks
    other = open_window(qtbot, weights_b)
    with shown(qtbot, other, 1366, 768):
        assert other.gallery_panel.keys() == [] and len(other.bookmarks.store) == 0
    other.close()


def test_rename_delete_and_export_from_the_gallery(qtbot, app_data, models, tmp_path):
    window = open_window(qtbot, models[0])
    with shown(qtbot, window, 1366, 768):
        commands = window.bookmarks
        commands.bookmark_face()
        window.randomize()
        assert window.wait_for_frame()
        commands.bookmark_face(name="second one")
        qtbot.waitUntil(lambda: len(commands.store) == 2, timeout=10000)
        first, second = commands.store.bookmarks
        assert first.name == "average face"

        window.gallery_panel.rename_requested.emit(first.key, "Mean face")
        assert commands.store.get(first.key).name == "Mean face"
        assert window.gallery_panel.list.item(0).text() == "Mean face"

        out = tmp_path / "export"
        with qtbot.waitSignal(window.statusBar().messageChanged, timeout=20000,
                              check_params_cb=lambda text: text.startswith("exported")):
            assert commands.export_all(out) is not None
        pngs, npys = sorted(out.glob("*.png")), sorted(out.glob("*.npy"))
        assert [p.name for p in pngs] == ["01-mean-face.png", "02-second-one.png"]
        assert [p.name for p in npys] == ["01-mean-face.npy", "02-second-one.npy"]
        size = window.codec.image_size
        assert np.asarray(Image.open(pngs[1])).shape == (size, size, 3)
        np.testing.assert_array_equal(np.load(npys[1]), second.z)
        assert window.files.load_latent(npys[1])  # File > Open Latent reads an exported bookmark
        np.testing.assert_array_equal(window.latent, second.z)

        assert commands.remove(second.key, confirm=False)
        assert window.gallery_panel.keys() == [first.key]
        assert len(BookmarkStore(app_data, weights_fingerprint(models[0]), LATENT_DIM)) == 1
    window.close()


def test_an_in_memory_model_keeps_bookmarks_for_the_session_only(window, qtbot):
    qtbot.waitUntil(lambda: window.bookmarks.store is not None, timeout=20000)
    assert not window.bookmarks.store.persistent
    window.bookmarks.bookmark_face()
    qtbot.waitUntil(lambda: len(window.bookmarks.store) == 1, timeout=10000)
    assert "bookmarks last until the window closes" in window.gallery_panel.note_label.text()
    window.bookmarks.remove(window.bookmarks.store.bookmarks[0].key, confirm=False)
    assert window.bookmarks.export_all("unused") is None
    assert "no bookmarks to export" in window.last_error


def test_the_window_with_the_gallery_and_every_dock_open_fits_1366x768(window):
    window.show_gallery()
    window.show_face_panel()
    window.sliders_dock.show()
    window.attributes_dock.show()
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768 - 32  # room for a title bar
