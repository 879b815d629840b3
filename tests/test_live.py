"""The live mirror without Qt: the moving-face video, the tracker (full detection only when needed, optical flow +
ONet between), smoothing, edits, the no-face path, and the session recorder (MP4 / GIF at a steady rate).

Real face tracking runs on matplotlib's sample portrait (Grace Hopper), so nothing needs ../shared."""

import imageio.v2 as iio2
import numpy as np
import pytest
from PIL import Image

from latentlab.errors import UserError
from latentlab.faces import recording
from latentlab.faces.align import square_box, transform_points
from latentlab.faces.camera import MovingFaceSource
from latentlab.faces.live import NO_FACE_NOTE, FaceTracker, LivePipeline, OneEuroFilter, box_overlap
from latentlab.faces.recording import RECORD_HEIGHT, SessionRecorder, side_by_side
from latentlab.pictures import to_uint8
from tests.helpers import LATENT_DIM, portrait


@pytest.fixture(scope="module")
def hopper():
    return portrait()


def still_jitter(pipeline: LivePipeline, source: MovingFaceSource, frames: int = 40) -> float:
    latents = [pipeline.process(source.frame(i), captured_at=i / source.fps).z for i in range(frames)]
    return float(np.linalg.norm(np.diff(np.array(latents[5:]), axis=0), axis=1).mean())


def test_one_euro_filter_calms_jitter_and_follows_a_real_move():
    rng = np.random.default_rng(0)
    smoother = OneEuroFilter()
    noisy = [smoother(np.array([100.0 + rng.normal(0, 1.0)]), i / 30.0, speed_unit=50.0)[0] for i in range(60)]
    assert np.std(np.diff(noisy[10:])) < 0.5 * np.sqrt(2.0), "frame-to-frame noise of a still point is damped"
    moved = [smoother(np.array([200.0]), (60 + i) / 30.0, speed_unit=50.0)[0] for i in range(6)]
    assert moved[-1] > 190.0, "a jump of two face sizes is followed within 6 frames"
    assert moved == sorted(moved)


def test_boxes_are_squared_about_their_centre_and_compared_by_overlap():
    np.testing.assert_allclose(square_box([10, 20, 50, 100]), [-10, 20, 70, 100])
    assert box_overlap(np.array([0, 0, 10, 10]), np.array([0, 0, 10, 10])) == 1.0
    assert box_overlap(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(1 / 3)
    assert box_overlap(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0


def test_moving_face_video_is_repeatable_moves_turns_scales_and_ends(hopper):
    source = MovingFaceSource([hopper], size=(320, 240), fps=30.0, frames=3, pace=False)
    np.testing.assert_array_equal(source.frame(17), source.frame(17))
    assert source.frame(0).shape == (240, 320, 3)
    scales = [np.sqrt(abs(np.linalg.det(source.matrix(i)[:, :2]))) for i in range(0, 300, 5)]
    angles = [np.degrees(np.arctan2(source.matrix(i)[1, 0], source.matrix(i)[0, 0])) for i in range(0, 300, 5)]
    assert max(scales) / min(scales) > 1.2 and max(np.abs(angles)) > 10.0
    assert [source.read() is not None for _ in range(4)] == [True, True, True, False]
    still = MovingFaceSource([hopper], still=True, pace=False)
    np.testing.assert_array_equal(still.matrix(0), still.matrix(90))


def test_tracker_follows_a_moving_face_with_few_full_detections(hopper):
    source = MovingFaceSource([hopper], fps=30.0, pace=False)
    tracker = FaceTracker(detect_every=1000)
    first = tracker.track(source.frame(0))
    assert first is not None and first.detected
    to_source = np.linalg.inv(np.vstack([source.matrix(0), [0, 0, 1]]))
    errors = []
    for i in range(1, 60):
        tracked = tracker.track(source.frame(i))
        assert tracked is not None, f"face lost at frame {i}"
        expected = transform_points(source.matrix(i) @ to_source, first.face.landmarks)
        errors.append(np.linalg.norm(tracked.face.eyes - expected[:2], axis=1).mean())
    eye_distance = np.linalg.norm(first.face.eyes[0] - first.face.eyes[1])
    assert tracker.detections == 1, "between detections the face is followed, not detected again"
    assert np.median(errors) < 0.06 * eye_distance and max(errors) < 0.15 * eye_distance


def test_tracker_detects_again_every_n_frames_and_after_a_reset(hopper):
    source = MovingFaceSource([hopper], still=True, pace=False)
    tracker = FaceTracker(detect_every=5)
    for i in range(11):
        assert tracker.track(source.frame(i)) is not None
    assert tracker.detections == 3  # frames 0, 5, 10
    tracker.reset()
    assert tracker.track(source.frame(11)) is not None and tracker.detections == 4


def test_pipeline_applies_the_edit_to_every_live_latent(tiny_codec, hopper):
    pipeline = LivePipeline(tiny_codec, align=False, smooth=False)
    frame = MovingFaceSource([hopper], pace=False).frame(3)
    plain = pipeline.process(frame)
    edit = np.linspace(-1.0, 1.0, LATENT_DIM).astype(np.float32)
    pipeline.set_edit(edit)
    edited = pipeline.process(frame)
    np.testing.assert_allclose(edited.z, plain.z, atol=1e-6)
    np.testing.assert_allclose(plain.z, tiny_codec.encode(plain.model_input, refine_steps=0), atol=1e-6,
                               err_msg="live frames take the encoder's mean as it is: "
                                       "refining would halve the frame rate")
    np.testing.assert_array_equal(edited.decoded, to_uint8(tiny_codec.decode(plain.z + edit)))
    assert not np.array_equal(edited.decoded, plain.decoded)
    assert edited.decoded.shape == (tiny_codec.image_size, tiny_codec.image_size, 3)


def test_a_frame_without_a_face_keeps_the_last_good_face_with_a_note(tiny_codec, hopper):
    pipeline = LivePipeline(tiny_codec, smooth=False)
    source = MovingFaceSource([hopper], pace=False)
    nothing = pipeline.process(np.full((480, 640, 3), 120, np.uint8))
    assert nothing.decoded is None and nothing.note == NO_FACE_NOTE and not nothing.has_face
    good = pipeline.process(source.frame(0))
    assert good.has_face and good.note == "" and good.face is not None
    assert good.model_input.shape == (tiny_codec.image_size, tiny_codec.image_size, 3)
    lost = pipeline.process(np.full((480, 640, 3), 120, np.uint8))
    assert lost.note == NO_FACE_NOTE and not lost.has_face
    np.testing.assert_array_equal(lost.decoded, good.decoded)
    np.testing.assert_array_equal(lost.z, good.z)
    back = pipeline.process(source.frame(1))
    assert back.has_face and back.detected, "a lost face is searched for with the full detector"


def test_smoothing_calms_a_still_face_and_still_follows_a_new_one(tiny_codec, hopper):
    still = MovingFaceSource([hopper], still=True, noise=4.0, pace=False)
    raw = still_jitter(LivePipeline(tiny_codec, smooth=False), still)
    smoothed_pipeline = LivePipeline(tiny_codec, smooth=True)
    smoothed = still_jitter(smoothed_pipeline, still)
    assert raw > 0.0 and smoothed < 0.5 * raw
    start = smoothed_pipeline.process(still.frame(0)).z
    blank = np.zeros((480, 640, 3), np.uint8)
    target = LivePipeline(tiny_codec, align=False, smooth=False).process(blank).z
    smoothed_pipeline.align = False
    followed = [smoothed_pipeline.process(blank).z for _ in range(6)]
    assert np.linalg.norm(followed[-1] - target) < 0.05 * np.linalg.norm(start - target)


def test_recorder_writes_camera_and_model_side_by_side_at_a_steady_rate(tmp_path):
    rng = np.random.default_rng(0)
    camera = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    face = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    picture = side_by_side(camera, face)
    assert picture.shape == (RECORD_HEIGHT, 336 + RECORD_HEIGHT, 3) and picture.shape[1] % 16 == 0
    times = np.cumsum(rng.uniform(0.03, 0.09, 40))  # uneven arrivals, about 2.4 s
    for suffix in (".gif", ".mp4"):
        recorder = SessionRecorder(tmp_path / f"session{suffix}", fps=10.0)
        for i, at in enumerate(times):
            recorder.add(np.roll(camera, 7 * i, axis=1), face, float(at))
        path = recorder.finish()
        expected = int(np.floor((times[-1] - times[0]) * 10.0)) + 2  # every tick up to the last frame, then it
        assert recorder.frames_written == expected
        if suffix == ".gif":  # a frame held over several ticks is one GIF frame shown that much longer
            with Image.open(path) as gif:
                durations = [gif.seek(k) or gif.info["duration"] for k in range(gif.n_frames)]
                assert gif.size == (336 + RECORD_HEIGHT, RECORD_HEIGHT)
            assert sum(durations) == expected * 100 and len(durations) <= expected
        else:
            reader = iio2.get_reader(path)
            assert reader.count_frames() == expected
            assert tuple(reader.get_meta_data()["size"]) == (336 + RECORD_HEIGHT, RECORD_HEIGHT)
            reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.gif", "session.mp4"], "no temporary files left"


def test_recorder_refuses_empty_sessions_other_formats_and_mp4_without_ffmpeg(tmp_path, monkeypatch):
    empty = SessionRecorder(tmp_path / "empty.gif")
    with pytest.raises(UserError, match="nothing recorded"):
        empty.finish()
    cancelled = SessionRecorder(tmp_path / "cancelled.gif")
    cancelled.add(np.zeros((48, 64, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), 0.0)
    cancelled.add(np.zeros((48, 64, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), 1.0)
    cancelled.cancel()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match=".mp4 or .gif"):
        SessionRecorder(tmp_path / "session.avi")
    monkeypatch.setattr(recording, "mp4_backend", lambda: None)
    assert recording.recording_suffix() == ".gif"
    with pytest.raises(UserError, match="FFmpeg"):
        SessionRecorder(tmp_path / "session.mp4")
