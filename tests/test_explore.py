"""latentlab.latent.explore (seeded draws, children, strips, mixing by components) and the commands on it:
`vae.py sample --seed` and `vae.py mix`."""

import numpy as np
import pytest
from PIL import Image

from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.latent import explore
from latentlab.latent.directions import AttributeDirections
from latentlab.latent.prior import fit_gaussian, standard_normal
from latentlab.latent.space import LatentSpace, write_latents
from tests.helpers import write_untrained_model

D = 8


@pytest.fixture
def space():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((400, D)) * np.linspace(3.0, 0.3, D) + 1.0
    return LatentSpace(D, z.astype(np.float32))


def synthetic_directions(seed: int = 5) -> AttributeDirections:
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((3, D)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return AttributeDirections(["Smiling", "Male", "Young"], directions, np.array([0.2, -0.1, 0.0], np.float32),
                               np.array([1.5, 0.8, 2.0], np.float32), "logistic")


def test_a_seed_gives_the_same_face_and_seeds_differ(space):
    prior = space.prior
    a = explore.seeded_latent(prior, 42, 0.8)
    assert a.shape == (D,) and a.dtype == np.float32
    assert np.array_equal(a, explore.seeded_latent(prior, 42, 0.8))
    assert np.array_equal(a, prior.draw(1, 0.8, np.random.default_rng(42))[0])
    assert not np.allclose(a, explore.seeded_latent(prior, 43, 0.8))
    assert np.allclose(explore.seeded_latent(prior, 42, 0.0), prior.mean, atol=1e-6)
    rows = explore.seeded_latents(prior, [7, 8, 9], 0.8)
    assert all(np.array_equal(rows[i], explore.seeded_latent(prior, s, 0.8)) for i, s in enumerate([7, 8, 9]))
    assert explore.seed_range(10, 3) == [10, 11, 12]


@pytest.mark.parametrize("bad", [-1, explore.SEED_MAX + 1, 1.5, True, "3"])
def test_bad_seeds_are_refused(space, bad):
    with pytest.raises(UserError, match="seed"):
        explore.seeded_latent(space.prior, bad, 1.0)


def test_new_seed_leaves_room_for_consecutive_seeds():
    rng = np.random.default_rng(0)
    seeds = [explore.new_seed(rng, 16) for _ in range(1000)]
    assert all(0 <= s <= explore.SEED_MAX - 15 for s in seeds) and len(set(seeds)) > 990
    with pytest.raises(UserError):
        explore.seed_range(explore.SEED_MAX, 2)


def test_children_vary_around_the_face_as_the_prior_does(space):
    prior = space.prior
    z = np.linspace(-1, 1, D).astype(np.float32)
    kids = explore.children(prior, z, 9, 0.5, seed=3)
    assert kids.shape == (9, D) and kids.dtype == np.float32
    assert np.array_equal(kids, explore.children(prior, z, 9, 0.5, seed=3))
    assert not np.allclose(kids, explore.children(prior, z, 9, 0.5, seed=4))
    assert np.allclose(explore.children(prior, z, 4, 0.0, seed=3), z)
    many = explore.children(prior, z, 20000, 0.5, seed=1).astype(np.float64)
    assert np.allclose(many.mean(axis=0), z, atol=0.05)
    assert np.allclose(np.cov(many.T), 0.25 * prior.covariance, atol=0.05)
    with pytest.raises(UserError, match="spread"):
        explore.children(prior, z, 9, -0.1, seed=3)


@pytest.mark.parametrize("mode", ["pca", "raw"])
def test_a_component_strip_runs_from_the_sliders_minus_end_to_its_plus_end(space, mode):
    z = space.prior.draw(1, 1.0, np.random.default_rng(2))[0]
    strip = explore.component_strip(space, z, 2, 2.5, mode=mode)
    assert strip.shape == (explore.STRIP_FACES, D)
    assert np.array_equal(strip[0], space.with_coordinate(z, mode, 2, -2.5))
    assert np.array_equal(strip[-1], space.with_coordinate(z, mode, 2, 2.5))
    coordinates = space.coordinates(strip, mode)
    assert np.allclose(coordinates[:, 2], np.linspace(-2.5, 2.5, 7), atol=1e-4)
    others = np.delete(coordinates, 2, axis=1)
    assert np.allclose(others, np.delete(space.coordinates(z, mode), 2)[None], atol=1e-4)
    with pytest.raises(UserError):
        explore.component_strip(space, z, D, 2.5)


def test_an_attribute_strip_moves_the_score_from_minus_to_plus_range_holding_others(space):
    directions = synthetic_directions()
    z = space.prior.draw(1, 1.0, np.random.default_rng(3))[0]
    strip = explore.attribute_strip(directions, z, 0, 3.0, held=[1])
    assert np.array_equal(strip[0], directions.move_to_score(z, 0, -3.0, [1]))
    assert np.array_equal(strip[-1], directions.move_to_score(z, 0, 3.0, [1]))
    scores = directions.standardized_scores(strip)
    assert np.allclose(scores[:, 0], np.linspace(-3, 3, 7), atol=1e-4)
    assert np.allclose(scores[:, 1], directions.standardized_scores(z)[1], atol=1e-4)


def test_mixing_with_k_0_is_b_and_with_every_k_is_a(space):
    rng = np.random.default_rng(4)
    a, b = space.prior.draw(2, 1.0, rng)
    assert np.array_equal(explore.mix_components(space, a, b, 0), b)
    assert np.array_equal(explore.mix_components(space, a, b, D), a)
    for k in (1, 3, 5, 7):
        mixed = space.to_pca(explore.mix_components(space, a, b, k))
        assert np.allclose(mixed[:k], space.to_pca(a)[:k], atol=1e-4)
        assert np.allclose(mixed[k:], space.to_pca(b)[k:], atol=1e-4)
    series = explore.mix_series(space, a, b, [0, 2, D])
    assert np.array_equal(series[0], b) and np.array_equal(series[-1], a)
    with pytest.raises(UserError, match="k must be"):
        explore.mix_components(space, a, b, D + 1)


def test_mixing_without_dataset_latents_mixes_the_raw_dimensions():
    bare = LatentSpace(D, note="no latents")
    a, b = np.arange(D, dtype=np.float32), -np.ones(D, np.float32)
    assert np.array_equal(explore.mix_components(bare, a, b, 3), np.concatenate([a[:3], b[3:]]))


def test_k_steps_run_from_0_to_every_component():
    assert explore.k_steps(256) == [0, 1, 2, 5, 11, 24, 53, 116, 256]
    assert explore.k_steps(8) == list(range(9))
    steps = explore.k_steps(40, 6)
    assert steps[0] == 0 and steps[-1] == 40 and steps == sorted(set(steps)) and len(steps) <= 6


# ---------------------------------------------------------------------------------------------- the commands


@pytest.fixture
def model(tmp_path):
    """(weights, latents.npz made for them) of an untrained tiny model."""
    weights = write_untrained_model(tmp_path)
    z = np.random.default_rng(4).standard_normal((200, D)) * np.linspace(3.0, 0.3, D) + 2.0
    latents = tmp_path / "latents.npz"
    write_latents(latents, [f"{i}.png" for i in range(200)], z, np.ones(D), image_size=32, crop="center",
                  weights_sha=weights_fingerprint(weights), data_root=str(tmp_path))
    return weights, latents


def read_pngs(folder):
    return [np.asarray(Image.open(path)) for path in sorted(folder.iterdir())]


def test_sample_seed_s_writes_the_faces_of_seeds_s_onwards(model, tmp_path, capsys):
    from latentlab.model.codec import Codec
    from latentlab.pictures import to_uint8

    weights, latents = model
    out = tmp_path / "faces"
    assert main(["sample", "--n", "3", "--seed", "77", "--temperature", "0.6", "--out-dir", str(out),
                 "--latents", str(latents), "--weights", str(weights)]) == 0
    assert "seeds 77 to 79" in capsys.readouterr().out
    prior = LatentSpace.load(latents, D).prior
    codec = Codec.load(weights)
    for i, written in enumerate(read_pngs(out)):
        assert np.array_equal(written, to_uint8(codec.decode(explore.seeded_latent(prior, 77 + i, 0.6))))
    one = tmp_path / "one"
    assert main(["sample", "--n", "1", "--seed", "78", "--temperature", "0.6", "--out-dir", str(one),
                 "--latents", str(latents), "--weights", str(weights)]) == 0
    assert np.array_equal(read_pngs(one)[0], read_pngs(out)[1])  # seed 78 alone is face 2 of the run from 77
    assert main(["sample", "--n", "2", "--out", str(tmp_path / "g.png"), "--prior", "normal",
                 "--weights", str(weights)]) == 0
    assert "seeds " in capsys.readouterr().out  # without --seed, the seeds drawn are said
    assert main(["sample", "--n", "1", "--seed", "-3", "--out", str(tmp_path / "g.png"),
                 "--weights", str(weights)]) == 2
    assert "seed" in capsys.readouterr().err


def test_mix_writes_a_row_from_b_to_a(model, tmp_path, capsys):
    from latentlab.latent.space import save_latent_file
    from latentlab.model.codec import Codec
    from latentlab.pictures import to_uint8

    weights, latents = model
    space = LatentSpace.load(latents, D)
    b = save_latent_file(tmp_path / "b.npy", np.full(D, 0.5, np.float32))
    out = tmp_path / "mix.png"
    assert main(["mix", "--a", "5", "--b", str(b), "--ks", "0,2,8", "--out", str(out),
                 "--latents", str(latents), "--weights", str(weights)]) == 0
    assert "k = 0, 2, 8" in capsys.readouterr().out
    grid = np.asarray(Image.open(out))
    assert grid.shape == (32 + 4, 3 * 34 + 2, 3)
    codec = Codec.load(weights)
    faces = [grid[2:34, 2 + 34 * i: 34 + 34 * i] for i in range(3)]
    assert np.array_equal(faces[0], to_uint8(codec.decode(np.full(D, 0.5, np.float32))))
    assert np.array_equal(faces[2], to_uint8(codec.decode(space.latent(5))))
    assert np.array_equal(faces[1], to_uint8(codec.decode(explore.mix_components(space, space.latent(5),
                                                                                 np.full(D, 0.5), 2))))
    seeded = tmp_path / "seeded.png"
    assert main(["mix", "--a", "seed:3", "--b", "seed:4", "--steps", "4", "--out", str(seeded),
                 "--latents", str(latents), "--weights", str(weights)]) == 0
    assert np.asarray(Image.open(seeded)).shape[1] == len(explore.k_steps(D, 4)) * 34 + 2
    common = ["--out", str(tmp_path / "bad.png"), "--latents", str(latents), "--weights", str(weights)]
    for bad, message in ((["--a", "banana", "--b", "2"], "dataset image number"),
                         (["--a", "seed:x", "--b", "2"], "seed:S"),
                         (["--a", "1", "--b", "2", "--ks", "0,99"], "each k")):
        assert main(["mix", *bad, *common]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()


def test_fitted_and_normal_priors_are_what_the_seed_draws_from():
    z = np.random.default_rng(0).standard_normal((500, D)) * 2 + 3
    fitted = fit_gaussian(z)
    assert not np.allclose(explore.seeded_latent(fitted, 5, 1.0), explore.seeded_latent(standard_normal(D), 5, 1.0))
