"""Shared fixtures: synthetic image folders and a tiny trained model (no ../shared, no data/ needed)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from latentlab.config import ModelConfig  # noqa: E402

TINY = dict(image_size=32, latent_dim=8, widths=(8, 16), bottleneck_channels=8, batch_size=8)


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


@pytest.fixture(autouse=True)
def seeded():
    seed_everything()


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    write_images(folder, 48)
    return folder


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory, image_folder) -> Path:
    """Weights of a tiny model trained for 2 epochs through the CLI; returns the weights path."""
    from latentlab.cli import main

    seed_everything()
    work = tmp_path_factory.mktemp("tiny_model")
    weights = work / "vae.weights.h5"
    code = main([
        "train", "--data", str(image_folder), "--epochs", "2", "--image-size", "32", "--latent-dim", "8",
        "--widths", "8,16", "--batch-size", "8", "--out", str(weights), "--runs-dir", str(work / "runs"),
        "--name", "tiny",
    ])
    assert code == 0
    return weights
