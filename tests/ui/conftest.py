"""Fixtures for the window tests: a tiny untrained model, synthetic dataset latents and photos.

Needs neither ../shared nor the committed weights. Qt runs offscreen.
"""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from latentlab.config import ModelConfig  # noqa: E402

LATENT_DIM = 8
N_IMAGES = 30


@pytest.fixture(scope="session")
def tiny_codec():
    """A 32 px, 8-dimensional VAE with random weights behind the real Codec (compiled once)."""
    from latentlab.codec import Codec
    from latentlab.model import build_vae

    return Codec(build_vae(ModelConfig(image_size=32, latent_dim=LATENT_DIM, widths=(8, 16), bottleneck_channels=8)))


def write_latents(path: Path, names: list[str], latent_dim: int = LATENT_DIM, seed: int = 0,
                  weights_sha: str = "0123456789abcdef") -> Path:
    """A latents.npz written by the one writer `vae.py index` uses, with anisotropic random latents."""
    from latentlab.latent_space import write_latents

    rng = np.random.default_rng(seed)
    scales = np.linspace(2.0, 0.2, latent_dim)
    z_mean = rng.standard_normal((len(names), latent_dim)) * scales + 0.3
    write_latents(path, names, z_mean, np.ones(latent_dim), image_size=32, crop="center",
                  weights_sha=weights_sha, data_root=str(path.parent / "photos"))
    return path


@pytest.fixture
def dataset(tmp_path) -> tuple[Path, Path]:
    """(latents.npz, photo folder) for N_IMAGES synthetic photos named 000000.png ..."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    names = []
    for i in range(N_IMAGES):
        name = f"{i:06d}.png"
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(folder / name)
        names.append(name)
    return write_latents(tmp_path / "latents.npz", names), folder


@pytest.fixture
def space(dataset):
    from latentlab.latent_space import LatentSpace

    return LatentSpace.load(dataset[0], LATENT_DIM)


@pytest.fixture
def window(qtbot, tiny_codec, space, dataset):
    """The real MainWindow on the tiny model, showing its first frame."""
    from latentlab.ui.main_window import MainWindow

    main_window = MainWindow(tiny_codec, space, data_dir=dataset[1], rng=np.random.default_rng(7))
    qtbot.addWidget(main_window)
    main_window.resize(1400, 850)
    main_window.show()
    assert main_window.wait_for_frame(20000)
    yield main_window
    main_window.shutdown()
