"""Shared fixtures: synthetic image folders and a tiny trained model (no ../shared, no data/ needed)."""

import hashlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.helpers import seed_everything, tiny_config, write_images  # noqa: E402


@pytest.fixture(autouse=True)
def seeded():
    seed_everything()


def _shipped_files() -> dict[str, str]:
    from latentlab.paths import DATA_DIR

    return {str(p.relative_to(DATA_DIR)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(DATA_DIR.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True, scope="session")
def shipped_files_untouched():
    """No test may write into data/ (a default path such as ModelFiles' fallback to the shipped judge)."""
    before = _shipped_files()
    yield
    changed = sorted(name for name, digest in _shipped_files().items() if before.get(name) != digest)
    assert not changed, f"tests changed the shipped files data/{', data/'.join(changed)}"


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    write_images(folder, 48)
    return folder


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory, image_folder) -> Path:
    """Weights of a tiny model trained for 2 epochs through the CLI; returns the weights path."""
    from latentlab.cli.main import main

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


@pytest.fixture(scope="session")
def tiny_codec():
    """The tiny model with random weights behind the real Codec (compiled once)."""
    from latentlab.model.codec import Codec
    from latentlab.model.vae import build_vae

    return Codec(build_vae(tiny_config()))
