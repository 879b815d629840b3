"""Frame sources: a webcam through OpenCV, a video file played as a camera (looping), image files (photos, tests)
played as a stream, or a video made in code from face photos moving over time (the live mirror's bench and tests).
`open_source("0")` / `open_source("clip.mp4")` opens what `gui.py --camera N|FILE` names. No Qt here."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from latentlab.errors import UserError
from latentlab.images import IMAGE_EXTENSIONS, UnreadableImage, open_image
from latentlab.paths import shown

# FFmpeg's own stderr lines ("moov atom not found") would break a refused video's one line; read by OpenCV when its
# FFmpeg backend first starts, so set before any capture or writer is made
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
MAX_FAILED_READS = 25  # consecutive empty reads (about a second at 25 fps) before a camera counts as stopped
PROBED_INDICES = 4  # camera indices tried where the system cannot list its cameras
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".gif")
VIDEO_FILTER = "Videos (" + " ".join(f"*{ext}" for ext in VIDEO_EXTENSIONS) + ");;All files (*)"
DEFAULT_VIDEO_FPS = 25.0  # where a file does not say its frame rate
V4L2_ROOT = Path("/sys/class/video4linux")


def wait_for_frame_time(next_at: float, fps: float) -> float:
    """Sleep until `next_at` (a perf_counter time) when it is still ahead; the time the frame after this one is due
    at `fps` frames a second (a late frame does not make the next one early)."""
    now = time.perf_counter()
    if next_at > now:
        time.sleep(next_at - now)
    return max(now, next_at) + 1.0 / fps


class CameraError(UserError):
    """A camera that cannot be opened, is busy, or stopped sending frames; the message says which."""


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields RGB frames: `read()` blocks until the next frame (H, W, 3) uint8, returns
    None once the stream has ended, and raises CameraError when the device fails; `close()` releases it."""

    name: str

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CameraInfo:
    """A camera OpenCV can open by `index`, with a readable label."""

    index: int
    label: str


class OpenCVCamera:
    """A webcam read with OpenCV's VideoCapture, frames converted to RGB."""

    def __init__(self, index: int = 0, width: int = 640, height: int = 480):
        self.index = index
        self.name = f"camera {index}"
        self._failed_reads = 0
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(f"{self.name} cannot be opened: it is not connected, or another program is using it")
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        ok, _ = self._capture.read()
        if not ok:
            self._capture.release()
            raise CameraError(f"{self.name} opened but sends no frames: another program may be using it")

    def read(self) -> np.ndarray | None:
        """The next frame as RGB; CameraError after MAX_FAILED_READS failed reads in a row."""
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        while not ok:
            self._failed_reads += 1
            if self._failed_reads >= MAX_FAILED_READS:
                self.close()
                raise CameraError(f"{self.name} stopped sending frames: was it unplugged or taken by another program?")
            time.sleep(0.04)
            ok, frame = self._capture.read()
        self._failed_reads = 0
        return _to_rgb(frame)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoFileSource:
    """A video file played as a camera: frames in order (RGB), paced at the file's frame rate when `pace`, back to
    the first frame at the end when `loop` (`loops` counts the restarts). Opening checks that the file exists and
    that OpenCV decodes a frame from it, so a missing file or one that is not a video is one UserError line."""

    def __init__(self, path: str | os.PathLike, loop: bool = True, pace: bool = True):
        self.path = Path(path)
        self.name = f"video {self.path.name}"
        self.loop, self.pace = loop, pace
        self.loops = 0
        self.position = 0  # frames read since the last restart
        self._capture, first = _open_video(self.path)
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 1.0 <= self.fps <= 240.0:
            self.fps = DEFAULT_VIDEO_FPS
        self.frame_count = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self.size = (first.shape[1], first.shape[0])
        self._pending: np.ndarray | None = first  # the frame read to check the file is the first one played
        self._next_at = 0.0

    def read(self) -> np.ndarray | None:
        """The next frame as RGB (H, W, 3) uint8; None at the end without `loop`, or once closed."""
        if self._capture is None:
            return None
        if self.pace:
            self._next_at = wait_for_frame_time(self._next_at, self.fps)
        frame, self._pending = self._pending, None
        if frame is None:
            ok, frame = self._capture.read()
            if not ok:
                if not self.loop:
                    return None
                frame = self._restart()
        self.position += 1
        return _to_rgb(frame)

    def _restart(self) -> np.ndarray:
        """Back to the first frame (reopened where seeking fails); CameraError when no frame comes back."""
        self.loops += 1
        self.position = 0
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, frame = self._capture.read()
        if not ok:
            self._capture.release()
            self._capture = cv2.VideoCapture(str(self.path))
            ok, frame = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok:
            self.close()
            raise CameraError(f"{self.name} cannot be read again from its start")
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _open_video(path: Path) -> tuple[cv2.VideoCapture, np.ndarray]:
    """An opened VideoCapture on `path` and its first frame (BGR); UserError when the file is missing or no video."""
    if not path.exists():
        raise UserError(f"video {shown(path)} not found")
    if not path.is_file():
        raise UserError(f"{shown(path)} is not a video file (it is a folder)")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        raise UserError(f"{path.name} is a picture, not a video: open it with Open photo… instead")
    capture = cv2.VideoCapture(str(path))
    ok, frame = capture.read() if capture.isOpened() else (False, None)
    if not ok or frame is None or frame.ndim not in (2, 3):
        capture.release()
        raise UserError(f"{path.name} is not a video that can be read (tried OpenCV with FFmpeg)")
    return capture, frame


def check_video(path: str | os.PathLike) -> None:
    """Raise UserError (one line) unless `path` is a video file whose first frame decodes."""
    capture, _ = _open_video(Path(path))
    capture.release()


def parse_source(spec: str) -> int | Path:
    """What `--camera` names: a camera index (a whole number) or a video file."""
    spec = str(spec).strip()
    return int(spec) if spec.isdigit() else Path(spec).expanduser()


def open_source(spec: int | str | os.PathLike) -> FrameSource:
    """A webcam (an index, or its digits) or a video file (a path) as a FrameSource."""
    chosen = spec if isinstance(spec, int) else parse_source(str(spec))
    return OpenCVCamera(chosen) if isinstance(chosen, int) else VideoFileSource(chosen)


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB if frame.shape[2] == 4 else cv2.COLOR_BGR2RGB)


class ImageFileSource:
    """Image files played as a stream (photos, tests): one frame per file, in order, looping forever
    when `loop`; `fps` paces the reads like a camera would (0: no pacing)."""

    def __init__(self, paths: str | os.PathLike | Iterable[str | os.PathLike], loop: bool = True, fps: float = 0.0):
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        if not paths:
            raise UserError("an image source needs at least one image file")
        self.paths = [Path(p) for p in paths]
        self.name = self.paths[0].name if len(self.paths) == 1 else f"{len(self.paths)} images"
        self.loop = loop
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self._frames: dict[int, np.ndarray] = {}
        self._position = 0
        self._last_read = 0.0
        self._closed = False

    def read(self) -> np.ndarray | None:
        if self._closed or (self._position >= len(self.paths) and not self.loop):
            return None
        if self.interval:
            wait = self._last_read + self.interval - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            self._last_read = time.perf_counter()
        index = self._position % len(self.paths)
        self._position += 1
        if index not in self._frames:
            try:
                self._frames[index] = open_image(self.paths[index])
            except UnreadableImage as exc:
                raise UserError(f"cannot read {self.paths[index]}: {exc}") from None
        return self._frames[index].copy()

    def close(self) -> None:
        self._closed = True
        self._frames.clear()


class MovingFaceSource:
    """A video made in code from face photos (CelebA's aligned images in the bench, any portrait in tests): each
    face in turn for `seconds_per_face`, moved, turned (up to 12 degrees) and scaled (up to 15 %) over time on a
    grey frame of `size` (width, height), with Gaussian sensor noise of `noise` grey levels. `still` keeps the
    face where it starts. Frame i is the same on every run; `read()` paces the frames at `fps` when `pace`
    (like a camera), and the stream ends after `frames` frames (None: never)."""

    def __init__(self, faces: Sequence[np.ndarray], size: tuple[int, int] = (640, 480), fps: float = 30.0,
                 seconds_per_face: float = 4.0, noise: float = 0.0, still: bool = False, frames: int | None = None,
                 pace: bool = True, seed: int = 0):
        if not len(faces):
            raise UserError("a moving-face video needs at least one face picture")
        self.faces = [np.ascontiguousarray(face[..., :3], np.uint8) for face in faces]
        self.size, self.fps, self.seconds_per_face = size, fps, seconds_per_face
        self.noise, self.still, self.frames, self.pace, self.seed = noise, still, frames, pace, seed
        self.name = f"moving faces ({len(self.faces)})"
        self._position = 0
        self._next_at = 0.0
        self._closed = False

    def matrix(self, index: int) -> np.ndarray:
        """The 2x3 matrix that maps the face picture's pixels to frame `index`'s."""
        t = 0.0 if self.still else index / self.fps
        face = self.faces[self.face_index(index)]
        height, width = face.shape[:2]
        scale = 0.8 * self.size[1] / height * (1.0 + 0.15 * np.sin(2 * np.pi * t / 4.3))
        angle = 12.0 * np.sin(2 * np.pi * t / 3.1)
        centre = np.array(self.size) / 2.0 + np.array([0.18 * self.size[0] * np.sin(2 * np.pi * t / 5.0),
                                                       0.08 * self.size[1] * np.sin(2 * np.pi * t / 3.7)])
        matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), angle, scale)
        matrix[:, 2] += centre - np.array([width / 2.0, height / 2.0])
        return matrix

    def face_index(self, index: int) -> int:
        return int(index / self.fps / self.seconds_per_face) % len(self.faces)

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` (H, W, 3) uint8."""
        face = self.faces[self.face_index(index)]
        frame = cv2.warpAffine(face, self.matrix(index), self.size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(118, 122, 128))
        if self.noise > 0:
            rng = np.random.default_rng([self.seed, index])
            frame = np.clip(frame + rng.normal(0.0, self.noise, frame.shape), 0, 255).astype(np.uint8)
        return frame

    def read(self) -> np.ndarray | None:
        if self._closed or (self.frames is not None and self._position >= self.frames):
            return None
        if self.pace:
            self._next_at = wait_for_frame_time(self._next_at, self.fps)
        self._position += 1
        return self.frame(self._position - 1)

    def close(self) -> None:
        self._closed = True


def list_cameras() -> list[CameraInfo]:
    """The cameras worth offering, found cheaply: on Linux from /sys/class/video4linux (capture nodes
    only, without opening any device), elsewhere by trying the first PROBED_INDICES indices."""
    if sys.platform.startswith("linux"):
        return _linux_cameras() if V4L2_ROOT.is_dir() else []
    cameras = []
    for index in range(PROBED_INDICES):
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            cameras.append(CameraInfo(index, f"camera {index}"))
        capture.release()
    return cameras


def _linux_cameras() -> list[CameraInfo]:
    cameras = []
    for node in sorted(V4L2_ROOT.glob("video*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else -1):
        if not node.name[5:].isdigit():
            continue
        if _read_text(node / "index", "0") != "0":
            continue  # a metadata node of a camera listed under its first node
        name = _read_text(node / "name", "")
        label = f"{name} (camera {node.name[5:]})" if name else f"camera {node.name[5:]}"
        cameras.append(CameraInfo(int(node.name[5:]), label))
    return cameras


def _read_text(path: Path, default: str) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default
