"""`vae.py attributes / manipulate / plot-latents / evaluate --attributes / bench` on a tiny model and synthetic
latents (no ../shared; the live mirror's video is made of the shipped data/vae.weights.h5's faces where it is
there)."""

import json

import numpy as np
import pytest
from PIL import Image

from latentlab.cli.main import main
from latentlab.eval.bench import KEYS
from latentlab.files import weights_fingerprint
from latentlab.latent.directions import AttributeDirections
from latentlab.latent.space import write_latents
from latentlab.paths import DEFAULT_WEIGHTS
from tests.helpers import write_images, write_untrained_model

NAMES = ["Smiling", "Eyeglasses", "Young"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(weights path, latents.npz path) of an untrained tiny model and 300 synthetic labelled latents."""
    work = tmp_path_factory.mktemp("semantics")
    weights = write_untrained_model(work, batch_size=16)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 8)).astype(np.float32)
    planted = rng.standard_normal((3, 8))
    labels = np.where(z @ planted.T + 0.3 * rng.standard_normal((300, 3)) > 0, 1, -1).astype(np.int8)
    write_latents(work / "latents.npz", [f"{i:06d}.jpg" for i in range(300)], z,
                  np.array([2.5, 1.2, 0.9, 0.005, 0.4, 0.3, 0.2, 0.1], np.float32), image_size=32, crop="center",
                  weights_sha=weights_fingerprint(weights), data_root=str(work / "no_images_here"),
                  attribute_names=NAMES, attributes=labels)
    return weights, work / "latents.npz"


@pytest.fixture(scope="module")
def directions(tiny):
    weights, latents = tiny
    out = latents.with_name("attributes.npz")
    assert main(["attributes", "--latents", str(latents), "--out", str(out)]) == 0
    return out


def test_attributes_fits_every_label_and_records_the_model(tiny, directions, capsys):
    weights, latents = tiny
    attrs = AttributeDirections.load(directions, weights_fingerprint(weights))
    assert attrs.names == NAMES and attrs.directions.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(attrs.directions, axis=1), 1.0, atol=1e-5)
    assert attrs.method in ("logistic", "mean_diff") and float(np.min(attrs.val_auc)) > 0.8
    assert main(["attributes", "--latents", str(latents), "--out", str(directions), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["split"] == "seeded" and report["n_val"] == 30 and set(report["auc"]["logistic"]) == set(NAMES)


def manipulate(tiny, directions, *extra):
    weights, latents = tiny
    return main(["manipulate", "--weights", str(weights), "--latents", str(latents), "--directions", str(directions),
                 *extra])


def test_manipulate_writes_faces_by_strengths_grid(tiny, directions, tmp_path):
    out = tmp_path / "smiling.png"
    assert manipulate(tiny, directions, "--attr", "Smiling", "--n", "3", "--steps", "5", "--out", str(out)) == 0
    assert Image.open(out).size == (5 * 34 + 2, 3 * 34 + 2)
    assert manipulate(tiny, directions, "--attr", "eyeglasses", "--index", "4", "7", "--hold", "Young", "Smiling",
                      "--out", str(out)) == 0
    assert Image.open(out).size == (7 * 34 + 2, 2 * 34 + 2)


def test_manipulate_a_photo(tiny, directions, tmp_path):
    photo = write_images(tmp_path / "photos", 1, size=50)[0]
    out = tmp_path / "photo.png"
    assert manipulate(tiny, directions, "--attr", "Young", "--photo", str(photo), "--steps", "3",
                      "--out", str(out)) == 0
    assert Image.open(out).size == (3 * 34 + 2, 34 + 2)


@pytest.mark.parametrize("args, message", [
    (["--attr", "Smile"], "valid names: Smiling, Eyeglasses, Young"),
    (["--attr", "Smiling", "--index", "300"], "out of range"),
    (["--attr", "Smiling", "--steps", "1"], "--steps"),
    (["--attr", "Smiling", "--photo", "/nonexistent.jpg"], "cannot read photo"),
])
def test_manipulate_mistakes_are_one_line_exit_2(tiny, directions, tmp_path, capsys, args, message):
    assert manipulate(tiny, directions, *args, "--out", str(tmp_path / "x.png")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_manipulate_refuses_directions_of_other_weights(tiny, directions, tmp_path, capsys):
    stale = AttributeDirections.load(directions)
    stale.weights_sha = "0123456789abcdef"
    stale.save(tmp_path / "stale.npz")
    assert manipulate(tiny, tmp_path / "stale.npz", "--attr", "Smiling", "--out", str(tmp_path / "x.png")) == 2
    assert "other weights" in capsys.readouterr().err


def test_plot_latents_marks_a_latent(tiny, tmp_path, capsys):
    _, latents = tiny
    np.save(tmp_path / "z.npy", np.ones(8, np.float32))
    out = tmp_path / "latents.png"
    assert main(["plot-latents", "--latents", str(latents), "--out", str(out),
                 "--latent", str(tmp_path / "z.npy")]) == 0
    assert Image.open(out).size == (1100, 750)
    assert "7 of 8 dimensions active" in capsys.readouterr().out
    assert main(["plot-latents", "--latents", str(latents), "--out", str(out), "--index", "5", "--dims", "0,3"]) == 0
    np.save(tmp_path / "bad.npy", np.ones(3, np.float32))
    assert main(["plot-latents", "--latents", str(latents), "--out", str(out),
                 "--latent", str(tmp_path / "bad.npy")]) == 2


def test_index_and_evaluate_with_attributes(tiny, tmp_path, capsys):
    weights, _ = tiny
    images = tmp_path / "faces"
    write_images(images, 24, size=40, seed=3)
    labels = tmp_path / "list_attr_celeba.txt"
    rows = [f"{i:06d}.jpg " + " ".join("1" if (i + j) % 3 == 0 else "-1" for j in range(3)) for i in range(24)]
    labels.write_text("24\n" + " ".join(NAMES) + "\n" + "\n".join(rows) + "\n")
    latents = tmp_path / "index" / "latents.npz"
    assert main(["index", "--data", str(images), "--weights", str(weights), "--out", str(latents),
                 "--attributes", str(labels)]) == 0
    fitted = latents.with_name("attributes.npz")
    assert AttributeDirections.load(fitted, weights_fingerprint(weights)).names == NAMES
    capsys.readouterr()
    assert main(["evaluate", "--data", str(images), "--weights", str(weights), "--attributes", str(labels),
                 "--directions", str(fitted), "--json", "--grid", str(tmp_path / "grid.png")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["attribute_auc"]) == set(NAMES)
    assert all(0.0 <= v <= 1.0 for v in result["attribute_auc"].values())


@pytest.mark.slow
def test_bench_json_emits_every_key(tiny, capsys):
    weights, _ = tiny
    assert main(["bench", "--json", "--weights", str(weights), "--repeats", "10", "--train-steps", "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert "cores" in out[0].lower()
    assert set(KEYS) <= set(result)
    assert 0 < result["ui_ms_per_face_change_p95"] and 0 < result["startup_window_s"] < result["startup_first_face_s"]
    assert result["cores"] >= 1 and result["nn_latents"] == 202_599
    if DEFAULT_WEIGHTS.is_file():  # the untrained model draws no face: the video is made of the shipped model's
        assert result["live_video"] == "faces the shipped model decodes"
        assert result["live_fps"] > 0 and result["live_latency_ms_p95"] > 0 and result["live_jitter_raw"] >= 0


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason="committed weights data/vae.weights.h5 absent")
def test_the_live_video_is_made_of_faces_the_model_decodes_and_mtcnn_finds():
    from latentlab.eval.bench import LIVE_FACES, live_clip_faces
    from latentlab.faces.align import detect_faces
    from latentlab.faces.camera import MovingFaceSource
    from latentlab.model.codec import Codec

    codec = Codec.load(DEFAULT_WEIGHTS)
    faces, made_of = live_clip_faces(codec, DEFAULT_WEIGHTS, None)
    assert made_of == "faces the model decodes" and len(faces) == LIVE_FACES
    assert all(face.shape == (codec.image_size, codec.image_size, 3) and face.dtype == np.uint8 for face in faces)
    video = MovingFaceSource(faces, noise=2.0)
    frames = [video.frame(i) for i in range(0, int(video.fps * video.seconds_per_face * LIVE_FACES), 40)]
    assert all(detect_faces(frame) for frame in frames)


def test_the_live_video_takes_photos_of_a_data_folder(tiny, tmp_path):
    from latentlab.eval.bench import live_clip_faces

    write_images(tmp_path / "photos", 8, size=48)
    faces, made_of = live_clip_faces(None, tiny[0], tmp_path / "photos")
    assert made_of == f"photos of {tmp_path / 'photos'}"
    assert len(faces) == 6 and all(face.shape == (48, 48, 3) for face in faces)
