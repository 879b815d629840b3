"""The live mirror without Qt: every frame a face is followed, aligned, encoded, smoothed, edited and decoded.

mtcnn's full detection costs 75 ms or more a frame on 2 cores, too slow to run on every frame. It runs on a
copy of the frame reduced to DETECT_WIDTH, only every DETECT_EVERY frames or when the face is lost. Between
detections the face box is carried to the new frame by pyramidal Lucas-Kanade optical flow (corners inside the
box, a similarity fitted with RANSAC), and mtcnn's last stage (ONet, 2 ms) reads the five landmarks again on
that box. Its face probability tells when the face is lost. The landmarks are smoothed with a One Euro filter
(strong when the face is still, light when it moves) and the latent with a short exponential average, so a
still face does not flicker.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from latentlab.faces.align import (
    Face,
    FaceDetector,
    align_face,
    shared_detector,
    square_box,
    transform_points,
    whole_image_crop,
)
from latentlab.pictures import to_uint8

if TYPE_CHECKING:
    from latentlab.model.codec import Codec

DETECT_WIDTH = 240  # full detections run on the frame reduced to this width (mtcnn's smallest face: 20 px of it)
DETECT_EVERY = 60  # frames between full detections while the face is followed (2 s at 30 fps)
SAME_FACE_OVERLAP = 0.5  # a detected box overlapping the followed one this much (IoU) is the same face
FLOW_WIDTH = 320  # optical flow runs on a grey copy of the frame reduced to this width
FLOW_CORNERS = 60  # corners followed inside the face box
FLOW_MIN_POINTS = 8  # fewer surviving corners: the box stays where it was, ONet alone follows
FLOW_BACKTRACK_PX = 1.0  # a corner whose backward flow misses its start by more (flow pixels) is dropped
# One Euro filter of the landmarks (Casiez et al. 2012), speeds in face sizes (eye-to-mouth distances) per second:
# at rest the cut-off is LANDMARK_MIN_CUTOFF Hz, at 1 face size a second it rises by LANDMARK_BETA Hz.
LANDMARK_MIN_CUTOFF = 1.5
LANDMARK_BETA = 4.0
DERIVATIVE_CUTOFF = 1.0
# The latent's exponential average gives the newest latent the weight LATENT_SMOOTHING while it stays near the
# average, rising to 1 (no lag) as it moves LATENT_MOTION away: a still face's latent moves about 1 a frame
# under camera noise, a new expression or face 5 to 15 (a 1 px misalignment moves it 2.5).
LATENT_SMOOTHING = 0.4
LATENT_MOTION = 8.0
NO_FACE_NOTE = "no face in this frame: showing the last good face"


@dataclass(frozen=True)
class TrackedFace:
    """The face followed in one frame and whether the full detector found it (else tracking did)."""

    face: Face
    detected: bool


class FaceTracker:
    """The largest face followed through a video: full detection on a reduced frame every `detect_every` frames
    or when the face is lost, optical flow + ONet between them."""

    def __init__(self, detector: FaceDetector | None = None, detect_every: int = DETECT_EVERY,
                 detect_width: int = DETECT_WIDTH):
        self.detector = detector or shared_detector()
        self.detect_every = max(1, int(detect_every))
        self.detect_width = detect_width
        self.detections = 0
        self.reset()

    def reset(self) -> None:
        """Forget the face: the next frame runs the full detector."""
        self._box: np.ndarray | None = None
        self._gray: np.ndarray | None = None
        self._since_detection = 0

    def track(self, rgb: np.ndarray) -> TrackedFace | None:
        """The face in this frame (landmarks in frame pixels), or None when there is none."""
        gray, to_frame = _flow_image(rgb)
        face, box, detected = None, None, False
        if self._box is not None:
            box = self._moved_box(self._box, gray, to_frame)
            face = self.detector.landmarks_in_box(rgb, box)
        if face is None or self._since_detection + 1 >= self.detect_every:
            found = self._detect(rgb)
            self._since_detection = 0
            # the face followed stays unless it was lost or the detector's largest face is another one: a box
            # that jumps on every detection would make the face jump with it
            if found is not None and (face is None or box_overlap(square_box(found.box), box) < SAME_FACE_OVERLAP):
                face, box, detected = found, square_box(found.box), True
        else:
            self._since_detection += 1
        # the box ONet read, carried by the flow, not ONet's refined box: read again on the same pixels, ONet
        # finds the same landmarks, so a still face stays still (feeding its refined box back makes them wander)
        self._box, self._gray = (box if face is not None else None), gray
        return None if face is None else TrackedFace(face, detected)

    def _detect(self, rgb: np.ndarray) -> Face | None:
        self.detections += 1
        height, width = rgb.shape[:2]
        scale = min(1.0, self.detect_width / width)
        small = rgb if scale == 1.0 else cv2.resize(rgb, (self.detect_width, max(1, round(height * scale))),
                                                    interpolation=cv2.INTER_AREA)
        faces = self.detector.detect(small)
        if not faces:
            return None
        to_frame = np.array([width / small.shape[1], height / small.shape[0]])
        face = faces[0]
        # the landmarks of a face read at the reduced size, read again by ONet at full resolution
        found = Face(face.box * np.tile(to_frame, 2), face.confidence, face.landmarks * to_frame)
        return self.detector.landmarks_in_box(rgb, square_box(found.box)) or found

    def _moved_box(self, box: np.ndarray, gray: np.ndarray, to_frame: float) -> np.ndarray:
        """`box` carried from the previous frame to this one by the optical flow of corners inside it."""
        if self._gray is None or self._gray.shape != gray.shape:
            return box
        x1, y1, x2, y2 = np.clip(np.rint(box / to_frame), 0, [gray.shape[1] - 1, gray.shape[0] - 1] * 2).astype(int)
        if x2 - x1 < 8 or y2 - y1 < 8:
            return box
        mask = np.zeros_like(gray)
        mask[y1:y2, x1:x2] = 255
        start = cv2.goodFeaturesToTrack(self._gray, FLOW_CORNERS, 0.01, 3, mask=mask)
        if start is None or len(start) < FLOW_MIN_POINTS:
            return box
        flow = dict(winSize=(15, 15), maxLevel=3,
                    criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        moved, found, _ = cv2.calcOpticalFlowPyrLK(self._gray, gray, start, None, **flow)
        back, found_back, _ = cv2.calcOpticalFlowPyrLK(gray, self._gray, moved, None, **flow)
        good = (found[:, 0] == 1) & (found_back[:, 0] == 1) & \
            (np.linalg.norm((back - start).reshape(-1, 2), axis=1) < FLOW_BACKTRACK_PX)
        if good.sum() < FLOW_MIN_POINTS:
            return box
        matrix, _ = cv2.estimateAffinePartial2D(start[good], moved[good], method=cv2.RANSAC,
                                                ransacReprojThreshold=1.0)
        if matrix is None:
            return box
        matrix = matrix.copy()
        matrix[:, 2] *= to_frame  # the same motion in frame pixels
        centre = transform_points(matrix, [[(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0]])[0]
        scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
        half = np.array([box[2] - box[0], box[3] - box[1]]) * scale / 2.0
        return np.concatenate([centre - half, centre + half])


def box_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (x1, y1, x2, y2)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _flow_image(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """A grey copy of the frame at most FLOW_WIDTH wide, and the factor from its pixels to the frame's."""
    width = rgb.shape[1]
    scale = min(1.0, FLOW_WIDTH / width)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (FLOW_WIDTH, max(1, round(rgb.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return gray, rgb.shape[1] / gray.shape[1]


class OneEuroFilter:
    """The One Euro filter of an array of values over time: a low-pass filter whose cut-off rises with the
    speed, so slow jitter is smoothed strongly and real motion follows with little lag. `speed_unit` divides the
    speed before it sets the cut-off (e.g. the face size, so that the filter behaves alike at any distance)."""

    def __init__(self, min_cutoff: float = LANDMARK_MIN_CUTOFF, beta: float = LANDMARK_BETA,
                 derivative_cutoff: float = DERIVATIVE_CUTOFF):
        self.min_cutoff, self.beta, self.derivative_cutoff = min_cutoff, beta, derivative_cutoff
        self.reset()

    def reset(self) -> None:
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    @staticmethod
    def _alpha(seconds: float, cutoff: float | np.ndarray) -> float | np.ndarray:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / seconds)

    def __call__(self, value: np.ndarray, at: float, speed_unit: float = 1.0) -> np.ndarray:
        value = np.asarray(value, np.float64)
        if self._value is None:
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), at
            return value.copy()
        seconds = max(at - self._time, 1e-3)
        speed = (value - self._value) / seconds
        self._speed = self._speed + self._alpha(seconds, self.derivative_cutoff) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed) / max(speed_unit, 1e-6)
        self._value = self._value + self._alpha(seconds, cutoff) * (value - self._value)
        self._time = at
        return self._value.copy()


@dataclass(frozen=True)
class LiveFrame:
    """One frame through the live mirror: the camera frame and when it was captured (time.perf_counter()), the
    face followed (None: none, or alignment off), what the model saw, the smoothed latent before edits, the
    decoded face (uint8, edits applied; the last good face when this frame had none, None before the first),
    whether the full detector ran, the pipeline's milliseconds and a note ('' or NO_FACE_NOTE)."""

    camera: np.ndarray
    captured_at: float
    face: Face | None
    model_input: np.ndarray | None
    z: np.ndarray | None
    decoded: np.ndarray | None
    detected: bool
    milliseconds: float
    note: str = ""

    @property
    def has_face(self) -> bool:
        return self.model_input is not None


class LivePipeline:
    """Frames in, LiveFrames out, one at a time (not thread-safe, except `set_edit`). `align` False encodes the
    whole frame; `smooth` False turns both smoothers off (for measuring what they do)."""

    def __init__(self, codec: Codec, tracker: FaceTracker | None = None, align: bool = True, smooth: bool = True,
                 latent_smoothing: float = LATENT_SMOOTHING):
        self.codec = codec
        self.tracker = tracker or FaceTracker()
        self.align = align
        self.smooth = smooth
        self.latent_smoothing = latent_smoothing
        self.landmark_filter = OneEuroFilter()
        self._edit_lock = threading.Lock()
        self._edit = np.zeros(codec.latent_dim, np.float32)
        self._z: np.ndarray | None = None
        self._reset_requested = threading.Event()
        self.frames = 0

    def set_edit(self, edit: np.ndarray | None) -> None:
        """The latent offset added to every live latent (the current face's edits); None for none. Thread-safe."""
        edit = np.zeros(self.codec.latent_dim, np.float32) if edit is None else np.asarray(edit, np.float32).copy()
        with self._edit_lock:
            self._edit = edit

    @property
    def edit(self) -> np.ndarray:
        with self._edit_lock:
            return self._edit

    def reset(self) -> None:
        """Forget the face and the smoothing (a new session) before the next frame. Thread-safe."""
        self._reset_requested.set()

    def _apply_reset(self) -> None:
        self._reset_requested.clear()
        self.tracker.reset()
        self.landmark_filter.reset()
        self._z = None

    def warm_up(self, size: int = 64) -> None:
        """Load and trace what the first frame would (mtcnn, ONet, the codec), so that it is not slow."""
        blank = np.full((size, size, 3), 128, np.uint8)
        if self.align:
            self.tracker.detector.detect(blank)
            self.tracker.detector.landmarks_in_box(blank, np.array([0.0, 0.0, size - 1.0, size - 1.0]))
        self.codec.decode(self.codec.encode(self.codec.preprocess(blank, "center"), refine_steps=0))

    def process(self, rgb: np.ndarray, captured_at: float | None = None) -> LiveFrame:
        """One frame: follow, align, encode, smooth, add the edit, decode."""
        started = time.perf_counter()
        captured_at = started if captured_at is None else captured_at
        if self._reset_requested.is_set():
            self._apply_reset()
        rgb = np.ascontiguousarray(rgb[..., :3], np.uint8)
        self.frames += 1
        face, detected = None, False
        if self.align:
            tracked = self.tracker.track(rgb)
            if tracked is None:
                self.landmark_filter.reset()
                decoded = None if self._z is None else self._decode(self._z)
                return LiveFrame(rgb, captured_at, None, None, None if self._z is None else self._z.copy(), decoded,
                                 True, (time.perf_counter() - started) * 1000.0, NO_FACE_NOTE)
            face, detected = tracked.face, tracked.detected
            landmarks = face.landmarks
            if self.smooth:
                size = float(np.linalg.norm(landmarks[:2].mean(0) - landmarks[3:].mean(0)))
                landmarks = self.landmark_filter(landmarks, captured_at, size).reshape(5, 2)
            face = Face(face.box, face.confidence, landmarks)
            model_input = self.codec.preprocess(align_face(rgb, face, refine=False).image)
        else:
            model_input = self.codec.preprocess(rgb, whole_image_crop(rgb, self.codec.config.crop))
        z = np.asarray(self.codec.encode(model_input, refine_steps=0), np.float32)  # refining would add ~0.1 s a frame
        if self.smooth and self._z is not None:
            step = z - self._z
            weight = min(1.0, max(self.latent_smoothing, float(np.linalg.norm(step)) / LATENT_MOTION))
            z = self._z + weight * step
        self._z = z
        return LiveFrame(rgb, captured_at, face, model_input, z.copy(), self._decode(z), detected,
                         (time.perf_counter() - started) * 1000.0)

    def _decode(self, z: np.ndarray) -> np.ndarray:
        return to_uint8(self.codec.decode(z + self.edit))

