"""File > Open Model… and Recent Models: the running window switches to another model (a new window in the same
process, the old one closed); latents made for other weights fall back to raw sliders with a note; a broken choice
changes nothing."""

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QSettings

from latentlab.paths import DATA_DIR
from latentlab.ui.window.models import RECENT_LIMIT, ModelCommands, load_model
from tests.helpers import LATENT_DIM, write_latents, write_untrained_model

POKEMON = DATA_DIR / "examples" / "pokemon" / "vae.weights.h5"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def other_model(tmp_path):
    """An untrained model whose latents.npz beside it was indexed with other weights."""
    weights = write_untrained_model(tmp_path / "other")
    write_latents(weights.parent / "latents.npz", [f"{i:06d}.png" for i in range(12)], weights_sha="feedfacefeedface")
    return weights


def switch(qtbot, window, path):
    with qtbot.waitSignal(window.models.window_opened, timeout=60000) as opened:
        assert window.models.open_model(path) is not None
    return opened.args[0]


def test_open_model_with_mismatched_latents_falls_back_to_raw_sliders_with_a_note(qtbot, window, other_model,
                                                                                  monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))  # the new window's bookmarks
    assert window.space.has_dataset and window.slider_panel.mode == "pca"
    window.resize(1366, 768)
    window.gallery_dock.show()
    new = switch(qtbot, window, other_model)
    try:
        assert new is not window and new.isVisible() and not window.isVisible()
        assert new.codec.weights_path == other_model
        assert not new.space.has_dataset
        assert new.slider_panel.mode == "raw" and not new.commands.raw_action.isEnabled()
        assert "indexed with other weights" in new.space.note
        assert "raw latent sliders" in new.last_model_message and "indexed with other weights" in new.last_model_message
        assert "indexed with other weights" in new.model_label.text()
        assert not new.attributes_panel.available  # attributes.npz: the shipped one is for other weights
        assert new.size() == window.size() and new.gallery_dock.isVisible()  # the old place, size and docks
        assert not new.sliders_dock.visibleRegion().isEmpty()  # in front: no attributes for this model
        assert new.wait_for_frame(20000)
        assert new.shown_image().shape == (new.codec.image_size,) * 2 + (3,)
        assert new.models.recent_models()[0] == other_model.resolve()
        new.randomize()  # the new window works on its own model
        assert new.latent.shape == (new.codec.latent_dim,)
        qtbot.waitUntil(lambda: new.bookmarks.store is not None, timeout=20000)
        assert new.bookmarks.store.persistent and len(new.bookmarks.store) == 0
        # a second switch: the window the first one opened is closed and deleted (its model freed)
        third = switch(qtbot, new, other_model)
        qtbot.waitUntil(lambda: not shiboken6.isValid(new), timeout=10000)
        new = third
        assert third.isVisible() and third.codec.weights_path == other_model
    finally:
        new.close()


def test_a_weights_file_without_model_json_or_missing_changes_nothing(qtbot, window, tmp_path):
    lone = write_untrained_model(tmp_path / "lone")
    (lone.parent / "model.json").unlink()
    before, steps = window.latent, window.undo_stack.count()
    for path, said in ((lone, "model.json"), (tmp_path / "nothing.weights.h5", "not found"), (tmp_path, "folder")):
        with qtbot.waitSignal(window.statusBar().messageChanged,
                              timeout=30000, check_params_cb=lambda text, s=said: s in text):
            window.models.open_model(path)
        assert said in window.last_error and "the model in use is kept" in window.last_error
        assert window.isVisible() and window.models.loading is None
    np.testing.assert_array_equal(window.latent, before)
    assert window.undo_stack.count() == steps and window.codec.latent_dim == LATENT_DIM


def test_no_switch_while_an_export_is_running(window, tmp_path):
    window.files.export_task = object()  # as while an export runs
    try:
        assert window.models.open_model(tmp_path / "x.weights.h5") is None
        assert "an animation export is running" in window.last_error
    finally:
        window.files.export_task = None


def test_recent_models_in_settings(qtbot, window, settings, tmp_path):
    models = ModelCommands(window, settings)
    files = []
    for i in range(RECENT_LIMIT + 2):
        path = tmp_path / f"m{i}" / "vae.weights.h5"
        path.parent.mkdir()
        path.write_bytes(b"x")
        files.append(path)
        models.remember(path)
    models.remember(files[5])  # again: moves to the front, not listed twice
    recent = models.recent_models()
    assert recent[0] == files[5].resolve() and len(recent) == RECENT_LIMIT and len(set(recent)) == RECENT_LIMIT
    files[9].unlink()
    assert files[9].resolve() not in ModelCommands(window, settings).recent_models()  # read back from the settings
    models.fill_recent_menu()
    texts = [a.text() for a in models.recent_menu.actions() if a.text()]
    assert texts[0].startswith("&1 ") and "m5" in texts[0] and texts[-1] == "Clear Recent Models"
    models.clear_recent()
    assert models.recent_models() == []


def test_open_model_is_in_the_file_menu(window):
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert "Open &Model…" in texts and "Recent &Models" in texts and "Export Book&marks…" in texts


@pytest.mark.skipif(not POKEMON.is_file(), reason="the pokemon example model is not in data/examples/pokemon")
def test_the_pokemon_example_loads_with_its_own_latents():
    loaded = load_model(POKEMON)
    assert loaded.codec.image_size == 64 and loaded.codec.latent_dim == 64
    assert loaded.space.has_dataset and len(loaded.space) == 264 and loaded.note == ""
    assert loaded.attributes is None and loaded.judge is None
    image = loaded.codec.decode(loaded.space.latent(0))
    assert image.shape == (64, 64, 3) and 0.0 <= image.min() and image.max() <= 1.0
