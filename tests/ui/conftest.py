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

from tests.helpers import LATENT_DIM, N_IMAGES, shown, write_latents  # noqa: E402


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
    from latentlab.latent.space import LatentSpace

    return LatentSpace.load(dataset[0], LATENT_DIM)


@pytest.fixture
def window(qtbot, tiny_codec, space, dataset):
    """The real MainWindow on the tiny model, showing its first frame."""
    from latentlab.ui.window.main_window import MainWindow

    main_window = MainWindow(tiny_codec, space, data_dir=dataset[1], rng=np.random.default_rng(7))
    with shown(qtbot, main_window, 1400, 850):
        yield main_window
