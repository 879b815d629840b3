"""Live mode of the Your face panel, driven by a moving-face video instead of a camera (matplotlib's sample portrait,
the real mtcnn, the tiny model): faces come out, edits apply, a frame without a face keeps the last good face with
a note, recording writes the session, and stopping or losing the camera stops everything."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from latentlab.faces.camera import CameraError, CameraInfo, MovingFaceSource  # noqa: E402
from latentlab.faces.live import NO_FACE_NOTE  # noqa: E402
from latentlab.pictures import to_uint8  # noqa: E402
from latentlab.ui.panels.face_panel import FacePanel  # noqa: E402
from tests.helpers import LATENT_DIM, portrait  # noqa: E402

WAIT_MS = 30000
FAKE_CAMERAS = [CameraInfo(0, "fake camera")]


class VideoWithGaps(MovingFaceSource):
    """The portrait moving, then (from frame `blank_from`) frames without a face, or a camera failure at `fail_at`;
    remembers being closed."""

    def __init__(self, blank_from=None, fail_at=None):
        super().__init__([portrait()], fps=30.0)
        self.blank_from, self.fail_at, self.reads, self.closed = blank_from, fail_at, 0, False

    def read(self):
        self.reads += 1
        if self.fail_at is not None and self.reads >= self.fail_at:
            raise CameraError("fake camera stopped sending frames: was it unplugged or taken by another program?")
        frame = super().read()
        if self.blank_from is not None and self.reads >= self.blank_from and frame is not None:
            return np.full_like(frame, 120)
        return frame

    def close(self):
        self.closed = True
        super().close()


@pytest.fixture
def make_panel(qtbot, tiny_codec):
    panels = []

    def make(source):
        panel = FacePanel(tiny_codec, None, frame_source_factory=lambda index: source, cameras=FAKE_CAMERAS)
        qtbot.addWidget(panel)
        panel.resize(420, 700)
        panel.show()
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()


def start_live(qtbot, panel, frames=3):
    panel.start_camera()
    qtbot.waitUntil(lambda: panel.preview.qimage() is not None, timeout=WAIT_MS)
    panel.set_live(True)
    assert panel.live.on and panel.live.live_button.isChecked() and panel.live.record_button.isEnabled()
    qtbot.waitUntil(lambda: panel.live.frames_shown >= frames, timeout=WAIT_MS)


def test_live_mode_shows_the_models_face_for_each_frame_and_applies_the_edits(qtbot, make_panel, tiny_codec):
    panel = make_panel(VideoWithGaps())
    assert not panel.live.live_button.isEnabled(), "Live needs the camera running"
    panel.set_live(True)
    assert not panel.live.on
    start_live(qtbot, panel, frames=5)
    frame = panel.live.last_frame
    assert frame.has_face and frame.face is not None and frame.note == ""
    assert panel.live.view.qimage().width() == tiny_codec.image_size
    assert panel.live.frames_submitted >= panel.live.frames_shown
    fps, p95 = panel.live.stats()
    assert fps > 0 and 0 < p95 < 30000
    edit = np.linspace(-2.0, 2.0, LATENT_DIM).astype(np.float32)
    panel.set_live_edit(edit)
    shown = panel.live.frames_shown
    qtbot.waitUntil(lambda: panel.live.frames_shown >= shown + 3, timeout=WAIT_MS)
    frame = panel.live.last_frame
    np.testing.assert_array_equal(frame.decoded, to_uint8(tiny_codec.decode(frame.z + edit)))
    np.testing.assert_array_equal(panel.live.view._pixels, frame.decoded)
    qtbot.waitUntil(lambda: "edits applied" in panel.live.stats_label.text(), timeout=WAIT_MS)
    panel.set_live_edit(None)
    shown = panel.live.frames_shown
    qtbot.waitUntil(lambda: panel.live.frames_shown >= shown + 3, timeout=WAIT_MS)
    frame = panel.live.last_frame
    np.testing.assert_array_equal(frame.decoded, to_uint8(tiny_codec.decode(frame.z)))


def test_a_frame_without_a_face_keeps_the_last_good_face_with_a_note(qtbot, make_panel):
    source = VideoWithGaps(blank_from=25)
    panel = make_panel(source)
    start_live(qtbot, panel)
    qtbot.waitUntil(lambda: source.reads > 30 and panel.live.last_frame is not None
                    and panel.live.last_frame.note == NO_FACE_NOTE, timeout=WAIT_MS)
    last = panel.live.last_frame
    assert not last.has_face
    np.testing.assert_array_equal(panel.live.view._pixels, last.decoded)
    qtbot.waitUntil(lambda: NO_FACE_NOTE in panel.live.stats_label.text(), timeout=WAIT_MS)
    assert panel.live.on and panel.camera_running


def test_recording_writes_the_session_and_stopping_the_camera_stops_everything(qtbot, make_panel, tmp_path):
    source = VideoWithGaps()
    panel = make_panel(source)
    start_live(qtbot, panel)
    assert panel.live.start_recording(tmp_path / "session.gif")
    assert panel.live.record_button.isChecked() and panel.live.record_button.text() == "Stop rec."
    shown = panel.live.frames_shown
    qtbot.waitUntil(lambda: panel.live.frames_shown >= shown + 8, timeout=WAIT_MS)
    with qtbot.waitSignal(panel.live.recording_finished, timeout=WAIT_MS) as written:
        panel.stop_camera()
        assert not panel.live.on and not panel.camera_running and source.closed
        assert not panel.live.live_button.isEnabled() and not panel.live.record_button.isEnabled()
        assert not panel.live.live_button.isChecked() and panel.live.recorder is None
    assert written.args[0] == str(tmp_path / "session.gif")
    assert (tmp_path / "session.gif").stat().st_size > 0
    assert "recorded the live session" in panel.message()
    shown = panel.live.frames_shown
    qtbot.wait(300)
    assert panel.live.frames_shown == shown, "no live faces after the camera stopped"


def test_a_camera_that_stops_mid_stream_turns_live_off_with_one_line(qtbot, make_panel):
    source = VideoWithGaps(fail_at=40)
    panel = make_panel(source)
    start_live(qtbot, panel, frames=1)
    qtbot.waitUntil(lambda: not panel.camera_running, timeout=WAIT_MS)
    assert not panel.live.on and not panel.live.live_button.isChecked() and source.closed
    assert "stopped sending frames" in panel.message() and "\n" not in panel.message()


def test_the_window_hands_the_current_faces_edits_to_the_live_mirror(window):
    panel = window.face_panel.live
    assert panel._edit is None
    window.randomize()
    base = window.latent
    window.slider_panel.set_value(0, 1.5)
    window.slider_panel.set_value(1, -1.0)
    assert window.source.endswith(", edited")
    np.testing.assert_allclose(panel._edit, window.latent - base, atol=1e-6)
    assert np.linalg.norm(panel._edit) > 0
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert panel._edit is None, "back on the unedited face: nothing to apply"
    window.undo_stack.redo()
    assert panel._edit is not None and np.linalg.norm(panel._edit) > 0
    window.randomize()
    assert panel._edit is None, "a new face starts without edits"
