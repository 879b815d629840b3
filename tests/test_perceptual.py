"""The perceptual loss term: its distance, its settings, its place in training, and what stays out of the VAE's
weights file."""

import csv

import numpy as np
import pytest

from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.eval.judge import Judge, JudgeConfig, build_judge
from latentlab.model.config import load_model_json
from latentlab.model.vae import build_vae
from latentlab.model.weights import load_vae
from latentlab.train.terms.perceptual import PerceptualDistance, Settings
from tests.helpers import seed_everything, synthetic_face, tiny_config

NAMES = ("Smiling", "Male")


@pytest.fixture
def feature_net(tmp_path):
    """A random-weight network in the judge's format, saved as `train-judge --out FILE` saves one, reading
    16 px faces (so the 32 px training images are shrunk inside the compiled train step)."""
    seed_everything()
    config = JudgeConfig(names=NAMES, image_size=16, widths=(8, 16), strides=(2, 2), crop="center")
    return Judge(build_judge(config), config).save(tmp_path / "perceptual.weights.h5")


def faces(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([synthetic_face(rng, size) for _ in range(n)]).astype(np.float32) / 255.0


def test_distance_is_zero_for_the_same_image_and_grows_with_the_change(feature_net):
    distance = PerceptualDistance.load(feature_net)
    images = faces(4, size=64)  # four times the network's input: shrunk on the way in
    assert np.allclose(np.asarray(distance(images, images)), 0.0, atol=1e-6)
    for side in (48, 24):  # pooled by 3; resized by 1.5
        crop = images[:, :side, :side]
        assert np.allclose(np.asarray(distance(crop, crop)), 0.0, atol=1e-6)
        assert np.all(np.asarray(distance(crop, crop[::-1])) > 0)
    rng = np.random.default_rng(1)
    slight = np.clip(images + rng.normal(0, 0.02, images.shape), 0, 1).astype(np.float32)
    strong = np.clip(images + rng.normal(0, 0.3, images.shape), 0, 1).astype(np.float32)
    near, far = np.asarray(distance(images, slight)), np.asarray(distance(images, strong))
    assert near.shape == (4,) and np.all(near > 0)
    assert np.all(far > near)
    assert np.all(far <= 4.0 * 2), "unit-length features: at most 4 per layer, two layers"


def test_missing_network_is_one_clear_error(tmp_path, image_folder, capsys):
    code = main(["train", "--data", str(image_folder), "--perceptual-weight", "10",
                 "--perceptual-net", str(tmp_path / "none.weights.h5"), "--out", str(tmp_path / "vae.weights.h5")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: perceptual network") and "train-judge" in err and len(err.splitlines()) == 1


def test_the_perceptual_loss_needs_its_network_named(tmp_path, image_folder, capsys):
    code = main(["train", "--data", str(image_folder), "--perceptual-weight", "10",
                 "--out", str(tmp_path / "vae.weights.h5")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "--perceptual-net FILE" in err and len(err.splitlines()) == 1
    with pytest.raises(UserError, match="must be >= 0"):
        Settings(weight=-1.0)


@pytest.mark.slow
def test_training_with_the_perceptual_loss_logs_it_and_keeps_the_weights_file_plain(tmp_path, image_folder,
                                                                                     feature_net):
    weights = tmp_path / "vae.weights.h5"
    args = ["train", "--data", str(image_folder), "--image-size", "32", "--latent-dim", "8", "--widths", "8,16",
            "--batch-size", "8", "--out", str(weights), "--runs-dir", str(tmp_path / "runs"), "--name", "p",
            "--perceptual-weight", "50", "--perceptual-net", str(feature_net)]
    assert main(args + ["--epochs", "1"]) == 0
    config, _ = load_model_json(weights.with_name("model.json"))
    assert config.terms == {"perceptual": {"weight": 50.0, "net": str(feature_net)}}
    with open(tmp_path / "runs" / "p" / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[0]["perceptual"]) > 0 and float(rows[0]["val_perceptual"]) > 0
    loss_parts = float(rows[0]["reconstruction"]) + 50 * float(rows[0]["perceptual"])
    assert float(rows[0]["loss"]) > loss_parts * 0.99, "the loss includes the weighted perceptual term"
    plain = build_vae(tiny_config())
    assert len(load_vae(weights)[0].weights) == len(plain.weights), "the feature network stays out of the file"
    assert main(args + ["--epochs", "2", "--resume"]) == 0, "a resumed run finds its feature network again"
