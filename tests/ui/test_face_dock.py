"""The Your face dock in the window: hidden until asked for, File > Open Photo and window-wide drops go through it to
set_latent, the dataset folder reaches it, and closing the window stops its camera and threads."""

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog

from latentlab.faces.camera import CameraInfo, ImageFileSource

WAIT_MS = 20000


def test_the_dock_is_wired_but_nothing_starts_by_itself(window, dataset):
    dock, panel = window.face_dock, window.face_panel
    assert dock.objectName() == "face-dock" and dock.windowTitle() == "Your face" and dock.widget().widget() is panel
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert not dock.isVisible() and not panel.camera_running
    view_menu = window.menuBar().actions()[3].menu()
    assert dock.toggleViewAction() in view_menu.actions()
    file_menu = window.menuBar().actions()[0].menu()
    assert window.commands.open_photo_action in file_menu.actions()
    assert window.commands.open_photo_action.text() == "Open &Photo…"
    assert window.commands.open_photo_action.shortcut() == QKeySequence("Ctrl+Shift+O")
    assert panel.data_dir == dataset[1], "the window's dataset folder reaches the panel"
    window.commands.face_action.trigger()
    assert dock.isVisible() and dock.toggleViewAction().isChecked() and not panel.camera_running


def test_open_photo_sets_the_latent_with_the_aligned_input_beside_it(qtbot, monkeypatch, window, dataset):
    photo = dataset[1] / "000003.png"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(photo), ""))
    window.face_panel.align_check.setChecked(False)
    with qtbot.waitSignal(window.latent_changed, timeout=WAIT_MS):
        window.commands.open_photo_action.trigger()
    assert window.face_dock.isVisible()
    assert window.source == "photo: 000003.png"
    np.testing.assert_array_equal(window.latent, window.face_panel.last_match.encoded.z)
    assert window.state.original is not None and window.stage.original_caption.text() == "Input · photo: 000003.png"
    window.commands.undo_action.trigger()
    assert window.source == "average face"


def test_an_image_dropped_anywhere_on_the_window_is_encoded(qtbot, window, dataset):
    window.face_panel.align_check.setChecked(False)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dataset[1] / "000005.png"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    assert window.acceptDrops()
    with qtbot.waitSignal(window.latent_changed, timeout=WAIT_MS):
        window.dropEvent(event)
    assert event.isAccepted() and window.face_dock.isVisible() and window.source == "photo: 000005.png"


def test_closing_the_window_stops_the_camera_and_the_face_threads(qtbot, tiny_codec, space, dataset):
    from latentlab.ui.window.main_window import MainWindow

    sources = []

    def open_camera(index):
        sources.append(ImageFileSource(dataset[1] / "000001.png", loop=True, fps=60))
        return sources[-1]

    window = MainWindow(tiny_codec, space, cameras=[CameraInfo(0, "fake camera")], frame_source_factory=open_camera)
    qtbot.addWidget(window)
    window.show()
    window.show_face_panel()
    window.face_panel.start_camera()
    qtbot.waitUntil(lambda: window.face_panel.preview.qimage() is not None, timeout=WAIT_MS)
    camera_thread = window.face_panel._camera
    assert camera_thread.isRunning() and window.face_panel.matcher._thread.isRunning()
    window.close()
    assert not window.face_panel.camera_running and not camera_thread.isRunning() and sources[-1]._closed
    assert not window.face_panel.matcher._thread.isRunning() and not window.decoder._thread.isRunning()
