"""Attribute sliders measured where the user drags them (latentlab.eval.edits), the one slider edit
(latentlab.latent.edits), `evaluate --edits` (--calibrate, --save-effects) and `manipulate --out-dir`: on synthetic
latents, a scripted judge and tiny untrained models (no ../shared)."""

import json

import numpy as np
import pytest
from PIL import Image

from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.eval import edits as measure
from latentlab.eval.judge import Judge, build_judge
from latentlab.files import weights_fingerprint
from latentlab.latent.directions import AttributeDirections
from latentlab.latent.edits import (
    MAX_RANGE,
    SLIDER_END,
    move_to_scores,
    set_slider_ranges,
    slider_edit,
    slider_ends,
    slider_ranges,
)
from tests.helpers import write_images, write_untrained_model
from tests.test_judge import CELEBA_NAMES, tiny_judge_config

NAMES = ["Smiling", "Male", "Bald", "Young", "Eyeglasses"]


def directions_of(dim: int = 6, names=NAMES, seed: int = 0) -> AttributeDirections:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(names), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return AttributeDirections(list(names), vectors, rng.normal(0, 0.3, len(names)).astype(np.float32),
                               np.full(len(names), 1.5, np.float32), "judged")


# ----------------------------------------------------------------------------- the calibration


def test_thresholds_are_the_higher_of_the_separating_one_and_the_positives_25th_percentile():
    rng = np.random.default_rng(0)
    n = 4000
    rare = rng.random(n) < 0.03  # like Bald: few positives, low probabilities even for them
    common = rng.random(n) < 0.5
    p_rare = np.where(rare, rng.uniform(0.02, 0.2, n), rng.uniform(0.0, 0.04, n))
    p_common = np.where(common, rng.uniform(0.4, 1.0, n), rng.uniform(0.0, 0.6, n))
    labels = np.stack([np.where(rare, 1, -1), np.where(common, 1, -1)], 1)
    section = measure.fit_thresholds(np.stack([p_rare, p_common], 1), labels, ["Bald", "Smiling"])
    for a, p, positive in ((0, p_rare, rare), (1, p_common, common)):
        p25 = np.percentile(p[positive], 25)
        assert section["positive_p25"][a] == pytest.approx(p25, abs=1e-4)
        assert section["values"][a] == pytest.approx(max(section["separating"][a], p25), abs=1e-4)
        j = [((p[positive] >= t).mean() - (p[~positive] >= t).mean()) for t in np.unique(p)]
        assert (p[positive] >= section["separating"][a]).mean() - (p[~positive] >= section["separating"][a]).mean() \
            == pytest.approx(max(j), abs=1e-4), "Youden's J is at its best"
        assert section["positives_read"][a] >= 0.74
    assert section["values"][0] < 0.1, "a rare attribute is read far below p = 0.5"
    assert 0.04 <= section["separating"][0] <= 0.06 and section["auc"][0] > 0.95
    one_class = measure.fit_thresholds(np.full((5, 1), 0.3), np.ones((5, 1)), ["Bald"])
    assert one_class["values"] == [None]


def test_a_flip_needs_the_reading_to_turn_over_not_a_hair_across_the_line():
    calibration = measure.Calibration(reads=np.array([0.9, 0.1]), boundary=np.array([0.5, 0.05]))
    before = np.array([[0.2, 0.01], [0.6, 0.2], [0.95, 0.07]])
    after = np.array([[0.92, 0.2], [0.7, 0.01], [0.55, 0.09]])
    np.testing.assert_array_equal(calibration.has(after), [[True, True], [False, False], [False, False]])
    np.testing.assert_array_equal(calibration.flipped(before, after), [[True, True], [False, True], [False, False]])
    nan = measure.Calibration(np.array([np.nan]), np.array([np.nan]))
    assert not nan.has(np.array([0.9])).any() and not nan.flipped(np.array([0.0]), np.array([1.0])).any()


def test_the_calibration_travels_in_judge_json(tmp_path):
    config = tiny_judge_config()
    path = Judge(build_judge(config), config, {"epochs": 3}).save(tmp_path / "judge.weights.h5")
    assert measure.judge_calibration(Judge.load(path)) is None
    with pytest.raises(UserError, match="--calibrate"):
        measure.require_calibration(Judge.load(path), path)
    rng = np.random.default_rng(1)
    labels = np.where(rng.random((200, 40)) < 0.3, 1, -1)
    probabilities = np.clip(0.3 * (labels > 0) + rng.uniform(0, 0.7, (200, 40)), 0, 1)
    measure.save_thresholds(path, measure.fit_thresholds(probabilities, labels, CELEBA_NAMES))
    loaded = Judge.load(path)
    calibration = measure.judge_calibration(loaded)
    assert loaded.summary["epochs"] == 3, "the rest of judge.json is kept"
    assert calibration.reads.shape == (40,) and (calibration.reads >= calibration.boundary).all()


# ----------------------------------------------------------------------------- the slider's edit


def test_a_slider_move_lands_on_its_score_keeps_the_held_ones_and_follows_the_range():
    d = directions_of()
    z = np.random.default_rng(2).standard_normal((7, 6)).astype(np.float32)
    held = [1, 3]
    moved = slider_edit(d, z, 2, 2.0, held)
    scores_before, scores = d.standardized_scores(z), d.standardized_scores(moved)
    np.testing.assert_allclose(scores[:, 2], 2.0, atol=1e-4)
    np.testing.assert_allclose(scores[:, held], scores_before[:, held], atol=1e-4)
    for row in range(len(z)):  # vectorised, and the same as the panel's per-face move had been
        np.testing.assert_allclose(moved[row], d.move_to_score(z[row], 2, 2.0, held), atol=1e-5)
    set_slider_ranges(d, [3.0, 3.0, 5.0, 3.0, 12.0])
    np.testing.assert_allclose(slider_ranges(d), [3, 3, 5, 3, MAX_RANGE])
    ends = slider_ends(d, z, 2)
    np.testing.assert_allclose(d.standardized_scores(ends[1])[:, 2], 5.0, atol=1e-4)
    np.testing.assert_allclose(d.standardized_scores(ends[0])[:, 2], -5.0, atol=1e-4)
    np.testing.assert_allclose(d.standardized_scores(slider_edit(d, z, 2, 1.5))[:, 2], 2.5, atol=1e-4)
    assert slider_ranges(directions_of()).tolist() == [SLIDER_END] * 5
    d.directions[2] = d.directions[0]
    with pytest.raises(UserError, match="span of the held"):
        move_to_scores(d, z, 2, 1.0, [0])


class LatentJudge:
    """Reads each attribute as sigmoid(4 * standardised score) of the latent the fake decoder wrote into the image."""

    def __init__(self, directions: AttributeDirections, names):
        self.directions, self.names = directions, tuple(names)

    def probabilities(self, images):
        z = images[:, 0, :, 0]
        scores = self.directions.standardized_scores(z)
        order = [self.directions.names.index(n) for n in self.names]
        return (1 / (1 + np.exp(-4 * scores[:, order]))).astype(np.float32)


class LatentCodec:
    def decode(self, z):
        return np.asarray(z, np.float32)[:, None, :, None]


def test_the_measure_reads_both_ends_on_the_attributes_population():
    d = directions_of()
    judge = LatentJudge(d, list(reversed(NAMES)))
    rng = np.random.default_rng(3)
    z = rng.standard_normal((40, 6)).astype(np.float32)
    male = np.arange(40) < 10
    calibration = measure.Calibration(np.full(5, 0.7), np.full(5, 0.5))
    rows = measure.measure_edits(judge, LatentCodec(), d, z, male, calibration)
    by = {r["attribute"]: r for r in rows}
    assert [r["attribute"] for r in rows] == NAMES
    assert by["Bald"]["population"] == "men" and by["Bald"]["faces"] == 10
    assert by["Smiling"]["population"] == "everyone" and by["Smiling"]["faces"] == 40
    for row in rows:  # the ends are at +-3 sd: the judge reads each attribute at + and never at -
        assert row["effect"] == pytest.approx(1.0) and row["read_minus"] == 0.0
        assert len(row["top_flips"]) == 3 and row["attribute"] not in row["top_flips"]
        ends = slider_ends(d, z[measure.population_mask(row["attribute"], male)], d.index(row["attribute"]))
        p = judge.probabilities(LatentCodec().decode(ends.reshape(-1, 6))).reshape(2, -1, 5)
        order = [judge.names.index(n) for n in NAMES]
        flips = calibration.flipped(p[0][:, order], p[1][:, order])
        identity = [NAMES.index(n) for n in ("Male", "Young", "Eyeglasses", "Smiling") if n != row["attribute"]]
        assert row["leakage"] == pytest.approx(flips[:, identity].any(axis=1).mean(), abs=1e-4)
        assert row["flips"][row["top_flips"][0]] == max(row["flips"].values())
    held = measure.measure_edits(judge, LatentCodec(), d, z, male, calibration, names=["Young", "Male"],
                                 hold=["Male"])
    assert held[1]["effect"] is None and held[0]["effect"] == pytest.approx(1.0)
    assert held[0]["flips"]["Male"] == 0.0, "a held attribute's score, and so its reading, stays"
    measure.store_measure(d, rows, 40)
    effect, leakage = measure.stored_measure(d)
    np.testing.assert_allclose(effect, 1.0)
    with pytest.raises(UserError, match="every attribute"):
        measure.store_measure(d, held, 40)


def test_fitted_ranges_stop_at_the_first_end_that_reads_like_a_photo():
    d = directions_of()
    d.directions = np.linalg.qr(d.directions.T)[0].T.astype(np.float32)  # apart: no other reading moves
    judge = LatentJudge(d, NAMES)
    z = np.random.default_rng(4).standard_normal((30, 6)).astype(np.float32)
    male = np.ones(30, bool)
    strict = measure.Calibration(np.array([0.5, 0.5, 1 / (1 + np.exp(-4 * 4.5)), 0.5, 0.5]), np.full(5, 0.4))
    ranges, report = measure.fit_slider_ranges(judge, LatentCodec(), d, z, male, strict, names=["Bald", "Smiling"])
    assert ranges[d.index("Bald")] == 5.0, "score 4.5 is reached at the 5 sd end, not at 4"
    assert ranges[d.index("Smiling")] == SLIDER_END and len(report["Smiling"]) == 1
    assert [t[0] for t in report["Bald"]] == [3.0, 4.0, 5.0]
    assert slider_ranges(d).tolist() == [SLIDER_END] * 5, "fitting stores nothing by itself"


# ----------------------------------------------------------------------------- the commands


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(photos folder with CelebA labels beside it, VAE weights, directions, judge): untrained, 40 names."""
    work = tmp_path_factory.mktemp("edits_world")
    folder = work / "img_align_celeba"
    paths = write_images(folder, 24)
    rng = np.random.default_rng(0)
    labels = np.where(rng.random((24, 40)) < 0.4, 1, -1)
    lines = ["24", " ".join(CELEBA_NAMES)] + [f"{p.stem}.png " + " ".join(map(str, row)) for p, row in
                                              zip(paths, labels)]
    (work / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    weights = write_untrained_model(work)
    vectors = rng.standard_normal((40, 8)).astype(np.float32)
    AttributeDirections(
        names=list(CELEBA_NAMES), directions=vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
        score_mean=np.zeros(40, np.float32), score_std=np.full(40, 1.5, np.float32), method="judged",
        weights_sha=weights_fingerprint(weights)).save(work / "attributes.npz")
    config = tiny_judge_config()
    Judge(build_judge(config), config).save(work / "judge.weights.h5")
    return folder, weights, work / "attributes.npz", work / "judge.weights.h5"


def evaluate(world, *extra):
    folder, weights, directions, judge = world
    return main(["evaluate", "--edits", "--data", str(folder), "--weights", str(weights), "--directions",
                 str(directions), "--judge", str(judge), "--split", "all", "--limit", "8", *extra])


def test_evaluate_edits_calibrates_measures_every_slider_and_saves_it(world, tmp_path, capsys):
    folder, weights, directions, judge = world
    copy = tmp_path / "attributes.npz"
    copy.write_bytes(directions.read_bytes())
    mine = (folder, weights, copy, judge)
    assert evaluate(mine, "--json") == 2
    assert "--calibrate" in capsys.readouterr().err, "no thresholds yet: says how to fit them"
    assert evaluate(mine, "--calibrate", "--save-effects", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["faces"] == 8 and len(result["rows"]) == 40 and result["end"] == SLIDER_END
    assert json.loads(judge.with_name("judge.json").read_text())["training"]["thresholds"]["n_photos"] == 24
    for row in result["rows"]:
        assert -1 <= row["effect"] <= 1 and 0 <= row["leakage"] <= 1 and len(row["top_flips"]) == 3
        assert row["faces"] == {"men": result["men"], "women": 8 - result["men"], "everyone": 8}[row["population"]]
    assert result["weak"] == sum(r["effect"] < measure.WEAK_EFFECT for r in result["rows"])
    effect, leakage = measure.stored_measure(AttributeDirections.load(copy))
    np.testing.assert_allclose(effect, [r["effect"] for r in result["rows"]], atol=1e-6)
    assert evaluate(mine, "--only", "Bald", "smiling") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[2].split()[:3] == ["Bald", str(result["men"]), "men"] and lines[3].split()[0] == "Smiling"
    assert lines[-1].startswith("weak (effect < 0.2): ")
    assert evaluate(mine, "--save-effects", "--hold", "Male") == 2
    assert "leave out --hold" in capsys.readouterr().err
    assert evaluate(mine, "--only", "Baldy") == 2
    assert "unknown attribute 'Baldy'" in capsys.readouterr().err


def test_manipulate_out_dir_writes_the_panels_faces_by_name(world, tmp_path, capsys):
    folder, weights, directions, _ = world
    photos = [folder / "000003.png", folder / "000005.png"]
    out = tmp_path / "faces"
    assert main(["manipulate", "--weights", str(weights), "--directions", str(directions), "--attr", "Bald",
                 "--photo", *map(str, photos), "--steps", "3", "--out-dir", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{s}_{v}.png" for s in ("000003", "000005") for v in ("+3.0", "+0.0", "-3.0"))
    assert Image.open(out / "000003_+3.0.png").size == (32, 32)
    assert main(["manipulate", "--weights", str(weights), "--directions", str(directions), "--attr", "Bald",
                 "--photo", str(photos[0])]) == 2
    assert "--out-dir" in capsys.readouterr().err
    assert main(["manipulate", "--weights", str(weights), "--directions", str(directions), "--attr", "Bald",
                 "--photo", str(photos[0]), "--keep-identity", "off", "--out-dir", str(out)]) == 2
    assert "label-fitted" in capsys.readouterr().err
