"""The attribute judge (latentlab.eval.judge), `vae.py train-judge` and `vae.py evaluate --edits` on tiny models and
synthetic images (no ../shared, no data/judge.weights.h5)."""

import json

import h5py
import numpy as np
import pytest
from PIL import Image

from latentlab.cli.main import main
from latentlab.eval.judge import (
    IDENTITY_ATTRIBUTES,
    SIDE_EFFECT,
    Judge,
    JudgeConfig,
    build_judge,
    label_rows,
    largest_side_effect,
    soften,
    train_judge,
)
from latentlab.files import weights_fingerprint
from latentlab.latent.directions import AttributeDirections, roc_auc
from tests.helpers import synthetic_face, write_images, write_untrained_model

CELEBA_NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair "
    "Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones "
    "Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline "
    "Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick "
    "Wearing_Necklace Wearing_Necktie Young"
).split()


def tiny_judge_config(**changes) -> JudgeConfig:
    return JudgeConfig(**{"names": CELEBA_NAMES, "image_size": 32, "widths": (8, 16), "strides": (2, 2),
                          "crop": "center", **changes})


def brightness_photos(folder, n: int, seed: int) -> tuple[list, np.ndarray]:
    """n synthetic PNGs, attribute 0 = brighter than 100 on average: (paths, targets (n, 40) of 0 / 1, others
    random)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    targets = (rng.random((n, len(CELEBA_NAMES))) > 0.5).astype(np.float32)
    paths = []
    for i, level in enumerate(rng.uniform(0.15, 1.0, n)):
        image = (synthetic_face(rng, 40) * level).astype(np.uint8)
        targets[i, 0] = image.mean() > 100
        paths.append(folder / f"{i:06d}.png")
        Image.fromarray(image).save(paths[-1])
    return paths, targets


def test_judge_builds_with_one_sigmoid_per_attribute_and_reads_any_size():
    judge = Judge(build_judge(JudgeConfig(names=CELEBA_NAMES)), JudgeConfig(names=CELEBA_NAMES))
    assert judge.model.output_shape == (None, 40)
    assert judge.model.count_params() * 4 < 2 * 1024 * 1024, "the committed weights stay under 2 MB"
    for images in (np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8),
                   np.random.default_rng(1).random((2, 64, 64, 3), dtype=np.float32)):
        p = judge.probabilities(images)
        assert p.shape == (len(images), 40) and p.dtype == np.float32 and ((p >= 0) & (p <= 1)).all()
    faces = np.random.default_rng(2).random((3, 64, 64, 3), dtype=np.float32)
    np.testing.assert_allclose(judge.probabilities(faces), judge.model(faces, training=False).numpy(), atol=1e-6,
                               err_msg="the compiled call reads as the model itself")


def test_the_largest_side_effect_leaves_out_the_moved_held_and_unjudged_attributes():
    before = np.array([0.2, 0.8, 0.5, np.nan, 0.1])
    after = np.array([0.9, 0.2, 0.1, 0.9, 0.2])
    assert largest_side_effect(before, after, moved=0) == (1, pytest.approx(-0.6))
    assert largest_side_effect(before, after, moved=0, skip=[1]) == (2, pytest.approx(-0.4))
    assert largest_side_effect(before, after, moved=0, skip=[1, 2]) is None, "0.1 is below the threshold"
    assert largest_side_effect(before, before + SIDE_EFFECT, moved=0) == (1, pytest.approx(SIDE_EFFECT))
    assert largest_side_effect(before[:1], after[:1], moved=0) is None


def test_soften_keeps_shape_range_and_a_flat_image():
    import tensorflow as tf

    flat = tf.fill((32, 32, 3), 0.4)
    noisy = tf.random.uniform((32, 32, 3))
    for _ in range(12):
        np.testing.assert_allclose(soften(flat).numpy(), 0.4, atol=1e-5)
        out = soften(noisy).numpy()
        assert out.shape == (32, 32, 3) and 0 <= out.min() and out.max() <= 1


def test_judge_learns_a_visible_attribute_and_round_trips(tmp_path):
    train = brightness_photos(tmp_path / "train", 192, seed=0)
    val = brightness_photos(tmp_path / "val", 64, seed=1)
    judge, summary = train_judge(tiny_judge_config(), train, val, epochs=12, batch_size=16, learning_rate=5e-3,
                                 cache_dir=tmp_path / "cache", verbose=0)
    assert summary["train_images"] == 192 and summary["val_images"] == 64 and len(summary["val_loss"]) == 12
    photos = np.stack([np.asarray(Image.open(p)) for p in val[0]])
    probabilities = judge.probabilities(photos)
    assert roc_auc(probabilities[:, 0], val[1][:, 0]) > 0.9

    out = tmp_path / "judge.weights.h5"
    judge.save(out)
    assert out.with_name("judge.json").is_file()
    with h5py.File(out) as saved:
        assert "optimizer" not in saved, "the committed weights carry no optimizer state"
    loaded = Judge.load(out)
    assert loaded.config == judge.config and loaded.summary["epochs"] == 12
    np.testing.assert_allclose(loaded.probabilities(photos), probabilities, atol=1e-5)


def test_label_rows_follow_the_file_stems():
    labels = {"000001": np.array([1, -1], np.int8), "000002": np.array([-1, 1], np.int8)}
    rows = label_rows(["x/000002.jpg", "000001.png", "unknown.jpg"], labels, 2)
    np.testing.assert_array_equal(rows, [[-1, 1], [1, -1], [0, 0]])


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    """(folder of 24 photos, VAE weights, attribute directions, judge weights): untrained, 40 CelebA names."""
    work = tmp_path_factory.mktemp("judge_world")
    folder = work / "photos"
    write_images(folder, 24)
    weights = write_untrained_model(work)
    rng = np.random.default_rng(0)
    directions = rng.standard_normal((40, 8)).astype(np.float32)
    AttributeDirections(
        names=list(CELEBA_NAMES), directions=directions / np.linalg.norm(directions, axis=1, keepdims=True),
        score_mean=np.zeros(40, np.float32), score_std=np.full(40, 1.5, np.float32), method="logistic",
        weights_sha=weights_fingerprint(weights),
    ).save(work / "attributes.npz")
    judge_config = tiny_judge_config()
    Judge(build_judge(judge_config), judge_config).save(work / "judge.weights.h5")
    return folder, weights, work / "attributes.npz", work / "judge.weights.h5"


def evaluate_edits(world, *extra):
    folder, weights, directions, judge = world
    return main(["evaluate", "--edits", "--raw", "--data", str(folder), "--weights", str(weights), "--directions",
                 str(directions), "--judge", str(judge), "--limit", "6", *extra])


def test_evaluate_edits_reports_every_direction(tiny_world, capsys):
    assert evaluate_edits(tiny_world, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["faces"] == 6 and result["amount"] == 2.0 and len(result["rows"]) == 40
    for row in result["rows"]:
        assert -1 <= row["effect"] <= 1 and 0 <= row["identity_leakage"] <= 1
        assert len(row["top_leaks"]) == 3 and row["attribute"] not in row["top_leaks"]
        assert set(row["top_leaks"]) <= set(CELEBA_NAMES) and len(row["leakage"]) == 39
        assert [row["leakage"][n] for n in row["top_leaks"]] == sorted(row["leakage"].values(), reverse=True)[:3]
    assert result["mean_effect"] == pytest.approx(np.mean([r["effect"] for r in result["rows"]]), abs=1e-4)
    assert set(IDENTITY_ATTRIBUTES) <= set(CELEBA_NAMES)


def test_evaluate_edits_table_and_holds(tiny_world, capsys):
    assert evaluate_edits(tiny_world, "--hold", "Male", "young") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "holding Male, young" in lines[0] and len(lines) == 1 + 1 + 40 + 1
    assert lines[2].split()[0] == "5_o_Clock_Shadow" and lines[-1].split()[:2] == ["mean", "(40)"]


def test_evaluate_edits_saves_each_directions_effect_for_the_window(tiny_world, tmp_path, capsys):
    folder, weights, directions, judge = tiny_world
    copy = tmp_path / "attributes.npz"
    copy.write_bytes(directions.read_bytes())
    assert AttributeDirections.load(copy).edit_effect is None, "nothing measured yet"
    world = (folder, weights, copy, judge)
    assert evaluate_edits(world, "--save-effects", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    saved = AttributeDirections.load(copy, weights_fingerprint(weights), 8)
    np.testing.assert_allclose(saved.edit_effect, [row["effect"] for row in result["rows"]], atol=1e-6)
    assert saved.extra["edit_effect_faces"] == 6 and result["saved_effects"] == str(copy)
    original = AttributeDirections.load(directions)
    np.testing.assert_array_equal(saved.directions, original.directions)
    np.testing.assert_array_equal(saved.score_std, original.score_std)
    assert evaluate_edits(world, "--save-effects", "--hold", "Male") == 2
    assert "leave out --hold" in capsys.readouterr().err


def test_evaluate_edits_bad_input_is_one_line(tiny_world, tmp_path, capsys):
    folder, weights, directions, _ = tiny_world
    missing = tmp_path / "judge.weights.h5"
    assert evaluate_edits((folder, weights, directions, missing)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "judge weights" in err and "train-judge" in err
    assert evaluate_edits(tiny_world, "--hold", "Smilling") == 2
    assert "unknown attribute 'Smilling'" in capsys.readouterr().err


@pytest.mark.slow
def test_train_judge_command_writes_and_measures(tiny_world, tmp_path, capsys):
    folder, weights, _, _ = tiny_world
    rng = np.random.default_rng(0)
    stems = sorted(p.stem for p in folder.glob("*.png"))
    lines = [str(len(stems)), " ".join(CELEBA_NAMES)]
    lines += [f"{s}.jpg " + " ".join(rng.choice(["1", "-1"], 40)) for s in stems]
    attributes = tmp_path / "list_attr_celeba.txt"
    attributes.write_text("\n".join(lines) + "\n")
    out = tmp_path / "judge.weights.h5"
    args = ["train-judge", "--data", str(folder), "--attributes", str(attributes), "--weights", str(weights),
            "--out", str(out), "--batch-size", "8", "--runs-dir", str(tmp_path / "runs"), "--json"]
    assert main(args + ["--epochs", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 1 and summary["train_images"] + summary["val_images"] == 24
    assert set(summary["val_auc"]["photos"]) == set(CELEBA_NAMES) and summary["val_auc"]["n_images"] >= 1
    saved = json.loads(out.with_name("judge.json").read_text())
    assert saved["config"]["names"] == CELEBA_NAMES and saved["config"]["crop"] == "center"
    assert main(args + ["--epochs", "0"]) == 0, "0 epochs: the judge at --out measured again"
    assert json.loads(capsys.readouterr().out)["epochs"] == 1
    assert main(args[:-1] + ["--epochs", "0", "--out", str(tmp_path / "none.weights.h5")]) == 2
    assert "train-judge" in capsys.readouterr().err
