"""A -> B -> A transitions: the latent path, its frames, and GIF / MP4 writing through imageio. No Qt."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from latentlab.errors import UserError
from latentlab.files import Cancelled, atomic_path
from latentlab.pictures import to_uint8

FORMATS = (".gif", ".mp4")
RENDER_CHUNK = 8  # frames decoded per step: progress and Cancel answer within one chunk
MP4_HINT = "MP4 export needs an FFmpeg backend for imageio: pip install imageio-ffmpeg (or av); GIF works without it"


def pingpong(phase: float | np.ndarray) -> float | np.ndarray:
    """t for a phase in [0, 1) of one A -> B -> A cycle: 0 -> 1 over the first half, back to 0 over the second."""
    return 1.0 - np.abs(1.0 - 2.0 * (np.asarray(phase) % 1.0))


def pingpong_ts(n_frames: int) -> np.ndarray:
    """n_frames values of t for one A -> B -> A cycle: starts at 0, reaches 1 halfway, loops seamlessly."""
    if n_frames < 2:
        raise UserError(f"an animation needs at least 2 frames, got {n_frames}")
    return pingpong(np.arange(n_frames) / n_frames)


def transition_latents(space, a: np.ndarray, b: np.ndarray, ts: np.ndarray, method: str) -> np.ndarray:
    """(len(ts), D) latents blending a and b at each t (space: a LatentSpace)."""
    return np.stack([space.interpolate(a, b, float(t), method) for t in ts])


def upscale(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 frames (N, H, W, C) resized to size x size (Lanczos); unchanged when already that size."""
    frames = to_uint8(frames)
    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.LANCZOS)) for f in frames])


def render_animation(codec, space, a: np.ndarray, b: np.ndarray, n_frames: int, method: str, size: int,
                     progress: Callable[[int, int], None] = lambda done, total: None,
                     cancelled: Callable[[], bool] = lambda: False) -> np.ndarray:
    """One A -> B -> A cycle of n_frames, decoded by `codec` a chunk at a time and upscaled to size x size (uint8).

    `progress(done, total)` follows the frames; Cancelled is raised as soon as `cancelled()` turns true.
    """
    latents = transition_latents(space, a, b, pingpong_ts(n_frames), method)
    frames = []
    for start in range(0, n_frames, RENDER_CHUNK):
        if cancelled():
            raise Cancelled()
        frames.append(upscale(codec.decode(latents[start : start + RENDER_CHUNK]), size))
        progress(min(start + RENDER_CHUNK, n_frames), n_frames)
    return np.concatenate(frames)


def write_animation(path: str | os.PathLike, frames: np.ndarray, fps: float,
                    cancelled: Callable[[], bool] = lambda: False,
                    progress: Callable[[int, int], None] = lambda done, total: None) -> Path:
    """Write uint8 frames (N, H, W, 3) as a looping GIF or an H.264 MP4 (by suffix), atomically: a temp file renamed
    into place, or removed when `cancelled()` has turned true by then (Cancelled is raised). `progress(done, total)`
    follows the frames encoded (a GIF's frames are given their palettes one by one, then written at once)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"cannot write {path.name}: choose a .gif or .mp4 file name")
    frames = to_uint8(frames)
    try:
        with atomic_path(path, cancelled) as tmp:
            if suffix == ".gif":
                _write_gif(tmp, frames, fps, cancelled, progress)
            else:
                _write_mp4(tmp, frames, fps, cancelled, progress)
    except OSError as exc:
        raise UserError(f"could not write {path}: {exc}") from None
    return path


def _write_gif(path: Path, frames: np.ndarray, fps: float, cancelled: Callable[[], bool],
               progress: Callable[[int, int], None]) -> None:
    """A looping GIF, each frame with its own 256-colour palette (median cut, as imageio would), reported per frame."""
    pictures = []
    for i, frame in enumerate(frames):
        if cancelled():
            raise Cancelled()
        pictures.append(Image.fromarray(frame).quantize(256, method=Image.Quantize.MEDIANCUT))
        progress(i + 1, len(frames))
    pictures[0].save(path, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=int(round(1000.0 / fps)), loop=0)


def _write_mp4(path: Path, frames: np.ndarray, fps: float, cancelled: Callable[[], bool] = lambda: False,
               progress: Callable[[int, int], None] = lambda done, total: None) -> None:
    import importlib.util

    import imageio.v3 as iio

    if importlib.util.find_spec("av") is not None:
        with iio.imopen(path, "w", plugin="pyav") as file:
            file.init_video_stream("libx264", fps=fps)
            for i, frame in enumerate(frames):
                if cancelled():
                    raise Cancelled()
                file.write_frame(frame)
                progress(i + 1, len(frames))
    elif importlib.util.find_spec("imageio_ffmpeg") is not None:
        import imageio.v2 as iio2

        with iio2.get_writer(path, format="FFMPEG", fps=fps, macro_block_size=16) as writer:
            for i, frame in enumerate(frames):
                if cancelled():
                    raise Cancelled()
                writer.append_data(frame)
                progress(i + 1, len(frames))
    else:
        raise UserError(MP4_HINT)
