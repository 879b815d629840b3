"""Frame sources: image files as a stream, OpenCV cameras that are missing, busy or stop mid-stream
(a stand-in VideoCapture), the cheap camera listing, and video files played as a camera (made in the test)."""

from pathlib import Path

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


# ---------------------------------------------------------------------------------------------- video files

def write_video(path, frames, fps=10.0):
    """Frames (N, H, W, 3) RGB uint8 as a Motion-JPEG AVI (OpenCV's writer, no extra codec needed); the path."""
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def grey_frames(n, size=(48, 32)):
    """n flat frames, frame i at grey level 20 + 40 * i: which frame was read shows in any pixel."""
    return [np.full((size[1], size[0], 3), 20 + 40 * i, np.uint8) for i in range(n)]


def test_a_video_file_plays_in_order_and_loops_at_its_end(tmp_path):
    from latentlab.faces.camera import VideoFileSource

    source = VideoFileSource(write_video(tmp_path / "clip.avi", grey_frames(5)), pace=False)
    assert isinstance(source, FrameSource) and source.name == "video clip.avi"
    assert source.fps == pytest.approx(10.0) and source.size == (48, 32)
    levels = [int(source.read().mean()) for _ in range(12)]
    expected = [20 + 40 * (i % 5) for i in range(12)]
    assert np.allclose(levels, expected, atol=4), levels
    assert source.loops == 2 and source.position == 2
    source.close()
    assert source.read() is None


def test_a_video_file_without_loop_ends_and_paces_at_its_frame_rate(tmp_path):
    import time

    from latentlab.faces.camera import VideoFileSource

    path = write_video(tmp_path / "clip.avi", grey_frames(4), fps=20.0)
    started = time.perf_counter()
    source = VideoFileSource(path, loop=False)
    frames = [source.read() for _ in range(4)]
    took = time.perf_counter() - started
    assert all(frame.shape == (32, 48, 3) for frame in frames)
    assert source.read() is None and source.loops == 0
    assert took >= 3 / 20.0 - 0.01, f"4 frames at 20 fps take 0.15 s at least, took {took:.3f} s"


@pytest.mark.parametrize("kind", ["missing", "text", "picture", "folder"])
def test_a_missing_file_or_one_that_is_not_a_video_is_one_line(tmp_path, kind):
    from latentlab.faces.camera import VideoFileSource, check_video

    path = {"missing": tmp_path / "nothere.mp4", "text": tmp_path / "notes.mp4", "picture": tmp_path / "me.png",
            "folder": tmp_path}[kind]
    if kind == "text":
        path.write_text("not a video")
    if kind == "picture":
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    expected = {"missing": "not found", "text": "is not a video", "picture": "is a picture, not a video",
                "folder": "is not a video file"}[kind]
    for attempt in (check_video, VideoFileSource):
        with pytest.raises(UserError, match=expected) as caught:
            attempt(path)
        assert "\n" not in str(caught.value)


def test_open_source_takes_a_camera_index_or_a_video_file(tmp_path, stand_in):
    from latentlab.faces.camera import VideoFileSource, open_source, parse_source

    assert parse_source("2") == 2 and parse_source(" 0 ") == 0
    assert parse_source("clips/me.mp4") == Path("clips/me.mp4")
    video = open_source(str(write_video(tmp_path / "clip.avi", grey_frames(2))))
    assert isinstance(video, VideoFileSource) and video.frame_count == 2
    stand_in()
    assert isinstance(open_source("0"), OpenCVCamera)
