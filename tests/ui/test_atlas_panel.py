"""The Atlas dock in the real window: a click shows that face (undoable), the marker follows the face, the walk,
the lasso, a direction from two groups as a slider in the Attributes panel (kept in the settings, removable),
thumbnails when zoomed in, refusals that change nothing, and an old latents file without a map."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from latentlab.latent.atlas import write_map
from latentlab.latent.space import LatentSpace
from tests.helpers import LATENT_DIM, shown, write_untrained_model

LABEL = "Blond_Hair"


@pytest.fixture
def mapped(dataset):
    """The window tests' latents with a map (their first two coordinates, spread out) and a label (coordinate 0 above
    its mean)."""
    path, _ = dataset
    arrays = dict(np.load(path))
    z = arrays["z_mean"].astype(np.float32)
    arrays["attribute_names"] = np.array([LABEL])
    arrays["attributes"] = np.where(z[:, :1] > np.median(z[:, 0]), 1, -1).astype(np.int8)
    np.savez(path, **arrays)
    write_map(path, z[:, :2] * 10)
    return path


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_window(qtbot, tiny_codec, path, folder, settings):
    from latentlab.ui.window.main_window import MainWindow

    space = LatentSpace.load(path, LATENT_DIM)
    return MainWindow(tiny_codec, space, data_dir=folder, rng=np.random.default_rng(7), settings=settings)


@pytest.fixture
def window(qtbot, tiny_codec, mapped, dataset, settings):
    main_window = make_window(qtbot, tiny_codec, mapped, dataset[1], settings)
    with shown(qtbot, main_window, 1366, 768):
        main_window.show_atlas()
        qtbot.waitUntil(lambda: main_window.atlas.panel.view.isVisible(), timeout=5000)
        yield main_window


def panel_of(window):
    return window.atlas.panel


def mouse(view, kind, position, buttons=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier):
    point = QPointF(*position)
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    QApplication.sendEvent(view, QMouseEvent(kind, point, view.mapToGlobal(point), button, buttons, modifiers))


def test_the_atlas_dock_shows_every_face_and_the_window_fits_1366x768(window):
    panel = panel_of(window)
    assert panel.available and len(panel.atlas) == len(window.space)
    assert panel.colour_box.currentText() == "plain" or panel.colour_box.findText(LABEL) >= 0
    panel.colour_by(LABEL)
    assert LABEL in panel.legend_label.text()
    image = panel.view.grab().toImage()
    assert image.width() >= 240 and len({image.pixel(x, y) for x in range(0, image.width(), 7)
                                        for y in range(0, image.height(), 7)}) > 2  # points drawn, not blank
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768 - 32


def test_a_click_on_a_point_shows_that_face_and_undo_goes_back(qtbot, window):
    panel, view = panel_of(window), panel_of(window).view
    before = window.latent
    x, y = view.to_screen(panel.atlas.xy[11])
    index = view.index_at(QPointF(x, y))
    assert index >= 0
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(int(x), int(y)))
    qtbot.waitUntil(lambda: window.state.dataset_index == index, timeout=3000)
    np.testing.assert_array_equal(window.latent, window.space.latent(index))
    window.undo_stack.undo()
    np.testing.assert_array_equal(window.latent, before)


def test_the_marker_follows_the_face(qtbot, window):
    panel = panel_of(window)
    for _ in range(3):
        window.randomize()
        target = panel.atlas.place(window.latent)
        qtbot.waitUntil(lambda target=target: panel.marker_position() is not None
                        and np.allclose(panel.marker_position(), target, atol=1e-5), timeout=3000)
    assert len(panel.trail) >= 2
    window.dataset.show_dataset_image(4)
    qtbot.waitUntil(lambda: np.allclose(panel.marker_position(), panel.atlas.xy[4], atol=1e-5), timeout=3000)


def test_shift_drag_walks_the_map_in_one_undo_step(qtbot, window):
    panel, view = panel_of(window), panel_of(window).view
    before = window.latent
    count = window.undo_stack.count()
    start, end = view.to_screen(panel.atlas.xy[3]), view.to_screen(panel.atlas.xy[20])
    shift = Qt.KeyboardModifier.ShiftModifier
    mouse(view, QEvent.Type.MouseButtonPress, start, modifiers=shift)
    for t in np.linspace(0, 1, 6)[1:]:
        mouse(view, QEvent.Type.MouseMove, start + t * (end - start), modifiers=shift)
    mouse(view, QEvent.Type.MouseButtonRelease, end, buttons=Qt.MouseButton.NoButton, modifiers=shift)
    z, faces = panel.atlas.walk(view.to_map(QPointF(*end)))
    np.testing.assert_allclose(window.latent, z, atol=1e-5)
    neighbours = window.space.z_mean[faces]
    assert np.all(window.latent >= neighbours.min(axis=0) - 1e-5) and np.all(window.latent <= neighbours.max(0) + 1e-5)
    assert "atlas walk" in window.source and window.undo_stack.count() == count + 1
    qtbot.waitUntil(lambda: panel.marker_position() is not None
                    and np.allclose(panel.marker_position(), view.to_map(QPointF(*end)), atol=1e-4), timeout=3000)
    window.undo_stack.undo()
    np.testing.assert_array_equal(window.latent, before)


def test_ctrl_drag_lassoes_points_into_a_group(window):
    panel, view = panel_of(window), panel_of(window).view
    low, high = panel.atlas.xy.min(axis=0), panel.atlas.xy.max(axis=0)
    middle = (low + high) / 2
    corners = [view.to_screen(p) for p in ([low[0] - 1, low[1] - 1], [middle[0], low[1] - 1], [middle[0], high[1] + 1],
                                           [low[0] - 1, high[1] + 1])]
    ctrl = Qt.KeyboardModifier.ControlModifier
    mouse(view, QEvent.Type.MouseButtonPress, corners[0], modifiers=ctrl)
    for corner in corners[1:] + corners[:1]:
        mouse(view, QEvent.Type.MouseMove, corner, modifiers=ctrl)
    mouse(view, QEvent.Type.MouseButtonRelease, corners[0], buttons=Qt.MouseButton.NoButton, modifiers=ctrl)
    expected = np.flatnonzero(panel.atlas.xy[:, 0] < middle[0])
    assert set(panel.selection.tolist()) == set(expected.tolist())  # exactly the points left of the middle
    panel.set_group(0)
    assert panel.group_labels[0].text() == f"group 1: {len(panel.selection):,}"


@pytest.fixture
def saved_codec(tmp_path):
    """A tiny model with a weights file (the user's directions are kept per weights fingerprint)."""
    from latentlab.model.codec import Codec

    folder = tmp_path / "model"
    folder.mkdir()
    return Codec.load(write_untrained_model(folder))


def test_a_direction_from_two_labelled_groups_becomes_a_kept_slider(qtbot, saved_codec, mapped, dataset, settings):
    window = make_window(qtbot, saved_codec, mapped, dataset[1], settings)
    with shown(qtbot, window, 1366, 768):
        made_and_used(qtbot, window)
    again = make_window(qtbot, saved_codec, mapped, dataset[1], settings)  # kept with the user's settings
    with shown(qtbot, again, 1366, 768):
        kept = again.attributes_panel.user_directions
        assert kept.names() == ["blond (atlas)"]
        again.attributes_panel.remove_user_direction("blond (atlas)")
        assert kept.names() == []
    third = make_window(qtbot, saved_codec, mapped, dataset[1], settings)
    with shown(qtbot, third, 1366, 768):
        assert third.attributes_panel.user_directions.names() == []


def made_and_used(qtbot, window):
    panel, attributes = panel_of(window), window.attributes_panel
    panel.pick_by_label(LABEL)
    direction = panel.make_direction("blond (atlas)")
    assert direction is not None and attributes.user_directions.names() == ["blond (atlas)"]
    window.reset()
    face = window.latent
    attributes.user_directions.set_target("blond (atlas)", 2.0)
    moved = window.latent
    assert np.isclose(direction.score(moved), 2.0, atol=1e-3)
    assert moved[0] > face[0]  # towards the faces with the label (coordinate 0 above its median)
    assert window.space.z_mean[panel.groups[1]].mean(0) @ direction.vector > face @ direction.vector
    window.undo_stack.undo()
    np.testing.assert_array_equal(window.latent, face)


@pytest.mark.parametrize("groups, message", [
    (([], [1, 2]), "empty"),
    (([3], [1, 2]), "one face"),
    (([1, 2], [5]), "one face"),
])
def test_bad_groups_are_refused_in_the_panel_and_nothing_changes(window, groups, message):
    panel, attributes = panel_of(window), window.attributes_panel
    panel.groups = [np.asarray(g, np.int64) for g in groups]
    before = window.latent
    assert panel.make_direction("bad") is None
    assert message in panel.message() and attributes.user_directions.names() == []
    np.testing.assert_array_equal(window.latent, before)


def test_an_empty_lasso_is_refused_and_the_group_kept(window):
    panel = panel_of(window)
    panel.set_group(1, [1, 2, 3])
    panel.selection = np.zeros(0, np.int64)
    panel.set_group(1)
    assert "nothing lassoed" in panel.message() and panel.groups[1].tolist() == [1, 2, 3]


def test_zooming_in_draws_decoded_thumbnails_and_hover_shows_the_face(qtbot, window):
    panel = panel_of(window)
    panel.view.zoom_at(QPointF(panel.view.width() / 2, panel.view.height() / 2), 1.5)
    visible = panel.points_in_view()
    assert 0 < len(visible) <= 400
    qtbot.waitUntil(lambda: panel.view.show_thumbnails and all(int(i) in panel._thumbs for i in visible),
                    timeout=20000)
    assert panel._workers[0].worker.made >= len(visible)
    panel.hover(5)
    assert window.space.names[5] in panel.hover_caption.text()
    qtbot.waitUntil(lambda: panel.hover_image.pixmap() is not None and not panel.hover_image.pixmap().isNull(),
                    timeout=10000)


def test_a_latents_file_without_a_map_still_opens_and_says_how_to_add_one(qtbot, tiny_codec, dataset, settings):
    path, folder = dataset
    window = make_window(qtbot, tiny_codec, path, folder, settings)
    with shown(qtbot, window, 1366, 768):
        panel = panel_of(window)
        assert not panel.available and "vae.py atlas" in panel.note_label.text()
        window.show_atlas()
        window.randomize()
        assert window.wait_for_frame(20000)
        panel.show_latent(window.latent)  # no map: nothing to place, nothing breaks
        assert panel.marker_position() is None
