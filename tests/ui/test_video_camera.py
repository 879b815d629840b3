"""A video file as the camera (made in the test from a moving portrait): chosen in the Your face dock ("Video
file…") or with `gui.py --camera FILE`, it plays, loops at its end, Capture encodes its frame under its name, Live
and Record work from it; a missing file or one that is not a video is one line (exit 2 on the command line, a
message in the panel) and changes nothing."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402

from latentlab.faces.camera import CameraInfo, MovingFaceSource, VideoFileSource  # noqa: E402
from latentlab.ui.launch import main as gui_main  # noqa: E402
from latentlab.ui.panels.face_panel import CHOOSE_VIDEO, FacePanel  # noqa: E402
from tests.helpers import LATENT_DIM, portrait  # noqa: E402
from tests.test_camera import write_video  # noqa: E402

WAIT_MS = 30000
FPS = 25.0
FRAMES = 20  # 0.8 s: it loops within a test


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """The sample portrait moving and turning over FRAMES frames, as an AVI."""
    source = MovingFaceSource([portrait()], size=(320, 240), fps=FPS, pace=False)
    frames = [source.frame(i) for i in range(FRAMES)]
    return write_video(tmp_path_factory.mktemp("video") / "me moving.avi", frames, fps=FPS)


@pytest.fixture
def make_panel(qtbot, tiny_codec, space):
    panels, opened = [], []

    def open_video(path):
        opened.append(VideoFileSource(path))
        return opened[-1]

    def make(cameras=()):
        panel = FacePanel(tiny_codec, space, cameras=list(cameras), video_source_factory=open_video)
        qtbot.addWidget(panel)
        panel.resize(420, 760)
        panel.show()
        panels.append(panel)
        return panel

    make.opened = opened
    yield make
    for panel in panels:
        panel.shutdown()


def test_a_video_plays_as_the_camera_loops_and_capture_names_it(qtbot, make_panel, video):
    panel = make_panel()
    assert panel.camera_combo.itemText(panel.camera_combo.count() - 1) == "Video file…"
    assert not panel.start_button.isEnabled(), "no camera: nothing to start until a video is chosen"
    assert panel.use_video(video, start=True)
    assert panel.camera_combo.currentText() == "video: me moving.avi"
    qtbot.waitUntil(lambda: panel.preview.qimage() is not None, timeout=WAIT_MS)
    assert panel.source_name == "video me moving.avi" and panel.preview.qimage().width() == 320
    source = make_panel.opened[-1]
    qtbot.waitUntil(lambda: source.loops >= 1, timeout=WAIT_MS)
    assert panel.camera_running, "the end of the video is not the end of the stream"
    assert "loops" in panel.message()
    panel.align_check.setChecked(False)
    with qtbot.waitSignal(panel.latent_chosen, timeout=WAIT_MS) as chosen:
        panel.capture()
    z, name, picture, caption = chosen.args
    assert name == "video me moving.avi" and caption == "Input · video me moving.avi"
    assert z.shape == (LATENT_DIM,) and picture.shape[:2] == (panel.codec.image_size,) * 2
    panel.stop_camera()
    assert not panel.camera_running and source.read() is None, "stopping releases the file"
    assert panel.start_button.isEnabled() and panel.camera_combo.currentText() == "video: me moving.avi"


def test_live_and_record_work_from_a_video(qtbot, make_panel, video, tmp_path):
    panel = make_panel()
    assert panel.use_video(video, start=True)
    qtbot.waitUntil(lambda: panel.preview.qimage() is not None, timeout=WAIT_MS)
    panel.set_live(True)
    qtbot.waitUntil(lambda: panel.live.frames_shown >= 3, timeout=WAIT_MS)
    assert panel.live.view.qimage() is not None
    assert panel.live.start_recording(tmp_path / "session.gif")
    shown = panel.live.frames_shown
    qtbot.waitUntil(lambda: panel.live.frames_shown >= shown + 5, timeout=WAIT_MS)
    with qtbot.waitSignal(panel.live.recording_finished, timeout=WAIT_MS):
        panel.stop_camera()
    assert (tmp_path / "session.gif").stat().st_size > 0


def test_video_file_entry_asks_for_a_file_and_a_bad_one_changes_nothing(qtbot, make_panel, video, tmp_path,
                                                                        monkeypatch):
    panel = make_panel([CameraInfo(0, "fake camera")])
    chooser = panel.camera_combo
    assert chooser.currentText() == "fake camera"
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("hello")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(not_a_video), ""))
    chooser.activated.emit(chooser.findData(CHOOSE_VIDEO))
    assert chooser.currentText() == "fake camera" and chooser.count() == 2, "refused: the chooser is unchanged"
    message = panel.message()
    assert "notes.mp4 is not a video" in message and "unchanged" in message and "\n" not in message
    assert not panel.camera_running

    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: asked.append(args[2]) or (str(video), ""))
    chooser.activated.emit(chooser.findData(CHOOSE_VIDEO))
    assert chooser.currentText() == "video: me moving.avi" and chooser.count() == 3
    chooser.activated.emit(chooser.findData(CHOOSE_VIDEO))
    assert asked[-1] == str(video.parent), "the dialog opens in the folder of the last video"
    assert chooser.count() == 3, "the same video is listed once"
    panel.refresh_cameras()
    assert chooser.currentText() == "video: me moving.avi", "looking for cameras again keeps the chosen video"

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: ("", ""))  # cancelled
    chooser.activated.emit(chooser.findData(CHOOSE_VIDEO))
    assert chooser.currentText() == "video: me moving.avi"


@pytest.mark.parametrize("kind", ["missing", "not a video"])
def test_camera_option_with_a_missing_or_non_video_file_exits_2_with_one_line(tmp_path, capfd, kind):
    path = tmp_path / "clip.mp4"
    if kind == "not a video":
        path.write_bytes(b"\x00" * 2048)
    assert gui_main(["--camera", str(path)]) == 2
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --camera:"), err
    assert ("not found" if kind == "missing" else "clip.mp4 is not a video") in lines[0]
    assert out == ""


def test_camera_option_starts_the_window_on_the_video(qtbot, window, video):
    from latentlab.ui.app import start_camera

    start_camera(window, str(video))
    panel = window.face_panel
    assert window.face_dock.isVisible() and panel.camera_running
    qtbot.waitUntil(lambda: panel.preview.qimage() is not None, timeout=WAIT_MS)
    panel.align_check.setChecked(False)
    panel.capture()
    qtbot.waitUntil(lambda: window.source == "video me moving.avi", timeout=WAIT_MS)
    assert window.stage.original_caption.text() == "Input · video me moving.avi"
    assert window.undo_stack.count() == 1
    np.testing.assert_array_equal(window.latent, panel.last_match.encoded.z)
