"""FacePanel on the tiny model with a fake camera (image files through the real CameraWorker): live
preview, Capture, photos, drag-and-drop, neighbours, the no-face path and cameras that fail."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from latentlab.faces.camera import CameraError, CameraInfo, ImageFileSource  # noqa: E402
from latentlab.ui.panels.face_panel import FacePanel  # noqa: E402
from tests.helpers import CELEBA_DIR, LATENT_DIM, needs_celeba  # noqa: E402

WAIT_MS = 20000
FAKE_CAMERAS = [CameraInfo(0, "fake camera")]


class CountingSource(ImageFileSource):
    """An image-file camera that remembers being closed and can fail after a number of frames."""

    instances: list = []

    def __init__(self, path, fail_after=None):
        super().__init__(path, loop=True, fps=60)
        self.fail_after, self.reads, self.closed = fail_after, 0, False
        CountingSource.instances.append(self)

    def read(self):
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise CameraError("fake camera stopped sending frames: was it unplugged or taken by another program?")
        return super().read()

    def close(self):
        self.closed = True
        super().close()


@pytest.fixture
def frame_file(tmp_path):
    path = tmp_path / "frame.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(path)
    return path


def make_panel(qtbot, tiny_codec, space, factory, data_dir=None, cameras=FAKE_CAMERAS):
    panel = FacePanel(tiny_codec, space, data_dir=data_dir, frame_source_factory=factory, cameras=cameras)
    qtbot.addWidget(panel)
    panel.resize(520, 760)
    panel.show()
    return panel


def test_fake_camera_feeds_the_preview_and_capture_encodes_a_frame(qtbot, tiny_codec, space, dataset, frame_file):
    CountingSource.instances.clear()
    panel = make_panel(qtbot, tiny_codec, space, lambda index: CountingSource(frame_file), data_dir=dataset[1])
    panel.align_check.setChecked(False)
    panel.start_camera()
    qtbot.waitUntil(lambda: panel.preview.qimage() is not None, timeout=WAIT_MS)
    assert panel.camera_running and panel.capture_button.isEnabled() and not panel.start_button.isEnabled()
    assert panel.preview.qimage().width() == 160
    with qtbot.waitSignal(panel.latent_chosen, timeout=WAIT_MS) as chosen:
        panel.capture_shortcut.activated.emit()
    z, source = chosen.args[:2]
    assert source == "frame.png" == panel.source_name and z.shape == (LATENT_DIM,), "named by its source"
    assert panel.input_view.qimage().width() == tiny_codec.image_size
    assert panel.reconstruction_view.qimage() is not None
    distances = [n.distance for n in panel.last_match.neighbours]
    assert len(distances) == 5 and distances == sorted(distances)
    expected, _ = space.nearest(z, 5)
    assert [n.index for n in panel.last_match.neighbours] == list(expected)
    assert all(n.original is not None for n in panel.last_match.neighbours)
    assert panel.neighbour_buttons[0].text().startswith(space.names[expected[0]])
    panel.stop_camera()
    assert CountingSource.instances[-1].closed and not panel.camera_running
    assert panel.start_button.isEnabled()


def test_clicking_a_neighbour_chooses_its_dataset_latent(qtbot, tiny_codec, space, frame_file):
    panel = make_panel(qtbot, tiny_codec, space, lambda index: CountingSource(frame_file))
    panel.align_check.setChecked(False)
    with qtbot.waitSignal(panel.latent_chosen, timeout=WAIT_MS) as chosen:
        assert panel.open_photo(frame_file)
    assert chosen.args[1] == "photo: frame.png"
    neighbour = panel.last_match.neighbours[2]
    assert neighbour.original is None, "no dataset folder: reconstructions only"
    with qtbot.waitSignal(panel.neighbour_chosen, timeout=1000) as clicked:
        qtbot.mouseClick(panel.neighbour_buttons[2], Qt.MouseButton.LeftButton)
    assert clicked.args == [neighbour.index], "the window shows it as dataset image #i (test_video_camera.py)"


def test_dropping_an_image_file_encodes_it(qtbot, tiny_codec, space, frame_file):
    panel = make_panel(qtbot, tiny_codec, space, lambda index: CountingSource(frame_file))
    panel.align_check.setChecked(False)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(frame_file))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.latent_chosen, timeout=WAIT_MS) as chosen:
        panel.dropEvent(event)
    assert chosen.args[1] == "photo: frame.png"


def test_no_face_leaves_the_latent_unchanged_and_says_so(qtbot, tiny_codec, space, frame_file):
    panel = make_panel(qtbot, tiny_codec, space, lambda index: CountingSource(frame_file))
    emitted = []
    panel.latent_chosen.connect(lambda z, source, original, caption: emitted.append(source))
    panel.encode_image(np.random.default_rng(0).integers(0, 256, (200, 260, 3), dtype=np.uint8), "webcam")
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert "no face found in the webcam frame" in panel.message() and "unchanged" in panel.message()
    assert emitted == []


def test_a_camera_that_cannot_open_leaves_the_photo_path_working(qtbot, tiny_codec, space, frame_file):
    def missing(index):
        raise CameraError(f"camera {index} cannot be opened: it is not connected, or another program is using it")

    panel = make_panel(qtbot, tiny_codec, space, missing)
    panel.start_camera()
    qtbot.waitUntil(lambda: "cannot be opened" in panel.message(), timeout=WAIT_MS)
    assert not panel.camera_running and panel.start_button.isEnabled() and not panel.capture_button.isEnabled()
    assert "Open photo" in panel.message()
    panel.align_check.setChecked(False)
    with qtbot.waitSignal(panel.latent_chosen, timeout=WAIT_MS):
        panel.open_photo(frame_file)


def test_a_camera_that_stops_mid_stream_is_reported_and_released(qtbot, tiny_codec, space, frame_file):
    CountingSource.instances.clear()
    panel = make_panel(qtbot, tiny_codec, space, lambda index: CountingSource(frame_file, fail_after=5))
    panel.start_camera()
    qtbot.waitUntil(lambda: "stopped sending frames" in panel.message(), timeout=WAIT_MS)
    assert not panel.camera_running and CountingSource.instances[-1].closed
    assert panel.preview.qimage() is not None


def test_without_cameras_or_dataset_the_panel_still_encodes_photos(qtbot, tiny_codec, frame_file):
    plugged_in = []
    panel = make_panel(qtbot, tiny_codec, None, lambda index: CountingSource(frame_file), cameras=lambda: plugged_in)
    assert not panel.start_button.isEnabled() and "No camera found" in panel.message()
    panel.align_check.setChecked(False)
    with qtbot.waitSignal(panel.latent_chosen, timeout=WAIT_MS):
        panel.open_photo(frame_file)
    assert panel.last_match.neighbours == []
    plugged_in.append(CameraInfo(2, "USB camera"))
    qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton)
    assert panel.start_button.isEnabled() and panel.camera_combo.currentData() == 2


def test_shutdown_releases_a_running_camera(qtbot, tiny_codec, space, frame_file):
    CountingSource.instances.clear()
    panel = make_panel(qtbot, tiny_codec, space, lambda index: CountingSource(frame_file))
    panel.start_camera()
    qtbot.waitUntil(lambda: panel.preview.qimage() is not None, timeout=WAIT_MS)
    panel.shutdown()
    assert CountingSource.instances[-1].closed and not panel.camera_running


@needs_celeba
def test_a_real_face_from_the_camera_is_aligned(qtbot, tiny_codec, space, tmp_path):
    face = Image.open(CELEBA_DIR / "000034.jpg")
    frame = Image.new("RGB", (320, 240), (70, 80, 90))
    frame.paste(face.rotate(-10, expand=True, fillcolor=(70, 80, 90)), (50, 0))
    path = tmp_path / "camera.png"
    frame.save(path)
    panel = make_panel(qtbot, tiny_codec, space, lambda index: CountingSource(path))
    panel.start_camera()
    qtbot.waitUntil(lambda: panel.preview.qimage() is not None, timeout=WAIT_MS)
    with qtbot.waitSignal(panel.latent_chosen, timeout=WAIT_MS) as chosen:
        panel.capture()
    assert chosen.args[1] == "camera.png", "named by its source"
    assert panel.last_match.encoded.aligned.shape == (218, 178, 3)
    assert "aligned face" in panel.message()
    panel.shutdown()
