"""What several test modules share: synthetic images and latents, the tiny model config, seeding, CelebA's
location. A plain module (not a test module, not a conftest): tests import from here."""

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab.model.config import ModelConfig
from latentlab.paths import PROJECT_ROOT

CELEBA_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "celeba" / "img_align_celeba"
needs_celeba = pytest.mark.skipif(not CELEBA_DIR.is_dir(), reason=f"CelebA images not found in {CELEBA_DIR}")
LATENT_DIM = 8  # the tiny model's latent size
N_IMAGES = 30  # photos in the window tests' synthetic dataset

TINY = dict(image_size=32, latent_dim=LATENT_DIM, widths=(8, 16), bottleneck_channels=8, batch_size=8)


def tiny_config(**changes) -> ModelConfig:
    """A model small enough to train in seconds on a CPU."""
    return ModelConfig(**{**TINY, **changes})


def synthetic_face(rng: np.random.Generator, size: int = 40) -> np.ndarray:
    """A smooth blob picture (uint8 RGB): a coloured ellipse on a coloured background."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    cx, cy, r = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65), rng.uniform(0.15, 0.35)
    inside = ((xx - cx) ** 2 + (yy - cy) ** 2) < r**2
    background, foreground = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    image = np.where(inside[..., None], foreground, background)
    return image.astype(np.uint8)


def write_images(folder: Path, n: int, size: int = 40, seed: int = 0) -> list[Path]:
    """n synthetic PNGs in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"{i:06d}.png"
        Image.fromarray(synthetic_face(rng, size)).save(path)
        paths.append(path)
    return paths


def seed_everything(seed: int = 1234) -> None:
    """Python, NumPy and TensorFlow random state set: what a test trains is the same on every run."""
    import keras

    keras.utils.set_random_seed(seed)


def write_latents(path: Path, names: list[str], latent_dim: int = LATENT_DIM, seed: int = 0,
                  weights_sha: str = "0123456789abcdef") -> Path:
    """A latents.npz written by the one writer `vae.py index` uses, with anisotropic random latents."""
    from latentlab.latent.space import write_latents as write_latents_file

    rng = np.random.default_rng(seed)
    scales = np.linspace(2.0, 0.2, latent_dim)
    z_mean = rng.standard_normal((len(names), latent_dim)) * scales + 0.3
    write_latents_file(path, names, z_mean, np.ones(latent_dim), image_size=32, crop="center",
                  weights_sha=weights_sha, data_root=str(path.parent / "photos"))
    return path


def write_untrained_model(folder: Path, **changes) -> Path:
    """Weights and model.json of an untrained tiny model (center crop) in `folder`; returns the weights path."""
    from latentlab.model.config import save_model_json
    from latentlab.model.vae import build_vae
    from latentlab.model.weights import save_weights_atomic
    from latentlab.paths import model_json_path

    config = tiny_config(crop="center", **changes)
    weights = folder / "vae.weights.h5"
    save_weights_atomic(build_vae(config), weights)
    save_model_json(model_json_path(weights), config)
    return weights


@contextmanager
def shown(qtbot, window, width: int, height: int):
    """The window at this size, shown with its first frame decoded; shut down when the block ends."""
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    assert window.wait_for_frame(20000)
    try:
        yield window
    finally:
        window.shutdown()


def portrait() -> np.ndarray:
    """A real face photo that ships with matplotlib (Grace Hopper, 512x600 RGB uint8): mtcnn finds her face, so
    detection and tracking tests need neither ../shared nor a download."""
    import matplotlib.cbook

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as image:
        return np.asarray(image.convert("RGB"))
