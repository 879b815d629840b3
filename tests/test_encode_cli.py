"""`vae.py encode` on a tiny untrained model: the latent file, the nearest faces (a planted one comes
first), the no-face line and exit code, unreadable photos, and a real aligned CelebA face."""

import numpy as np
import pytest
from PIL import Image

from latentlab.cli.main import main
from latentlab.files import weights_fingerprint
from latentlab.latent import space as latent_space
from latentlab.latent.space import LatentSpace
from latentlab.model.config import ModelConfig, save_model_json
from latentlab.model.vae import build_vae
from latentlab.model.weights import save_weights_atomic
from tests.helpers import CELEBA_DIR, needs_celeba

LATENT_DIM = 8
NO_FACE_LINE = "no face found in {}; use --no-align to encode the whole image"


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """weights + model.json of a 32 px, 8-dimensional VAE with random weights."""
    folder = tmp_path_factory.mktemp("tiny_encode")
    config = ModelConfig(image_size=32, latent_dim=LATENT_DIM, widths=(8, 16))
    weights = folder / "vae.weights.h5"
    save_weights_atomic(build_vae(config), weights)
    save_model_json(folder / "model.json", config)
    return weights


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(5)
    path = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(path)
    return path


def write_latents(path, z_mean, weights):
    names = np.array([f"{i:06d}.jpg" for i in range(len(z_mean))])
    latent_space.write_latents(path, names, z_mean, np.ones(z_mean.shape[1]), image_size=32, crop="celeba",
                               weights_sha=weights_fingerprint(weights), data_root="")
    return names


def test_nearest_returns_the_planted_latent_among_many():
    rng = np.random.default_rng(0)
    z_mean = rng.standard_normal((20000, 32)).astype(np.float32)
    query = rng.standard_normal(32).astype(np.float32)
    z_mean[12345] = query + 0.01
    z_mean[777] = query + 0.05
    indices, distances = LatentSpace(32, z_mean).nearest(query, 3)
    assert list(indices[:2]) == [12345, 777]
    assert distances[0] == pytest.approx(0.01 * np.sqrt(32), rel=1e-3)
    assert np.all(np.diff(distances) >= 0)


def test_encode_no_align_writes_a_latent_and_lists_the_planted_neighbour(tiny_weights, photo, tmp_path, capsys):
    out = tmp_path / "z.npy"
    model_input = tmp_path / "input.png"
    assert main(["encode", str(photo), "--out", str(out), "--no-align", "--neighbours", "0",
                 "--weights", str(tiny_weights), "--aligned-out", str(model_input)]) == 0
    z = np.load(out)
    assert z.shape == (LATENT_DIM,) and z.dtype == np.float32 and np.isfinite(z).all()
    assert Image.open(model_input).size == (32, 32)

    z_mean = np.random.default_rng(1).standard_normal((300, LATENT_DIM)) * 3
    z_mean[42] = z + 0.002
    latents = tmp_path / "latents.npz"
    names = write_latents(latents, z_mean, tiny_weights)
    capsys.readouterr()
    assert main(["encode", str(photo), "--out", str(out), "--no-align", "--neighbours", "3",
                 "--weights", str(tiny_weights), "--latents", str(latents)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if "nearest" in line)
    assert lines[header] == "3 nearest dataset images (nearest by Euclidean distance between z_mean vectors):"
    first = lines[header + 1].split()
    assert first[:3] == ["1.", names[42], "#42"] and float(first[-1]) < 0.05
    assert len(lines) == header + 4


def test_encode_without_a_face_prints_one_line_and_exits_2(tiny_weights, photo, tmp_path, capsys):
    out = tmp_path / "z.npy"
    assert main(["encode", str(photo), "--out", str(out), "--weights", str(tiny_weights)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [NO_FACE_LINE.format(photo)]
    assert not out.exists()


def test_encode_refuses_unreadable_photos_and_foreign_latents(tiny_weights, photo, tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    assert main(["encode", str(broken), "--out", str(tmp_path / "z.npy"), "--weights", str(tiny_weights)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {broken}")
    other = tmp_path / "other.npz"
    np.savez(other, names=np.array(["a.jpg"]), z_mean=np.zeros((1, 16), np.float16), latent_dim=16)
    assert main(["encode", str(photo), "--out", str(tmp_path / "z.npy"), "--no-align", "--weights", str(tiny_weights),
                 "--latents", str(other)]) == 2
    assert "latent size is 8" in capsys.readouterr().err


@needs_celeba
def test_encode_aligns_a_real_face(tiny_weights, tmp_path, capsys):
    face = Image.open(CELEBA_DIR / "000054.jpg")
    photo = tmp_path / "portrait.png"
    canvas = Image.new("RGB", (400, 320), (90, 120, 150))
    canvas.paste(face.rotate(15, expand=True, fillcolor=(90, 120, 150)), (60, 20))
    canvas.save(photo)
    aligned = tmp_path / "aligned.png"
    assert main(["encode", str(photo), "--out", str(tmp_path / "z.npy"), "--weights", str(tiny_weights),
                 "--aligned-out", str(aligned), "--neighbours", "0"]) == 0
    assert Image.open(aligned).size == (178, 218)
    assert capsys.readouterr().out.startswith("face: ")
    assert np.load(tmp_path / "z.npy").shape == (LATENT_DIM,)
