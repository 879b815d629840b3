"""LatentSpace: PCA basis, the fitted prior, invert / reset, interpolation, nearest, latents files."""

import numpy as np
import pytest

from latentlab.errors import UserError
from latentlab.latent.directions import AttributeDirections
from latentlab.latent.space import (
    METRICS,
    LatentSpace,
    load_latent_file,
    neighbour_agreement,
    principal_axes,
    read_latents,
    save_latent_file,
    write_latents,
)

D = 6


@pytest.fixture
def latents():
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((D, D))
    return (rng.standard_normal((400, D)) * np.linspace(3.0, 0.1, D)) @ mixing + 1.5


@pytest.fixture
def space(latents):
    return LatentSpace(D, latents.astype(np.float32), [f"{i:06d}.jpg" for i in range(len(latents))])


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_pca_axes_are_orthonormal_and_ordered_by_variance(space, latents):
    assert np.allclose(space.components @ space.components.T, np.eye(D), atol=1e-5)
    assert np.all(np.diff(space.sigma) <= 1e-6)
    coordinates = space.to_pca(latents)
    assert np.allclose(coordinates.mean(axis=0), 0.0, atol=1e-4)
    assert np.allclose(coordinates.std(axis=0, ddof=1), 1.0, atol=1e-3)  # sigma units
    assert np.allclose(space.from_pca(coordinates), latents, atol=1e-4)
    assert np.allclose(space.mean, latents.mean(axis=0), atol=1e-5)


def test_principal_axes_of_a_known_covariance():
    # diag(9, 1, 4) rotated by 30 degrees in the (0, 1) plane: sigma 3, 2, 1 along R e0, e2, R e1, each signed so
    # that its largest loading is positive
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    axes, sigma = principal_axes(rotation @ np.diag([9.0, 1.0, 4.0]) @ rotation.T)
    np.testing.assert_allclose(sigma, [3.0, 2.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(axes, [[c, s, 0.0], [0.0, 0.0, 1.0], [-s, c, 0.0]], atol=1e-6)


def test_with_coordinate_moves_one_slider_and_keeps_the_others(space):
    z = space.prior.draw(1, 1.0, np.random.default_rng(1))[0]
    moved = space.with_coordinate(z, "pca", 2, 1.75)
    before, after = space.to_pca(z), space.to_pca(moved)
    assert after[2] == pytest.approx(1.75, abs=1e-4)
    assert np.allclose(np.delete(after, 2), np.delete(before, 2), atol=1e-4)
    raw = space.with_coordinate(z, "raw", 4, -0.5)
    assert raw[4] == np.float32(-0.5) and np.array_equal(np.delete(raw, 4), np.delete(z, 4))


def test_invert_twice_is_identity_and_negates_pca_coordinates(space):
    z = space.prior.draw(1, 1.5, np.random.default_rng(2))[0]
    inverse = space.invert(z)
    assert np.allclose(space.to_pca(inverse), -space.to_pca(z), atol=1e-4)
    assert np.allclose(space.invert(inverse), z, atol=1e-5)


def test_reset_is_the_average_face(space, latents):
    assert np.allclose(space.reset(), latents.mean(axis=0), atol=1e-5)
    assert np.allclose(space.to_pca(space.reset()), 0.0, atol=1e-4)
    assert np.array_equal(LatentSpace(D).reset(), np.zeros(D, np.float32))


def test_the_prior_is_the_gaussian_of_the_dataset_latents(space, latents):
    assert np.allclose(space.prior.mean, latents.mean(axis=0), atol=1e-4)
    assert np.allclose(space.prior.covariance, np.cov(latents.astype(np.float32).T), rtol=1e-3, atol=1e-4)
    bare = LatentSpace(D).prior
    assert np.array_equal(bare.mean, np.zeros(D)) and np.array_equal(bare.covariance, np.eye(D))


def test_latents_files_with_and_without_a_stored_prior_give_the_same_prior(tmp_path, latents):
    names = [f"{i}.jpg" for i in range(len(latents))]
    stored = tmp_path / "stored.npz"
    write_latents(stored, names, latents, np.ones(D), image_size=32, crop="center", weights_sha="abc", data_root="x")
    with np.load(stored) as npz:
        assert npz["prior_mean"].shape == (D,) and npz["prior_cholesky"].shape == (D, D)
        z_half = npz["z_mean"]
    older = write_npz(tmp_path / "older.npz", names=np.array(names), z_mean=z_half, latent_dim=D)
    assert "prior_mean" not in np.load(older).files
    fitted = read_latents(older, D)  # fitted on the fly from z_mean
    for key in ("prior_mean", "prior_cholesky"):
        assert np.allclose(fitted[key], read_latents(stored, D)[key], atol=1e-6)
    for path in (stored, older):
        prior = LatentSpace.load(path, D).prior
        assert np.allclose(prior.mean, latents.mean(axis=0), atol=0.01)
        assert np.allclose(prior.covariance, np.cov(latents.T), rtol=0.01, atol=0.01)
    damaged = write_npz(tmp_path / "damaged.npz", names=np.array(names), z_mean=z_half, prior_mean=np.zeros(D - 1),
                        prior_cholesky=np.eye(D))
    with pytest.raises(UserError, match="prior that does not fit its 6-dimensional latents"):
        LatentSpace.load(damaged, D)


def test_interpolation_endpoints_and_spherical_norm(space):
    rng = np.random.default_rng(3)
    a, b = space.prior.draw(2, 1.0, rng)
    for method in ("linear", "spherical"):
        assert np.allclose(space.interpolate(a, b, 0.0, method), a, atol=1e-5)
        assert np.allclose(space.interpolate(a, b, 1.0, method), b, atol=1e-5)
    assert np.allclose(space.lerp(a, b, 0.5), (a + b) / 2)
    unit_a, unit_b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    assert np.linalg.norm(space.slerp(unit_a, unit_b, 0.37)) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(space.slerp(a, 2 * a, 0.5), 1.5 * a, atol=1e-5)  # parallel: falls back to linear
    with pytest.raises(UserError):
        space.interpolate(a, b, 0.5, "cubic")


def test_nearest_matches_brute_force(space, latents):
    query = latents[17] + 0.01
    indices, distances = space.nearest(query, k=5)
    brute = np.linalg.norm(latents.astype(np.float32) - query, axis=1)
    assert list(indices) == list(np.argsort(brute)[:5])
    assert indices[0] == 17
    assert np.allclose(distances, np.sort(brute)[:5], atol=1e-3)
    assert len(space.nearest(query, k=10_000)[0]) == len(latents)


CELEBA_NAMES = ["Male", "Pale_Skin", "Eyeglasses", "Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"]


def labelled_space(n=1200, dim=16, seed=0):
    """Latents whose labels follow 4 low-variance dimensions, drowned by 12 high-variance nuisance ones, with
    attribute directions along the label dimensions."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dim)).astype(np.float32) * np.r_[np.full(4, 0.3), np.full(dim - 4, 1.0)]
    sign = np.where(z[:, :4] > 0, 1, -1).astype(np.int8)
    labels = np.stack([sign[:, 0], sign[:, 1], sign[:, 2], sign[:, 3], -sign[:, 3],
                       -np.ones(n, np.int8), -np.ones(n, np.int8)], axis=1)
    axes = np.eye(dim, dtype=np.float32)[[0, 1, 2, 3, 3, 4, 5]] * np.array([1, 1, 1, 1, -1, 1, 1], np.float32)[:, None]
    scores = z @ axes.T
    directions = AttributeDirections(CELEBA_NAMES, axes, scores.mean(0), scores.std(0), "mean_diff")
    return LatentSpace(dim, z, attributes=labels, attribute_names=CELEBA_NAMES, directions=directions)


def test_neighbour_agreement_prefers_the_metric_that_follows_the_labels():
    space = labelled_space()
    assert space.metric == "attributes"
    val = np.arange(len(space)) % 5 == 0
    results = {metric: neighbour_agreement(space, metric, val, ~val, k=5) for metric in METRICS}
    assert set(results["euclidean"]) == {"Male", "Pale_Skin", "hair colour", "Eyeglasses", "mean"}
    assert results["euclidean"]["mean"] < 0.7  # the nuisance dimensions decide Euclidean neighbours
    assert results["attributes"]["mean"] > 0.75
    assert results["attributes"]["mean"] > max(r["mean"] for m, r in results.items() if m != "attributes") + 0.1
    # A query's own latent is its nearest neighbour under every metric, at distance 0.
    for metric in METRICS:
        indices, distances = space.nearest(space.latent(7), 3, metric=metric)
        assert indices[0] == 7 and distances[0] == pytest.approx(0.0, abs=1e-2)
        assert np.all(np.diff(distances) >= 0)
    with pytest.raises(UserError, match="metric"):
        space.nearest(space.latent(0), 1, metric="manhattan")


def test_metrics_match_brute_force(space, latents):
    query = latents[17] + 0.05
    z = latents.astype(np.float32)
    whitened = np.linalg.solve(space.prior.cholesky, (z - space.prior.mean).T).T
    q_white = np.linalg.solve(space.prior.cholesky, query - space.prior.mean)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    brute = {"euclidean": np.linalg.norm(z - query, axis=1),
             "mahalanobis": np.linalg.norm(whitened - q_white, axis=1),
             "cosine": np.linalg.norm(unit - query / np.linalg.norm(query), axis=1)}
    assert space.metric == "euclidean"  # no attribute directions: today's metric
    for metric, distances in brute.items():
        indices, found = space.nearest(query, 5, metric=metric)
        assert list(indices) == list(np.argsort(distances)[:5])
        assert np.allclose(found, np.sort(distances)[:5], atol=1e-3)
    with pytest.raises(UserError, match="attribute directions"):
        space.nearest(query, 1, metric="attributes")


def test_load_uses_the_attribute_directions_beside_the_latents(tmp_path):
    source = labelled_space(n=50)
    path = tmp_path / "latents.npz"
    write_latents(path, source.names, source.z_mean, np.ones(16), image_size=32, crop="celeba", weights_sha="abc",
                  data_root="")
    assert LatentSpace.load(path, 16, "abc").metric == "euclidean"
    source.directions.weights_sha = "abc"
    source.directions.save(tmp_path / "attributes.npz")
    loaded = LatentSpace.load(path, 16, "abc")
    assert loaded.metric == "attributes" and "attribute" in loaded.metric_label
    assert list(loaded.nearest(source.z_mean[3], 2)[0]) == list(source.nearest(source.z_mean[3], 2)[0])
    source.directions.weights_sha = "other"
    source.directions.save(tmp_path / "attributes.npz")
    assert LatentSpace.load(path, 16, "abc").metric == "euclidean"  # made for other weights: not used


def test_without_dataset_pca_is_the_raw_space():
    space = LatentSpace(D, note="no latents")
    z = np.arange(D, dtype=np.float32)
    assert not space.has_dataset and len(space) == 0
    assert np.array_equal(space.to_pca(z), z) and np.array_equal(space.invert(z), -z)
    with pytest.raises(UserError, match="no latents"):
        space.nearest(z)


def test_load_checks_the_file_against_the_model(tmp_path, latents):
    names = np.array([f"{i}.jpg" for i in range(len(latents))])
    good = write_npz(tmp_path / "good.npz", names=names, z_mean=latents.astype(np.float16), latent_dim=D,
                     weights_sha="abc")
    space = LatentSpace.load(good, D, weights_sha="abc")
    assert len(space) == len(latents) and space.names[3] == "3.jpg" and space.z_mean.dtype == np.float32
    with pytest.raises(UserError, match="latent size is 7.*vae.py index"):
        LatentSpace.load(good, 7)
    with pytest.raises(UserError, match="other weights"):
        LatentSpace.load(good, D, weights_sha="def")
    with pytest.raises(UserError, match="not found.*vae.py index --data DIR"):
        LatentSpace.load(tmp_path / "missing.npz", D)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="not a readable"):
        LatentSpace.load(tmp_path / "broken.npz", D)
    no_names = write_npz(tmp_path / "no_names.npz", z_mean=latents)
    with pytest.raises(UserError, match="lacks names"):
        LatentSpace.load(no_names, D)
    fallback = LatentSpace.open(tmp_path / "missing.npz", D)
    assert not fallback.has_dataset and "vae.py index" in fallback.note


def test_latent_files_round_trip_and_refuse_wrong_ones(tmp_path):
    z = np.linspace(-1, 1, D, dtype=np.float32)
    path = save_latent_file(tmp_path / "face", z)
    assert path.name == "face.npy" and np.array_equal(load_latent_file(path, D), z)
    np.save(tmp_path / "row.npy", z[None])
    assert np.array_equal(load_latent_file(tmp_path / "row.npy", D), z)
    np.save(tmp_path / "short.npy", z[:3])
    with pytest.raises(UserError, match="shape \\(3,\\)"):
        load_latent_file(tmp_path / "short.npy", D)
    np.save(tmp_path / "nan.npy", np.full(D, np.nan))
    with pytest.raises(UserError, match="NaN"):
        load_latent_file(tmp_path / "nan.npy", D)
    (tmp_path / "face.txt").write_text("1 2 3")
    with pytest.raises(UserError, match="not a .npy"):
        load_latent_file(tmp_path / "face.txt", D)
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(UserError, match="not a NumPy .npy file"):
        load_latent_file(tmp_path / "junk.npy", D)
    np.save(tmp_path / "complex.npy", z.astype(np.complex64))
    with pytest.raises(UserError, match="complex64 values"):
        load_latent_file(tmp_path / "complex.npy", D)
    np.save(tmp_path / "huge.npy", np.full(D, 3e38, np.float32))
    with pytest.raises(UserError, match=r"within \+-100"):
        load_latent_file(tmp_path / "huge.npy", D)
