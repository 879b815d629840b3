"""A -> B -> A transitions written as GIF and MP4."""

import importlib.util

import imageio.v3 as iio
import numpy as np
import pytest

from latentlab.errors import UserError
from latentlab.latent import animation
from latentlab.latent.animation import pingpong_ts, transition_latents, upscale, write_animation
from latentlab.latent.space import LatentSpace

FRAMES = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)


def test_pingpong_goes_a_b_a_and_loops():
    assert list(pingpong_ts(8)) == [0.0, 0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25]
    with pytest.raises(UserError):
        pingpong_ts(1)
    space = LatentSpace(4)
    a, b = np.zeros(4, np.float32), np.ones(4, np.float32)
    latents = transition_latents(space, a, b, pingpong_ts(8), "linear")
    assert latents.shape == (8, 4) and np.allclose(latents[0], a) and np.allclose(latents[4], b)


def test_gif_is_readable_and_written_atomically(tmp_path):
    gif = write_animation(tmp_path / "out" / "ab.gif", FRAMES, fps=10)
    assert iio.imread(gif, index=None).shape[:3] == (8, 32, 32)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ab.gif"]
    with pytest.raises(UserError, match=".gif or .mp4"):
        write_animation(tmp_path / "ab.avi", FRAMES, fps=10)


def test_upscale_resizes_every_frame():
    assert upscale(FRAMES, 64).shape == (8, 64, 64, 3)
    assert np.array_equal(upscale(FRAMES, 32), FRAMES)


@pytest.mark.skipif(not any(importlib.util.find_spec(m) for m in ("av", "imageio_ffmpeg")),
                    reason="no FFmpeg backend for imageio (pip install imageio-ffmpeg or av)")
def test_mp4_is_written(tmp_path):
    path = write_animation(tmp_path / "ab.mp4", upscale(FRAMES, 64), fps=10)
    assert path.stat().st_size > 1000


def test_mp4_without_a_backend_says_what_to_install(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("av", "imageio_ffmpeg") else real_find_spec(name, *a))
    with pytest.raises(UserError, match="pip install imageio-ffmpeg"):
        write_animation(tmp_path / "ab.mp4", FRAMES, fps=10)
    assert not list(tmp_path.iterdir())
    assert animation.MP4_HINT.startswith("MP4 export needs")
