"""Recording a live-mirror session (camera and model side by side) as MP4, or GIF without an FFmpeg backend. No Qt.

Frames arrive whenever the mirror shows one (15 to 30 a second, unevenly); they are resampled to a steady
RECORD_FPS by their capture times and handed to a writer thread, so the caller never waits on the encoder. An
MP4 is streamed to disk as it goes; a GIF is gathered (at most MAX_GIF_SECONDS) and written at the end. The file
appears only when finished (written beside it, then renamed), never half-written.
"""

from __future__ import annotations

import importlib.util
import itertools
import queue
import threading
from pathlib import Path

import cv2
import numpy as np

from latentlab.errors import UserError
from latentlab.files import Cancelled, atomic_path

RECORD_FPS = 15.0
RECORD_HEIGHT = 256  # pixels: the camera frame and the model's face side by side at this height
MAX_GIF_SECONDS = 60.0  # a GIF holds every frame in memory until it is written
_END = None


def mp4_backend() -> str | None:
    """'imageio-ffmpeg' or 'pyav' when imageio can write MP4 here, else None."""
    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        return "imageio-ffmpeg"
    if importlib.util.find_spec("av") is not None:
        return "pyav"
    return None


def recording_suffix() -> str:
    """'.mp4' when an FFmpeg backend is installed, else '.gif'."""
    return ".mp4" if mp4_backend() else ".gif"


def side_by_side(camera: np.ndarray, face: np.ndarray, height: int = RECORD_HEIGHT) -> np.ndarray:
    """The camera frame and the model's face, both `height` tall, in one uint8 picture whose width is a multiple
    of 16 (what H.264 encoders want)."""
    width = max(16, int(round(camera.shape[1] * height / camera.shape[0] / 16.0)) * 16)
    left = cv2.resize(np.ascontiguousarray(camera[..., :3]), (width, height), interpolation=cv2.INTER_AREA)
    right = cv2.resize(np.ascontiguousarray(face[..., :3]), (height, height),
                       interpolation=cv2.INTER_CUBIC if face.shape[0] < height else cv2.INTER_AREA)
    return np.concatenate([left, right], axis=1)


class SessionRecorder:
    """Writes the pictures given to `add` to `path` (.mp4 or .gif) at a steady `fps`, in a background thread.

    `add(camera, face, at)` is cheap (a resize and a queue); `finish()` waits for the file and returns its path
    (UserError when nothing was recorded or writing failed); `cancel()` leaves no file.
    """

    def __init__(self, path: str | Path, fps: float = RECORD_FPS):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in (".mp4", ".gif"):
            raise UserError(f"cannot record to {self.path.name}: choose a .mp4 or .gif file name")
        if self.suffix == ".mp4" and mp4_backend() is None:
            raise UserError("MP4 recording needs an FFmpeg backend for imageio: pip install imageio-ffmpeg (or av); "
                            "record a .gif instead")
        self.fps = fps
        self.frames_written = 0
        self._queue: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self._error: str | None = None
        self._last: np.ndarray | None = None
        self._next_at = 0.0
        self._finished = False
        self._thread = threading.Thread(target=self._write, name="latentlab-recorder", daemon=True)
        self._thread.start()

    @property
    def seconds(self) -> float:
        """Length of the recording so far."""
        return self.frames_written / self.fps

    def add(self, camera: np.ndarray, face: np.ndarray, at: float) -> None:
        """One shown frame, captured at `at` (seconds, any clock that the other frames share)."""
        if self._finished:
            return
        picture = side_by_side(camera, face)
        if self._last is None:
            self._next_at = at
        else:
            if picture.shape != self._last.shape:  # the camera changed size: start the new size cleanly
                picture = cv2.resize(picture, (self._last.shape[1], self._last.shape[0]), interpolation=cv2.INTER_AREA)
            while self._next_at <= at:
                self._put(self._last)
        self._last = picture

    def _put(self, picture: np.ndarray) -> None:
        self._next_at += 1.0 / self.fps
        if self.suffix == ".gif" and self.frames_written >= MAX_GIF_SECONDS * self.fps:
            return
        self.frames_written += 1
        self._queue.put(picture)

    def finish(self) -> Path:
        """Write the last frame, wait for the file and return its path."""
        if not self._finished:
            self._finished = True
            if self._last is not None:
                self._put(self._last)
            self._queue.put(_END)
        self._thread.join()
        if self._error:
            raise UserError(self._error)
        if self.frames_written == 0:
            raise UserError("nothing recorded: no live face was shown while recording")
        return self.path

    def cancel(self) -> None:
        """Stop and leave no file."""
        self._cancel.set()
        self._finished = True
        self._queue.put(_END)
        self._thread.join()

    def _write(self) -> None:
        frames = self._pictures()
        try:
            first = next(frames, None)
            if first is None or self._cancel.is_set():
                return
            with atomic_path(self.path, self._cancel.is_set) as tmp:
                if self.suffix == ".gif":
                    self._write_gif(tmp, first, frames)
                else:
                    self._write_mp4(tmp, first, frames)
        except Cancelled:
            pass
        except Exception as exc:  # the message reaches the panel through finish()
            self._error = f"could not write {self.path}: {exc}"
        finally:
            for _ in frames:  # let finish() return even after a failure
                pass

    def _pictures(self):
        """The queued pictures until the end mark."""
        while (picture := self._queue.get()) is not _END:
            yield picture

    def _write_gif(self, tmp: Path, first: np.ndarray, frames) -> None:
        import imageio.v3 as iio

        gathered = [first]
        for picture in frames:
            if self._cancel.is_set():
                raise Cancelled()
            gathered.append(picture)
        iio.imwrite(tmp, np.stack(gathered), extension=".gif", duration=int(round(1000.0 / self.fps)), loop=0)

    def _write_mp4(self, tmp: Path, first: np.ndarray, frames) -> None:
        if mp4_backend() == "imageio-ffmpeg":
            import imageio.v2 as iio2

            writer = iio2.get_writer(tmp, format="FFMPEG", fps=self.fps, codec="libx264", macro_block_size=16)
            try:
                for frame in itertools.chain([first], frames):
                    if self._cancel.is_set():
                        raise Cancelled()
                    writer.append_data(frame)
            finally:
                writer.close()
            return
        import imageio.v3 as iio

        with iio.imopen(tmp, "w", plugin="pyav") as file:
            file.init_video_stream("libx264", fps=self.fps)
            for frame in itertools.chain([first], frames):
                if self._cancel.is_set():
                    raise Cancelled()
                file.write_frame(frame)
