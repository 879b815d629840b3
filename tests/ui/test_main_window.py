"""The explorer window's controls change the latent exactly as specified, and the picture follows."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from latentlab.pictures import to_uint8


def move_slider(qtbot, window, index, value):
    window.slider_panel.set_value(index, value)
    assert window.wait_for_frame(10000)


def test_window_opens_on_the_average_face(window, tiny_codec, space):
    assert np.allclose(window.latent, space.mean)
    assert window.source == "average face"
    assert np.array_equal(window.shown_image(), to_uint8(tiny_codec.decode(space.mean)))
    assert window.stage.decoded_view.width() >= 200
    assert window.slider_panel.names()[:2] == ["PC 1", "PC 2"]
    assert window.slider_panel.sigma_labels[0].text() == f"σ {space.sigma[0]:.2f}"


def test_a_slider_moves_the_face_along_its_component(qtbot, window, space):
    before_image, before = window.shown_image(), space.to_pca(window.latent)
    with qtbot.waitSignal(window.latent_changed) as blocker:
        window.slider_panel.set_value(0, 2.0)
    assert window.wait_for_frame(10000)
    after = space.to_pca(window.latent)
    assert after[0] == pytest.approx(2.0, abs=0.01)
    assert np.allclose(after[1:], before[1:], atol=1e-4)
    assert not np.array_equal(window.shown_image(), before_image)
    assert np.allclose(blocker.args[0], window.latent)
    assert window.source == "average face, edited"


def test_sliders_follow_other_controls_without_feedback(qtbot, window, space):
    moves = []
    window.slider_panel.coordinate_changed.connect(lambda i, v: moves.append(i))
    window.randomize()
    coordinates = space.to_pca(window.latent)
    for i, value in enumerate(coordinates):
        assert window.slider_panel.value_of(i) == pytest.approx(np.clip(value, -3, 3), abs=0.01)
        assert window.slider_panel.value_labels[i].text() == f"{value:+.2f}"
    assert moves == []
    assert window.undo_stack.count() == 1


def test_raw_toggle_and_filter(window):
    panel = window.slider_panel
    window.commands.raw_action.trigger()
    assert panel.mode == "raw" and panel.names()[0] == "dim 1"
    for i, value in enumerate(window.latent):
        assert panel.value_of(i) == pytest.approx(np.clip(value, -3, 3), abs=0.01)
    panel.set_value(3, 1.25)
    assert window.latent[3] == pytest.approx(1.25, abs=0.003)  # one slider step is range / 1000
    panel.filter_box.setText("DIM 2")
    assert panel.visible_names() == ["dim 2"]
    panel.filter_box.clear()
    assert len(panel.visible_names()) == 8
    panel.set_mode("pca")
    assert not window.commands.raw_action.isChecked() and panel.names()[0] == "PC 1"


def test_slider_range_box_rescales_the_sliders(window, space):
    window.slider_panel.range_box.setValue(1.0)
    window.slider_panel.set_value(1, 5.0)  # clamped to the range
    assert space.to_pca(window.latent)[1] == pytest.approx(1.0, abs=0.01)


def test_invert_twice_is_identity(window, space):
    window.randomize()
    z, source = window.latent, window.source
    window.commands.invert_action.trigger()
    assert np.allclose(space.to_pca(window.latent), -space.to_pca(z), atol=1e-4)
    assert window.source == "inverse of " + source
    window.commands.invert_action.trigger()
    assert np.allclose(window.latent, z, atol=1e-5) and window.source == source


def test_reset_is_the_average_face(window, space):
    window.randomize()
    window.commands.reset_action.trigger()
    assert np.allclose(window.latent, space.mean)
    assert np.allclose([window.slider_panel.value_of(i) for i in range(8)], 0.0, atol=0.01)


def randomize_many(window, n: int = 2000) -> np.ndarray:
    """The latents of n Randomize clicks (n, D)."""
    draws = []
    for _ in range(n):
        window.randomize()
        draws.append(window.latent)
    return np.array(draws, np.float64)


def assert_drawn_from(draws, mean, cholesky):
    """The draws (n, D) whitened by the prior's mean and Cholesky factor have mean 0 and covariance I."""
    white = np.linalg.solve(cholesky, (draws - mean).T).T
    assert np.allclose(white.mean(axis=0), 0.0, atol=0.1)
    assert np.allclose(np.cov(white.T), np.eye(len(mean)), atol=0.15)


def test_randomize_draws_from_the_fitted_prior_and_from_normal_when_ticked(window, space):
    fitted = np.cov(space.z_mean.T.astype(np.float64))
    assert window.normal_prior_box.isEnabled() and not window.normal_prior_box.isChecked()
    draws = randomize_many(window)
    assert_drawn_from(draws, space.z_mean.mean(axis=0), np.linalg.cholesky(fitted))
    assert draws.std(axis=0)[0] > 1.5 and draws.std(axis=0)[-1] < 0.4  # the dataset's spread: 2 .. 0.2

    window.normal_prior_box.setChecked(True)
    draws = randomize_many(window)
    assert window.source_label.text() == f"random N(0, I) seed {window.seed_box.seed} (range 1.00)"
    assert_drawn_from(draws, np.zeros(8), np.eye(8))

    window.random_range_box.setValue(0.5)
    assert_drawn_from(randomize_many(window), np.zeros(8), 0.5 * np.eye(8))
    window.normal_prior_box.setChecked(False)
    assert_drawn_from(randomize_many(window), space.z_mean.mean(axis=0), 0.5 * np.linalg.cholesky(fitted))


def test_randomize_range_zero_is_the_mean_and_draws_are_seeded(qtbot, window, tiny_codec, space):
    from latentlab.latent.space import LatentSpace
    from latentlab.ui.window.main_window import MainWindow

    window.random_range_box.setValue(0.5)
    draws = []
    for _ in range(20):
        window.commands.randomize_action.trigger()
        draws.append(window.latent)
    assert len({d.tobytes() for d in draws}) == 20
    window.random_range_box.setValue(0.0)
    window.randomize()
    assert np.allclose(window.latent, space.mean, atol=1e-5)
    window.normal_prior_box.setChecked(True)
    window.randomize()
    assert not window.latent.any()
    assert window.random_range_box.maximum() == 3.0

    twins = [MainWindow(tiny_codec, space, rng=42) for _ in range(2)]
    bare = MainWindow(tiny_codec, LatentSpace(8, note="no latents"), rng=42)
    for twin in twins + [bare]:
        qtbot.addWidget(twin)
        twin.randomize()
    assert np.array_equal(twins[0].latent, twins[1].latent)
    assert not bare.normal_prior_box.isEnabled()  # without dataset latents the prior is N(0, I) already
    seed = bare.seed_box.seed  # the face of the seed drawn: N(0, I) seeded with it
    assert np.array_equal(bare.latent, np.random.default_rng(seed).standard_normal((1, 8))[0].astype(np.float32))
    for twin in twins + [bare]:
        twin.shutdown()


def test_undo_redo_with_the_keyboard_and_merged_drags(qtbot, window):
    start = window.latent
    window.randomize()
    random_z = window.latent
    for value in (0.5, 1.0, 1.5, 2.0):  # one drag of PC 1
        window.slider_panel.set_value(0, value)
    window.slider_panel.gesture_finished.emit()
    assert window.undo_stack.count() == 2
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(window.latent, random_z)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(window.latent, start)
    assert not window.commands.undo_action.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(window.latent, random_z)
    window.commands.redo_action.trigger()
    assert window.slider_panel.value_of(0) == pytest.approx(2.0, abs=0.01)
    assert window.wait_for_frame(10000)


def test_every_action_has_its_shortcut(window):
    table = dict(window.commands.shortcut_table())
    assert "Ctrl+Z" in table["Undo"] and "Ctrl+Shift+Z" in table["Redo"]
    assert table["Randomize"] == "Ctrl+R" and table["Invert"] == "Ctrl+I" and table["Reset"] == "Ctrl+0"
    assert "Ctrl+S" in table["Save Image…"] and "Ctrl+C" in table["Copy Image"]


def test_save_image_png_and_copy_to_clipboard(qtbot, window, tmp_path, tiny_codec):
    import imageio.v3 as iio

    window.randomize()
    path = tmp_path / "face.png"
    window.files.save_image(path)  # the face is decoded off the UI thread when the screen lags behind
    qtbot.waitUntil(path.is_file, timeout=10000)
    assert np.array_equal(iio.imread(path), to_uint8(tiny_codec.decode(window.latent)))
    assert window.wait_for_frame(10000)
    window.files.copy_image()
    copied = QGuiApplication.clipboard().image()
    assert not copied.isNull() and copied.width() == 32


def test_save_and_load_latent_and_refuse_wrong_files(window, tmp_path):
    window.randomize()
    z = window.latent
    saved = window.files.save_latent(tmp_path / "face.npy")
    window.reset()
    assert window.files.load_latent(saved)
    assert np.array_equal(window.latent, z) and window.source == "file face.npy"
    np.save(tmp_path / "wrong.npy", np.zeros(5, np.float32))
    (tmp_path / "notes.txt").write_text("hello")
    expected = {"wrong.npy": "8 numbers", "notes.txt": "not a .npy", "absent.npy": "not found"}
    for name, message in expected.items():
        assert not window.files.load_latent(tmp_path / name)
        assert message in window.last_error
        assert np.array_equal(window.latent, z)


def test_status_bar_shows_source_and_timing(qtbot, window):
    assert window.source_label.text() == "average face"
    window.randomize()
    assert window.source_label.text() == f"random seed {window.seed_box.seed} (range 1.00)"
    assert window.wait_for_frame(10000)
    window.update_timing_label()
    assert "ms" in window.timing_label.text() and "fps" in window.timing_label.text()


def test_file_actions_go_through_dialogs(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(tmp_path / "shot"), "PNG image (*.png)"))
    window.commands.save_image_action.trigger()
    assert (tmp_path / "shot.png").is_file()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(tmp_path / "z"), "NumPy latent (*.npy)"))
    window.commands.save_latent_action.trigger()
    window.randomize()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(tmp_path / "z.npy"), ""))
    window.commands.load_latent_action.trigger()
    assert np.array_equal(window.latent, np.load(tmp_path / "z.npy")) and window.source == "file z.npy"


def test_added_control_groups_drive_the_latent_and_are_shut_down(window):
    from PySide6.QtWidgets import QPushButton

    class Panel(QPushButton):
        stopped = 0

        def shutdown(self):
            Panel.stopped += 1

    panel = Panel("Zero")
    panel.clicked.connect(lambda: window.set_latent(np.zeros(8, np.float32), "panel"))
    box = window.add_control_group("Extra", panel)
    assert box.title() == "Extra"
    panel.click()
    assert window.source == "panel" and not window.latent.any()
    window.close()
    assert Panel.stopped == 1
