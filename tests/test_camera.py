"""Frame sources: image files as a stream, OpenCV cameras that are missing, busy or stop mid-stream
(a stand-in VideoCapture), and the cheap camera listing."""

import numpy as np
import pytest
from PIL import Image

from latentlab.errors import UserError
from latentlab.faces import camera
from latentlab.faces.camera import CameraError, CameraInfo, FrameSource, ImageFileSource, OpenCVCamera, list_cameras


def write_frames(folder, n):
    paths = []
    for i in range(n):
        path = folder / f"frame{i}.png"
        Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_image_file_source_loops_over_its_files(tmp_path):
    source = ImageFileSource(write_frames(tmp_path, 3))
    assert isinstance(source, FrameSource)
    values = [int(source.read()[0, 0, 0]) for _ in range(7)]
    assert values == [0, 40, 80, 0, 40, 80, 0]
    frame = source.read()
    frame[:] = 255
    assert source.read()[0, 0, 0] == 80, "each read is a fresh copy"
    source.close()
    assert source.read() is None


def test_image_file_source_without_loop_ends(tmp_path):
    source = ImageFileSource(write_frames(tmp_path, 1)[0], loop=False)
    assert source.name == "frame0.png"
    assert source.read().shape == (24, 32, 3)
    assert source.read() is None


def test_image_file_source_reports_unreadable_files(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    with pytest.raises(UserError, match="cannot read .*broken.jpg"):
        ImageFileSource(broken).read()
    with pytest.raises(UserError):
        ImageFileSource([])


class StandInCapture:
    """A VideoCapture that opens or not, then yields `good_frames` BGR frames and fails afterwards."""

    def __init__(self, opens=True, good_frames=100):
        self.opens, self.good_frames, self.released = opens, good_frames, False

    def __call__(self, index):
        return self

    def isOpened(self):
        return self.opens

    def set(self, prop, value):
        return True

    def read(self):
        if self.good_frames <= 0:
            return False, None
        self.good_frames -= 1
        frame = np.zeros((4, 6, 3), np.uint8)
        frame[..., 0] = 255  # blue in BGR
        return True, frame

    def release(self):
        self.released = True


@pytest.fixture
def stand_in(monkeypatch):
    def install(**kwargs):
        capture = StandInCapture(**kwargs)
        monkeypatch.setattr(camera.cv2, "VideoCapture", capture)
        monkeypatch.setattr(camera, "MAX_FAILED_READS", 3)
        monkeypatch.setattr(camera.time, "sleep", lambda seconds: None)
        return capture

    return install


def test_missing_camera_is_a_clear_error(stand_in):
    capture = stand_in(opens=False)
    with pytest.raises(CameraError, match="camera 3 cannot be opened: it is not connected, or another program"):
        OpenCVCamera(3)
    assert capture.released


def test_busy_camera_that_sends_nothing_is_a_clear_error(stand_in):
    capture = stand_in(good_frames=0)
    with pytest.raises(CameraError, match="sends no frames"):
        OpenCVCamera(0)
    assert capture.released


def test_camera_frames_are_rgb_and_a_stopped_stream_raises(stand_in):
    capture = stand_in(good_frames=3)
    source = OpenCVCamera(0)
    first = source.read()
    assert first.shape == (4, 6, 3) and tuple(first[0, 0]) == (0, 0, 255)
    source.read()
    with pytest.raises(CameraError, match="stopped sending frames"):
        source.read()
    assert capture.released
    assert source.read() is None


def test_real_missing_camera_index_fails_cleanly():
    with pytest.raises(CameraError, match="camera 97"):
        OpenCVCamera(97)


def test_list_cameras_reads_capture_nodes_from_sysfs(tmp_path, monkeypatch):
    for node, index, name in (("video0", "0", "HD Webcam"), ("video1", "1", "HD Webcam"), ("video2", "0", "")):
        (tmp_path / node).mkdir()
        (tmp_path / node / "index").write_text(index + "\n")
        (tmp_path / node / "name").write_text(name + "\n")
    monkeypatch.setattr(camera.sys, "platform", "linux")
    monkeypatch.setattr(camera, "V4L2_ROOT", tmp_path)
    assert list_cameras() == [CameraInfo(0, "HD Webcam (camera 0)"), CameraInfo(2, "camera 2")]
    monkeypatch.setattr(camera, "V4L2_ROOT", tmp_path / "absent")
    assert list_cameras() == []
