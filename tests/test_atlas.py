"""The atlas (latent/atlas.py): the map stored with the latents, placement, the walk, directions from groups, the
quality report, and `vae.py atlas`."""

import json
from pathlib import Path

import numpy as np
import pytest

from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.latent.atlas import (
    Atlas,
    UserDirection,
    colour_values,
    direction_from_groups,
    fit_map,
    map_quality,
    mosaic_cells,
    write_map,
)
from latentlab.latent.space import LatentSpace, write_latents

D = 8
N = 240
SHA = "0123456789abcdef"


def clustered(seed: int = 0):
    """(latents (N, D), a hand-made map (N, 2), labels (N, 1)): four clusters; the label is 'cluster 2 or 3', which
    is also the sign of latent coordinate 0; the map puts each cluster at a corner."""
    rng = np.random.default_rng(seed)
    cluster = np.arange(N) % 4
    centres = rng.standard_normal((4, D)) * 3
    centres[:, 0] = [-3, -2, 2, 3]
    z = centres[cluster] + rng.standard_normal((N, D)) * 0.4
    corners = np.array([[0, 0], [0, 10], [10, 0], [10, 10]], float)
    xy = corners[cluster] + rng.standard_normal((N, 2))
    labels = np.where(cluster >= 2, 1, -1)[:, None].astype(np.int8)
    return z.astype(np.float32), xy.astype(np.float32), labels


def write(path, xy=None, sha=SHA):
    z, _, labels = clustered()
    write_latents(path, [f"{i:06d}.jpg" for i in range(N)], z, np.ones(D), image_size=32, crop="center",
                  weights_sha=sha, data_root=str(path.parent), attribute_names=["Blond_Hair"], attributes=labels,
                  atlas_xy=xy)
    return path


@pytest.fixture
def space():
    z, xy, labels = clustered()
    built = LatentSpace(D, z, [f"{i:06d}.jpg" for i in range(N)], attributes=labels, attribute_names=["Blond_Hair"])
    built.atlas_xy = xy
    return built


@pytest.fixture
def atlas(space):
    return Atlas(space, space.atlas_xy)


def test_the_map_is_written_and_read_with_the_latents_and_an_old_file_still_loads(tmp_path):
    _, xy, _ = clustered()
    loaded = LatentSpace.load(write(tmp_path / "with.npz", xy), D, SHA)
    np.testing.assert_array_equal(loaded.atlas_xy, xy)
    assert loaded.atlas_xy.dtype == np.float32 and loaded.atlas_note == ""
    old = LatentSpace.load(write(tmp_path / "old.npz"), D, SHA)
    assert old.atlas_xy is None and old.has_dataset and len(old) == N
    assert "vae.py atlas" in old.atlas_note


def test_write_map_adds_the_map_and_keeps_every_other_array(tmp_path):
    path = write(tmp_path / "latents.npz")
    before = dict(np.load(path))
    _, xy, _ = clustered()
    write_map(path, xy, SHA)
    after = dict(np.load(path))
    assert set(after) == set(before) | {"atlas_xy"}
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)
        assert after[key].dtype == value.dtype
    np.testing.assert_array_equal(after["atlas_xy"], xy)


@pytest.mark.parametrize("xy, sha, message", [
    (np.zeros((N - 1, 2)), SHA, "239 positions"),
    (np.zeros((N, 3)), SHA, "shape"),
    (np.full((N, 2), np.nan), SHA, "non-finite"),
    (np.zeros((N, 2)), "fedcba9876543210", "other weights"),
])
def test_a_bad_map_or_other_weights_are_refused_and_the_file_is_unchanged(tmp_path, xy, sha, message):
    path = write(tmp_path / "latents.npz")
    content = path.read_bytes()
    with pytest.raises(UserError, match=message):
        write_map(path, xy, sha)
    assert path.read_bytes() == content


def test_a_stored_map_of_another_size_is_not_used(tmp_path):
    path = write(tmp_path / "latents.npz")
    arrays = dict(np.load(path))
    arrays["atlas_xy"] = np.zeros((5, 2), np.float32)
    np.savez(path, **arrays)
    loaded = LatentSpace.load(path, D, SHA)
    assert loaded.atlas_xy is None and loaded.has_dataset and "(5, 2)" in loaded.atlas_note
    with pytest.raises(UserError, match="5 positions"):
        Atlas(loaded, arrays["atlas_xy"])


def test_placing_a_dataset_latent_lands_on_its_own_point(atlas, space):
    for i in (0, 17, 101, N - 1):
        np.testing.assert_allclose(atlas.place(space.z_mean[i]), space.atlas_xy[i], atol=1e-5)


def test_a_new_latent_lands_among_its_nearest_faces(atlas, space):
    z = space.z_mean[space.z_mean[:, 0] > 2.5].mean(axis=0)  # the middle of cluster 3
    position = atlas.place(z + 0.05)
    assert np.linalg.norm(position - np.array([10, 10])) < 3.0


def test_the_walk_gives_a_face_between_its_neighbours(atlas, space):
    position = np.array([10.0, 10.0])
    z, faces = atlas.walk(position)
    neighbours = space.z_mean[faces]
    assert len(faces) == 8 and np.all(np.linalg.norm(space.atlas_xy[faces] - position, axis=1) < 4)
    assert np.all(z >= neighbours.min(axis=0) - 1e-5) and np.all(z <= neighbours.max(axis=0) + 1e-5)
    spread = np.linalg.norm(neighbours - neighbours.mean(axis=0), axis=1).max()
    assert np.linalg.norm(z - neighbours.mean(axis=0)) <= spread
    nearby, _ = atlas.walk(position + 0.01)  # continuous: a small step of the mouse, a small change of the face
    assert np.linalg.norm(nearby - z) < 0.1 * spread


def test_a_direction_from_two_labelled_groups_moves_the_label_the_right_way(atlas, space):
    without, with_label = atlas.label_groups("Blond_Hair")
    direction = direction_from_groups(space, without, with_label, "blond (atlas)")
    assert np.isclose(np.linalg.norm(direction.vector), 1.0, atol=1e-5)
    face = space.z_mean[int(without[0])]
    moved = direction.move_to_score(face, direction.score(face) + 2.0)
    assert np.isclose(direction.score(moved), direction.score(face) + 2.0, atol=1e-4)
    assert moved[0] > face[0] + 0.5  # coordinate 0 carries the label
    label_mean = space.z_mean[with_label].mean(axis=0)
    assert np.linalg.norm(moved - label_mean) < np.linalg.norm(face - label_mean)


def test_a_held_direction_keeps_its_projection(space):
    direction = direction_from_groups(space, np.arange(0, N, 4), np.arange(2, N, 4), "two")
    held = np.eye(D, dtype=np.float32)[:1]
    face = space.z_mean[5]
    moved = direction.move_to_score(face, 2.0, held)
    assert np.isclose(moved[0], face[0], atol=1e-5) and np.isclose(direction.score(moved), 2.0, atol=1e-4)


@pytest.mark.parametrize("group1, group2, name, message", [
    ([], [1, 2, 3], "x", "group 1 is empty"),
    ([1, 2], None, "x", "group 2 is empty"),
    ([4], [1, 2, 3], "x", "group 1 holds one face"),
    ([1, 2], [7, 7, 7], "x", "group 2 holds one face"),
    ([1, 2], [2, 1], "x", "the same faces"),
    ([1, 2], [3, N + 5], "x", "outside the dataset"),
    ([1, 2], [3, 4], "  ", "name"),
])
def test_bad_groups_are_refused(space, group1, group2, name, message):
    with pytest.raises(UserError, match=message):
        direction_from_groups(space, group1, group2, name)


def test_a_saved_direction_round_trips_and_a_wrong_size_is_refused(space):
    direction = direction_from_groups(space, [0, 4, 8], [2, 6, 10], "mine")
    again = UserDirection.from_dict(json.loads(json.dumps(direction.to_dict())), D)
    np.testing.assert_allclose(again.vector, direction.vector, atol=1e-6)
    assert again.name == "mine" and np.isclose(again.std, direction.std)
    with pytest.raises(UserError, match="does not fit"):
        UserDirection.from_dict(direction.to_dict(), D + 1)


def test_lasso_picks_exactly_the_points_inside(atlas, space):
    inside = atlas.points_in_polygon([[5, 5], [15, 5], [15, 15], [5, 15]])
    expected = np.flatnonzero((space.atlas_xy > 5).all(axis=1) & (space.atlas_xy < 15).all(axis=1))
    np.testing.assert_array_equal(np.sort(inside), expected)
    assert len(atlas.points_in_polygon([[0, 0], [1, 1]])) == 0


def test_hover_hits_only_near_points(atlas, space):
    assert atlas.nearest_point(space.atlas_xy[3] + 0.001, 0.1) == 3
    assert atlas.nearest_point([100.0, 100.0], 1.0) is None


def test_quality_report_of_a_faithful_map(space):
    z = space.z_mean
    quality = map_quality(space, z[:, :2] * 0 + space.atlas_xy, sample=200)
    assert quality["sample"] == 200 and quality["neighbours"] == 10
    assert 0.5 < quality["trustworthiness"] <= 1.0
    agreement = quality["label_agreement"]["Blond_Hair"]
    assert agreement > 0.95 and quality["label_agreement_chance"]["Blond_Hair"] == pytest.approx(0.5, abs=0.01)
    scrambled = map_quality(space, np.random.default_rng(0).standard_normal((N, 2)).astype(np.float32), sample=200)
    assert scrambled["trustworthiness"] < quality["trustworthiness"]
    assert scrambled["label_agreement"]["Blond_Hair"] < 0.7


def test_colours_and_mosaic_cells(space, atlas):
    values, kind = colour_values(space, "Blond_Hair")
    assert kind == "label" and values.sum() == N // 2
    values, kind = colour_values(space, "PC 1")
    assert kind == "scale" and values.shape == (N,) and abs(values.mean()) < 0.1
    with pytest.raises(UserError, match="cannot colour"):
        colour_values(space, "Nothing")
    cells = mosaic_cells(atlas, 4)
    assert {(r, c) for r, c, _ in cells} <= {(r, c) for r in range(4) for c in range(4)}
    assert len({i for _, _, i in cells}) == len(cells) >= 4


def test_fit_map_is_reproducible():
    z, _, _ = clustered()
    first, second = fit_map(z[:120], seed=0), fit_map(z[:120], seed=0)
    assert first.shape == (120, 2) and first.dtype == np.float32
    np.testing.assert_allclose(first, second, atol=1e-4)
    with pytest.raises(UserError, match="at least 3"):
        fit_map(z[:2])


def test_atlas_command_draws_the_map_and_reports_its_quality(tmp_path, capsys):
    _, xy, _ = clustered()
    path = write(tmp_path / "latents.npz", xy)
    out = tmp_path / "atlas.png"
    code = main(["atlas", "--latents", str(path), "--weights", str(tmp_path / "none.weights.h5"), "--out", str(out),
                 "--color-by", "Blond_Hair", "--json"])
    assert code == 0 and out.stat().st_size > 1000
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 < report["trustworthiness"] <= 1 and report["label_agreement"]["Blond_Hair"] > 0.9


def test_atlas_command_refuses_bad_input_and_changes_nothing(tmp_path, capsys):
    path = write(tmp_path / "latents.npz", clustered()[1])
    content = path.read_bytes()
    assert main(["atlas", "--latents", str(path), "--weights", str(tmp_path / "x.weights.h5"), "--out",
                 str(tmp_path / "a.png"), "--color-by", "Nothing"]) == 2
    assert "cannot colour" in capsys.readouterr().err
    assert main(["atlas", "--latents", str(tmp_path / "missing.npz")]) == 2
    assert path.read_bytes() == content and not (tmp_path / "a.png").exists()


def tiny_judge_beside(weights, names=("Blond_Hair", "Smiling", "Male")):
    """An untrained tiny judge saved beside `weights` (where ModelFiles(weights).judge looks first; never the
    shipped data/judge.weights.h5, which ModelFiles falls back to while nothing is beside the weights)."""
    from latentlab.eval.judge import Judge, JudgeConfig, build_judge
    from latentlab.paths import JUDGE_FILE

    config = JudgeConfig(names=tuple(names), image_size=16, widths=(4, 8), strides=(2, 2), crop="center")
    return Judge(build_judge(config), config).save(Path(weights).parent / JUDGE_FILE)


def test_judge_readings_are_written_read_back_and_offered_as_colours(tmp_path, capsys):
    from latentlab.files import weights_fingerprint
    from latentlab.latent.atlas import JUDGE_PREFIX, colour_keys
    from tests.helpers import write_untrained_model

    weights = write_untrained_model(tmp_path)
    tiny_judge_beside(weights)
    _, xy, _ = clustered()
    path = write(tmp_path / "latents.npz", xy, sha=weights_fingerprint(weights))
    before = dict(np.load(path))
    assert main(["atlas", "--latents", str(path), "--weights", str(weights), "--judge-readings"]) == 0
    assert "judge's readings" in capsys.readouterr().out
    after = dict(np.load(path))
    assert set(after) == set(before) | {"judge_p", "judge_names"}
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)  # the map and every other array unchanged
    assert after["judge_p"].shape == (N, 3) and after["judge_p"].dtype == np.float16
    assert list(after["judge_names"]) == ["Blond_Hair", "Smiling", "Male"]
    loaded = LatentSpace.load(path, D, weights_fingerprint(weights))
    assert loaded.judge_p.shape == (N, 3) and loaded.judge_names == ["Blond_Hair", "Smiling", "Male"]
    keys = colour_keys(loaded)
    assert [k for k in keys if k.startswith(JUDGE_PREFIX)] == ["judge: Blond_Hair", "judge: Smiling", "judge: Male"]
    values, kind = colour_values(loaded, "judge: Smiling")
    assert kind == "probability" and values.shape == (N,) and 0 <= values.min() <= values.max() <= 1
    out = tmp_path / "judged.png"
    assert main(["atlas", "--latents", str(path), "--weights", str(weights), "--out", str(out),
                 "--color-by", "judge: Male"]) == 0 and out.stat().st_size > 1000


def test_an_old_file_without_judge_readings_loads_without_judge_colours(tmp_path):
    from latentlab.latent.atlas import JUDGE_PREFIX, colour_keys, write_judge_readings

    _, xy, _ = clustered()
    path = write(tmp_path / "old.npz", xy)
    old = LatentSpace.load(path, D, SHA)
    assert old.judge_p is None and old.judge_names == [] and old.atlas_xy is not None
    assert not any(k.startswith(JUDGE_PREFIX) for k in colour_keys(old))
    with pytest.raises(UserError, match="cannot colour"):
        colour_values(old, "judge: Smiling")
    content = path.read_bytes()
    with pytest.raises(UserError, match="shape"):
        write_judge_readings(path, np.zeros((N - 1, 2)), ["a", "b"], SHA)
    with pytest.raises(UserError, match="other weights"):
        write_judge_readings(path, np.zeros((N, 2)), ["a", "b"], "ffffffffffffffff")
    assert path.read_bytes() == content
