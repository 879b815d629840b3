"""Attribute directions fitted on decoded faces as the judge reads them (latentlab.latent.judged_directions) and
`vae.py attributes --method judged`, on a tiny model, a tiny untrained judge and synthetic latents."""

import json

import numpy as np
import pytest

from latentlab.cli.main import main
from latentlab.eval.judge import Judge, JudgeConfig, build_judge
from latentlab.files import weights_fingerprint
from latentlab.latent.directions import LABEL_DIRECTIONS, AttributeDirections
from latentlab.latent.judged_directions import covariances, decorrelated, ridge_gradients
from latentlab.latent.space import LatentSpace, write_latents
from tests.helpers import LATENT_DIM, write_untrained_model

NAMES = ["Smiling", "Male", "Young", "Heavy_Makeup"]


def test_ridge_gradients_recover_a_linear_logit_in_raw_latent_units():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4000, 6)) * np.array([3.0, 1.0, 0.5, 2.0, 1.0, 0.1]) + 2.0
    truth = rng.standard_normal((2, 6))
    targets = z @ truth.T + 0.01 * rng.standard_normal((4000, 2))
    np.testing.assert_allclose(ridge_gradients(z, targets, ridge=1e-6), truth, atol=0.02)


def test_ridge_gradients_of_a_two_point_set_are_the_hand_computed_shrunk_slopes():
    # z = 0, 2 standardises to -1, +1 (std 1); centred targets (-1, +1) and (+2, -2) have slopes 1 and -2 there,
    # shrunk by mean(x^2) / (mean(x^2) + ridge) = 1 / 2 at ridge 1
    z = np.array([[0.0], [2.0]])
    targets = np.array([[0.0, 4.0], [2.0, 0.0]])
    np.testing.assert_allclose(ridge_gradients(z, targets, ridge=1.0), [[0.5], [-1.0]], rtol=1e-5)


def test_covariances_match_numpy():
    rng = np.random.default_rng(1)
    z, targets = rng.standard_normal((500, 5)), rng.standard_normal((500, 3))
    expected = np.cov(np.concatenate([z, targets], axis=1).T, bias=True)[5:, :5]
    np.testing.assert_allclose(covariances(z, targets), expected, atol=1e-10)


def test_decorrelated_directions_leave_the_identity_logits_unmoved_but_keep_their_own():
    rng = np.random.default_rng(2)
    gradients = rng.standard_normal((4, 16))
    gradients[3] += 2.0 * gradients[1]  # Heavy_Makeup's logit leans on Male's
    identity = ("Smiling", "Male", "Young")
    directions = decorrelated(gradients, gradients, NAMES, identity)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-5)
    for index, name in enumerate(NAMES):
        others = [NAMES.index(n) for n in identity if n != name]
        np.testing.assert_allclose(gradients[others] @ directions[index], 0.0, atol=1e-4)
        assert directions[index] @ gradients[index] > 0.5 * np.linalg.norm(gradients[index]) * 0.5
    leaning = gradients[3] / np.linalg.norm(gradients[3])
    assert abs(leaning @ gradients[1]) > 1.0 > abs(directions[3] @ gradients[1])


@pytest.fixture(scope="module")
def judged_world(tmp_path_factory):
    """(weights, labelled latents, judge) of an untrained tiny model and judge, 200 synthetic latents."""
    work = tmp_path_factory.mktemp("judged")
    weights = write_untrained_model(work)
    rng = np.random.default_rng(3)
    z = rng.standard_normal((200, LATENT_DIM)).astype(np.float32)
    labels = np.where(z[:, :4] + 0.3 * rng.standard_normal((200, 4)) > 0, 1, -1).astype(np.int8)
    write_latents(work / "latents.npz", [f"{i:06d}.jpg" for i in range(200)], z, np.ones(LATENT_DIM, np.float32),
                  image_size=32, crop="center", weights_sha=weights_fingerprint(weights),
                  data_root=str(work / "no_images_here"), attribute_names=NAMES, attributes=labels)
    config = JudgeConfig(names=tuple(NAMES), image_size=32, widths=(8, 16), strides=(2, 2), crop="center")
    Judge(build_judge(config), config).save(work / "judge.weights.h5")
    return weights, work / "latents.npz", work / "judge.weights.h5"


def fit_judged(world, out, *extra):
    weights, latents, judge = world
    return main(["attributes", "--method", "judged", "--latents", str(latents), "--weights", str(weights),
                 "--judge", str(judge), "--out", str(out), *extra])


def test_attributes_method_judged_writes_unit_directions_and_keeps_the_label_fit(judged_world, capsys):
    weights, latents, _ = judged_world
    out = latents.with_name("attributes.npz")  # where the neighbour search looks for them
    assert fit_judged(judged_world, out, "--json") == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["method"] == "judged" and set(report["auc"]["judged"]) == set(NAMES)
    directions = AttributeDirections.load(out, weights_fingerprint(weights), LATENT_DIM)
    assert directions.method == "judged" and directions.directions.shape == (4, LATENT_DIM)
    np.testing.assert_allclose(np.linalg.norm(directions.directions, axis=1), 1.0, atol=1e-5)
    label_fit = directions.extra[LABEL_DIRECTIONS]
    assert label_fit.shape == (4, LATENT_DIM) and str(directions.extra["label_method"]) in ("logistic", "mean_diff")
    assert not np.allclose(label_fit, directions.directions)
    space = LatentSpace.load(latents, LATENT_DIM)
    z = space.z_mean[:3]
    expected = (z @ label_fit.T - directions.extra["label_score_mean"]) / directions.extra["label_score_std"]
    np.testing.assert_allclose(directions.label_scores(z), expected, rtol=1e-4, atol=1e-4)
    assert space.metric == "attributes"
    features = space.transform(z, "attributes")
    np.testing.assert_allclose(features[:, LATENT_DIM:], 4.0 * expected, rtol=1e-4, atol=1e-3)


def test_attributes_method_judged_refuses_latents_of_other_weights(judged_world, tmp_path, capsys):
    _, latents, judge = judged_world
    other = write_untrained_model(tmp_path, latent_dim=LATENT_DIM, widths=(8, 8))
    assert main(["attributes", "--method", "judged", "--latents", str(latents), "--weights", str(other),
                 "--judge", str(judge), "--out", str(tmp_path / "a.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "other weights" in err and len(err.splitlines()) == 1
