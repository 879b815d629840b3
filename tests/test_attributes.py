"""Attribute directions: AUC, planted-direction recovery, conditional editing, the stored file (NumPy only)."""

import itertools

import numpy as np
import pytest

from latentlab.errors import UserError
from latentlab.latent.directions import (
    AttributeDirections,
    auc_per_attribute,
    conditional_direction,
    fit_directions,
    fit_from_latents,
    logistic_directions,
    mean_difference_directions,
    roc_auc,
    split_mask,
)


def brute_force_auc(scores, labels):
    """P(score of a positive > score of a negative) + 0.5 P(tie), over every pair."""
    positives = [s for s, y in zip(scores, labels) if y > 0]
    negatives = [s for s, y in zip(scores, labels) if y <= 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(positives, negatives))
    return wins / (len(positives) * len(negatives))


def test_auc_matches_hand_computed_toy_cases():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [-1, -1, 1, 1]) == pytest.approx(0.75)
    # pairs (pos, neg): (.5,.5) tie = 0.5, (.5,.2) = 1, (.9,.5) = 1, (.9,.2) = 1 -> 3.5 / 4
    assert roc_auc([0.5, 0.5, 0.2, 0.9], [1, -1, -1, 1]) == pytest.approx(0.875)
    assert roc_auc([3, 2, 1], [1, 1, -1]) == 1.0 and roc_auc([1, 2, 3], [1, 1, -1]) == 0.0
    assert np.isnan(roc_auc([1, 2], [1, 1]))


def test_auc_equals_pairwise_count_with_many_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 60).astype(float)
    labels = np.where(rng.random(60) < 0.4, 1, -1)
    assert roc_auc(scores, labels) == pytest.approx(brute_force_auc(scores, labels))


def test_auc_per_attribute_skips_unknown_labels():
    scores = np.array([[0.1], [0.9], [0.5], [0.2]])
    labels = np.array([[-1], [1], [0], [1]], np.int8)
    assert auc_per_attribute(scores, labels)[0] == pytest.approx(brute_force_auc([0.1, 0.9, 0.2], [-1, 1, 1]))


def planted(n=4000, d=16, seed=0, correlated=False):
    """Latents, a planted unit direction and labels = sign(z . w + noise)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)).astype(np.float32)
    if correlated:
        mixing = np.eye(d) + 0.6 * rng.standard_normal((d, d)) / np.sqrt(d)
        z = (z @ mixing * np.linspace(0.3, 1.5, d)).astype(np.float32)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    labels = np.where(z @ w + 0.3 * z.std() * rng.standard_normal(n) > 0.2, 1, -1).astype(np.int8)
    return z, w, labels[:, None]


@pytest.mark.parametrize("method", ["mean_diff", "logistic"])
def test_directions_recover_a_planted_direction(method):
    z, w, labels = planted()
    if method == "mean_diff":
        direction = mean_difference_directions(z, labels)[0]
    else:
        direction = logistic_directions(z, labels)[0][0]
    assert np.linalg.norm(direction) == pytest.approx(1.0, abs=1e-5)
    assert float(direction @ w) > 0.97


def test_logistic_recovers_the_hyperplane_normal_in_correlated_latents():
    z, w, labels = planted(correlated=True)
    direction, info = logistic_directions(z, labels)
    assert float(direction[0] @ w) > 0.97
    assert info["iterations"] >= 1


def test_logistic_direction_of_a_mirror_symmetric_set_is_exactly_its_label_axis():
    # the corners of a rectangle, labelled by the sign of z0 with one label flipped per corner: mirroring z1 maps the
    # set onto itself, so the optimal hyperplane normal is +z0; rows labelled 0 would break the symmetry if used
    z = np.repeat(np.array([[2.0, 5.0], [2.0, -5.0], [-2.0, 5.0], [-2.0, -5.0]]), 4, axis=0)
    labels = np.where(z[:, 0] > 0, 1, -1).astype(np.int8)
    labels[::4] *= -1
    z = np.concatenate([z, np.tile([[2.0, 5.0]], (20, 1))]).astype(np.float32)
    labels = np.concatenate([labels, np.zeros(20, np.int8)])[:, None]
    np.testing.assert_allclose(logistic_directions(z, labels)[0][0], [1.0, 0.0], atol=1e-4)


def two_attribute_directions():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(12)
    b = 0.7 * a + 0.3 * rng.standard_normal(12)  # entangled, as glasses with age
    directions = np.stack([a / np.linalg.norm(a), b / np.linalg.norm(b)]).astype(np.float32)
    return AttributeDirections(["Eyeglasses", "Young"], directions, np.zeros(2, np.float32),
                               np.array([2.0, 1.0], np.float32), "logistic", "abc")


def test_conditional_editing_leaves_the_held_score_unchanged():
    attrs = two_attribute_directions()
    z = np.random.default_rng(2).standard_normal((5, 12)).astype(np.float32)
    free = attrs.edit(z, "Eyeglasses", 1.5)
    held = attrs.edit(z, "Eyeglasses", 1.5, hold=["Young"])
    before, after_free, after_held = attrs.scores(z), attrs.scores(free), attrs.scores(held)
    np.testing.assert_allclose(after_held[:, 1], before[:, 1], atol=1e-5)
    assert np.all(np.abs(after_free[:, 1] - before[:, 1]) > 0.1), "without holding, Young is dragged along"
    assert np.all(after_held[:, 0] > before[:, 0] + 0.5)
    np.testing.assert_allclose(after_free[:, 0] - before[:, 0], 1.5 * 2.0, rtol=1e-5)


def test_edit_with_many_amounts_gives_one_latent_per_amount():
    attrs = two_attribute_directions()
    z = np.zeros((3, 12), np.float32)
    moved = attrs.edit(z, "young", np.linspace(-2, 2, 5))
    assert moved.shape == (5, 3, 12)
    np.testing.assert_allclose(attrs.scores(moved)[:, 0, 1], np.linspace(-2, 2, 5), atol=1e-5)


def test_conditional_direction_refuses_a_direction_inside_the_held_span():
    d = np.eye(4, dtype=np.float32)
    with pytest.raises(UserError, match="span"):
        conditional_direction(d[0] + d[1], d[:2])
    assert conditional_direction(d[0] + d[2], d[2:3]) @ d[2] == pytest.approx(0.0, abs=1e-7)


def test_unknown_attribute_lists_the_valid_names():
    with pytest.raises(UserError, match="valid names: Eyeglasses, Young"):
        two_attribute_directions().index("Smiles")


def test_save_load_round_trip_and_stale_or_missing_files(tmp_path):
    attrs = two_attribute_directions()
    path = attrs.save(tmp_path / "attributes.npz")
    loaded = AttributeDirections.load(path, weights_sha="abc")
    assert loaded.names == attrs.names and loaded.method == "logistic" and loaded.weights_sha == "abc"
    np.testing.assert_array_equal(loaded.directions, attrs.directions)
    with pytest.raises(UserError, match="other weights"):
        AttributeDirections.load(path, weights_sha="def")
    with pytest.raises(UserError, match="not found"):
        AttributeDirections.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not an attribute-directions file"):
        AttributeDirections.load(tmp_path / "junk.npz")


def test_fit_directions_measures_both_methods_and_keeps_the_better():
    z, w, labels = planted(n=3000, correlated=True)
    labels = np.concatenate([labels, -labels], axis=1)
    train = np.arange(len(z)) % 5 != 0
    attrs, report = fit_directions(z, labels, ["A", "notA"], train, ~train, weights_sha="x")
    assert set(report["auc"]) == {"logistic", "mean_diff"}
    best = max(report["mean_auc"], key=report["mean_auc"].get)
    assert attrs.method == report["method"] == best
    assert attrs.directions.shape == (2, 16) and attrs.directions.dtype == np.float32
    np.testing.assert_allclose(attrs.directions[0], -attrs.directions[1], atol=1e-4)
    assert report["auc"][best]["A"] > 0.9
    forced, _ = fit_directions(z, labels, ["A", "notA"], train, ~train, method="mean_diff")
    assert forced.method == "mean_diff"


def test_split_uses_the_official_partition_when_present(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n000004.jpg 0\n")
    train, val, how = split_mask(["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"], str(tmp_path / "img"))
    assert how == "official" and train.tolist() == [True, False, False, True]
    assert val.tolist() == [False, True, False, False]
    train, val, how = split_mask([f"{i}.jpg" for i in range(50)], "/nonexistent")
    assert how == "seeded" and val.sum() == 5 and not (train & val).any()


def test_fit_from_latents_needs_labels():
    with pytest.raises(UserError, match="no attribute labels"):
        fit_from_latents({"z_mean": np.zeros((4, 2)), "names": np.array(["a", "b", "c", "d"])})
