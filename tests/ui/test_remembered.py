"""What the window remembers (a temporary settings file, never the user's): geometry and docks across a restart, the
last folder of each dialog and sensible default names; Export Animation's progress covering the encoding; a
neighbour click in Your face setting the Dataset box, with Next going on from it."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402

from latentlab.ui import settings  # noqa: E402
from latentlab.ui.window.files import blend_name, face_name  # noqa: E402
from tests.helpers import shown  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_memory():
    settings.install(None)
    yield
    settings.install(None)


@pytest.fixture
def settings_file(tmp_path):
    """A temporary settings file installed as the app's (what latentlab.ui.app does with the user's)."""
    path = tmp_path / "settings" / "latentlab.ini"
    store = QSettings(str(path), QSettings.Format.IniFormat)
    settings.install(store)
    return store


def test_default_names_say_what_the_face_is():
    assert face_name("face", "dataset #123 (000124.jpg)", 123) == "face-dataset-123"
    assert face_name("face", "photo: me.jpg") == "face-me"
    assert face_name("face", "average face") == "average-face"
    assert face_name("latent", "random (range 1.00), edited") == "latent-random-edited"
    assert blend_name("dataset #12 (000013.jpg)", "dataset #345 (000346.jpg)") == "blend-12-345"
    assert settings.file_stem("") == "face"


def test_dialogs_offer_the_name_and_remember_each_folder(qtbot, window, tmp_path, monkeypatch, settings_file):
    images, latents = tmp_path / "pictures", tmp_path / "latents"
    images.mkdir()
    latents.mkdir()
    offered = []

    def save_dialog(folder):
        def dialog(parent, title, start, filters):
            offered.append(start)
            return str(folder / Path(start).name), filters.split(";;")[0]
        return dialog

    window.dataset.show_dataset_image(12)
    assert window.wait_for_frame(20000)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog(images))
    window.files.save_image()
    qtbot.waitUntil(lambda: (images / "face-dataset-12.png").exists(), timeout=10000)
    assert Path(offered[0]) == Path.cwd() / "face-dataset-12.png", "the first time: the working folder"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog(latents))
    window.files.save_latent()
    assert (latents / "latent-dataset-12.npy").exists()

    window.dataset.show_dataset_image(13)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog(images))
    window.files.save_image()
    assert Path(offered[-1]) == images / "face-dataset-13.png", "images: the folder of the last image"
    started = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda parent, title, start, filters: started.append(start)
                        or (str(latents / "latent-dataset-12.npy"), ""))
    assert window.files.load_latent()
    assert started == [str(latents)], "latents: their own last folder"
    np.testing.assert_array_equal(window.latent, window.space.latent(12))

    settings_file.sync()
    again = QSettings(settings_file.fileName(), QSettings.Format.IniFormat)
    assert again.value("folders/image") == str(images.resolve()), "kept in the settings file across a restart"


def test_export_offers_blend_a_b_and_its_progress_covers_the_encoding(qtbot, window, tmp_path, monkeypatch):
    window.dataset.set_endpoint_from_index("A", 3)
    window.dataset.set_endpoint_from_index("B", 7)
    window.interpolation.duration_box.setValue(1.0)
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, title, start, filters: offered.append(start)
                        or (str(tmp_path / Path(start).name), "Animated GIF (*.gif)"))
    steps = []
    original = window.files._show_progress

    def record(dialog, name, n_frames, done):
        original(dialog, name, n_frames, done)
        steps.append((done, dialog.maximum(), dialog.labelText()))

    monkeypatch.setattr(window.files, "_show_progress", record)
    assert window.files.export_animation() is not None
    assert Path(offered[0]).name == "blend-3-7.gif"
    qtbot.waitUntil(lambda: window.files.export_task is None, timeout=60000)
    n_frames = 20  # 1 s at EXPORT_FPS
    assert (tmp_path / "blend-3-7.gif").stat().st_size > 0
    done = [step[0] for step in steps]
    assert done == sorted(done) and done[-1] == 2 * n_frames == steps[-1][1], "the bar ends when the file is encoded"
    encoding = [step for step in steps if step[0] > n_frames]
    assert len(encoding) == n_frames, "every frame encoded is reported: the bar never sits still while encoding"
    assert encoding[-1][2] == f"Encoding blend-3-7.gif: {n_frames} of {n_frames} frames encoded"


def test_geometry_and_docks_survive_a_restart(qtbot, tiny_codec, space, dataset, settings_file):
    from latentlab.ui.window.main_window import MainWindow

    first = MainWindow(tiny_codec, space, data_dir=dataset[1])
    with shown(qtbot, first, 1210, 700):
        first.showMaximized()  # the offscreen screen is smaller than the window: maximised is what Qt keeps exactly
        first.show_face_panel()
        first.sliders_dock.hide()
        qtbot.waitUntil(first.isMaximized)
        first.close()
    assert settings.value(settings.GEOMETRY_KEY) is not None

    settings_file.sync()
    settings.install(QSettings(settings_file.fileName(), QSettings.Format.IniFormat))  # the next start reads the file
    restored = MainWindow(tiny_codec, space, data_dir=dataset[1])
    qtbot.addWidget(restored)
    assert settings.restore_layout(restored)
    restored.show()
    try:
        assert restored.isMaximized()
        assert restored.face_dock.isVisible() and not restored.sliders_dock.isVisible()
    finally:
        restored.shutdown()


def test_nothing_saved_restores_nothing(qtbot, tiny_codec, space, settings_file):
    from latentlab.ui.window.main_window import MainWindow

    window = MainWindow(tiny_codec, space)
    qtbot.addWidget(window)
    assert not settings.restore_layout(window)
    window.shutdown()


def test_a_neighbour_click_sets_the_image_box_and_next_goes_on_from_it(qtbot, window, dataset):
    panel = window.face_panel
    window.show_face_panel()
    window.dataset.show_dataset_image(2)
    panel.align_check.setChecked(False)
    with qtbot.waitSignal(panel.latent_chosen, timeout=30000):
        assert panel.open_photo(dataset[1] / "000021.png")
    assert window.indexer.index is None, "a photo is not a dataset image"
    neighbour = panel.last_match.neighbours[1]
    assert neighbour.index != 2
    steps = window.undo_stack.count()
    panel.neighbour_buttons[1].click()
    assert window.indexer.index == neighbour.index and window.indexer.name_label.text() == neighbour.name
    assert window.source == f"dataset #{neighbour.index} ({neighbour.name})"
    assert window.stage.original_view.qimage() is not None, "its original beside it"
    assert window.undo_stack.count() == steps + 1
    window.dataset.next_image()
    expected = (neighbour.index + 1) % len(window.space)
    assert window.indexer.index == expected and window.state.dataset_index == expected
    np.testing.assert_array_equal(window.latent, window.space.latent(expected))
