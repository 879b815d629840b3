"""The atlas: a 2-D map (UMAP) of the dataset latents, stored in latents.npz as `atlas_xy` (N, 2) float32.

- `fit_map(z)`: UMAP of the dataset latents with a fixed seed (umap-learn is imported here, lazily: it pulls numba
  and TensorFlow, so nothing at window start-up imports it);
- `add_map(path)`: compute the map of a latents file and write it back atomically, every other array unchanged;
- `Atlas(space, xy)`: a map over a LatentSpace: `place(z)` (a new latent's position: the weighted mean of the map
  positions of its k nearest dataset latents, by LatentSpace.nearest), `nearest_point` (hover, click),
  `walk(position)` (the latent at a map position: a weighted mean of the latents of the faces nearest it on the map),
  `points_in_polygon` (a lasso);
- `direction_from_groups`: the unit vector from group 1's mean latent to group 2's, with the dataset's score
  statistics along it (a named direction for the Attributes panel);
- `judge_readings(z, codec, judge)`: the attribute judge's probabilities (N, A) for each latent's decoded face;
  `add_judge_readings(path, weights)` stores them in a latents file (`judge_p` float16, `judge_names`), atomically,
  every other array unchanged, so that the map can be coloured by them;
- `map_quality`: trustworthiness (sklearn, 10 neighbours, a fixed sample of 5,000) and label agreement of the
  10 nearest map neighbours for Male, Blond_Hair, Eyeglasses, Smiling.

No Qt here.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentlab.errors import UserError
from latentlab.files import atomic_write_bytes, read_npz
from latentlab.latent.space import INDEX_HINT, JUDGE_NAMES_KEY, JUDGE_P_KEY, LatentSpace
from latentlab.paths import shown

ATLAS_KEY = "atlas_xy"
METRIC_KEY = "atlas_metric"  # the features the map was fitted on: those of LatentSpace's nearest-face metric
ATLAS_HINT = "add a map with `python vae.py atlas --latents FILE`"
SEED = 0
N_NEIGHBORS = 15
MIN_DIST = 0.1
PLACE_K = 8  # dataset latents whose map positions place a new latent
WALK_K = 8  # map neighbours whose latents make the latent at a map position
QUALITY_SAMPLE = 5000
QUALITY_K = 10
QUALITY_LABELS = ("Male", "Blond_Hair", "Eyeglasses", "Smiling")
MIN_GROUP = 2
JUDGE_BATCH = 256  # latents decoded and read by the judge at a time


def fit_map(z: np.ndarray, seed: int = SEED, n_neighbors: int = N_NEIGHBORS, min_dist: float = MIN_DIST,
            verbose: bool = False) -> np.ndarray:
    """UMAP of latents (N, D) to (N, 2) float32, reproducible for a given seed (umap then runs single-threaded)."""
    z = np.asarray(z, np.float32)
    if z.ndim != 2 or len(z) < 3:
        raise UserError(f"a map needs at least 3 latents of shape (N, D), got {z.shape}")
    import umap  # lazily: numba and TensorFlow come with it

    reducer = umap.UMAP(n_neighbors=min(n_neighbors, len(z) - 1), min_dist=min_dist, n_components=2,
                        random_state=seed, verbose=verbose, init="spectral" if len(z) > n_neighbors + 2 else "random")
    return np.asarray(reducer.fit_transform(z), np.float32)


def check_map(xy, count: int, where: str = "the map") -> np.ndarray:
    """`xy` as (count, 2) finite float32; UserError saying what is wrong otherwise."""
    xy = np.asarray(xy)
    if xy.ndim != 2 or xy.shape != (count, 2):
        raise UserError(f"{where} holds {xy.shape[0] if xy.ndim else 0} positions of shape {xy.shape} but the "
                        f"latents hold {count} faces: {ATLAS_HINT}")
    if not np.issubdtype(xy.dtype, np.floating) or not np.isfinite(xy).all():
        raise UserError(f"{where} holds non-finite or non-numeric positions: {ATLAS_HINT}")
    return xy.astype(np.float32)


def _latents_for(path: str | os.PathLike, weights_sha: str | None) -> dict[str, np.ndarray]:
    """Every array of the latents file `path`; UserError when unreadable, incomplete or made for other weights."""
    arrays = read_npz(path, "a readable latents file", INDEX_HINT)
    if "z_mean" not in arrays or "names" not in arrays:
        raise UserError(f"{shown(path)} lacks names / z_mean: {INDEX_HINT}")
    stored_sha = str(arrays["weights_sha"]) if "weights_sha" in arrays else None
    if weights_sha and stored_sha and stored_sha != weights_sha:
        raise UserError(f"{shown(path)} was indexed with other weights ({stored_sha}, loaded {weights_sha}): "
                        f"{INDEX_HINT}")
    return arrays


def _rewrite(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` as the compressed .npz `path`, atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def write_map(path: str | os.PathLike, xy: np.ndarray, weights_sha: str | None = None,
              metric: str | None = None) -> dict:
    """Store `xy` as `atlas_xy` in the latents file `path`, atomically, every other array unchanged. UserError (and
    the file untouched) when the file is unreadable, was made for other weights, or `xy` does not fit its latents."""
    arrays = _latents_for(path, weights_sha)
    arrays[ATLAS_KEY] = check_map(xy, len(arrays["z_mean"]), "the new map")
    if metric is not None:
        arrays[METRIC_KEY] = np.array(metric)
    _rewrite(path, arrays)
    return arrays


def judge_readings(z: np.ndarray, codec, judge, batch: int = JUDGE_BATCH, progress=None) -> np.ndarray:
    """The judge's probabilities (N, A) float32 for the decoded face of each latent (N, D), `batch` at a time;
    `progress(done, total)` after each batch when given."""
    from latentlab.pictures import to_uint8

    z = np.asarray(z, np.float32)
    out = []
    for start in range(0, len(z), batch):
        out.append(np.asarray(judge.probabilities(to_uint8(codec.decode(z[start:start + batch]))), np.float32))
        if progress is not None:
            progress(min(start + batch, len(z)), len(z))
    return np.concatenate(out) if out else np.zeros((0, len(judge.names)), np.float32)


def write_judge_readings(path: str | os.PathLike, probabilities: np.ndarray, names, weights_sha: str | None = None
                         ) -> dict:
    """Store the judge's readings (N, A) as `judge_p` (float16) and their names as `judge_names` in the latents file
    `path`, atomically, every other array unchanged; UserError (file untouched) when unreadable, made for other
    weights, or the readings do not fit its latents."""
    arrays = _latents_for(path, weights_sha)
    probabilities = np.asarray(probabilities, np.float32)
    names = [str(n) for n in names]
    if probabilities.shape != (len(arrays["z_mean"]), len(names)) or not np.isfinite(probabilities).all():
        raise UserError(f"the judge's readings have shape {probabilities.shape}, expected "
                        f"({len(arrays['z_mean'])}, {len(names)})")
    arrays[JUDGE_P_KEY] = np.clip(probabilities, 0.0, 1.0).astype(np.float16)
    arrays[JUDGE_NAMES_KEY] = np.array(names)
    _rewrite(path, arrays)
    return arrays


def add_judge_readings(path: str | os.PathLike, weights: str | os.PathLike, weights_sha: str | None = None,
                       progress=None) -> np.ndarray:
    """Decode every dataset latent of the latents file `path` with the model `weights`, let the model's judge
    (ModelFiles(weights).judge) read each face, and store the readings in the file (see `write_judge_readings`).
    The file, the model and the judge are checked before any decoding."""
    from latentlab.eval.judge import Judge
    from latentlab.latent.space import read_latents
    from latentlab.model.codec import Codec
    from latentlab.paths import ModelFiles

    arrays = read_latents(path, weights_sha=weights_sha)
    judge = Judge.load(ModelFiles(Path(weights)).judge)
    codec = Codec.load(weights)
    if int(arrays["z_mean"].shape[1]) != codec.latent_dim:
        raise UserError(f"{path} holds {arrays['z_mean'].shape[1]}-dimensional latents but the model's latent size "
                        f"is {codec.latent_dim}: {INDEX_HINT}")
    probabilities = judge_readings(arrays["z_mean"], codec, judge, progress=progress)
    write_judge_readings(path, probabilities, judge.names, weights_sha)
    return probabilities


def map_features(space: LatentSpace) -> np.ndarray:
    """What the map is fitted on: the dataset latents as the app's nearest-face search compares them (z_mean plus 4 x
    the 40 standardised attribute scores when attributes.npz is beside the latents, else z_mean), so that the map's
    neighbours are the faces the app calls similar, and placing a new latent by that search is consistent."""
    return space.features(space.metric)[0]


def add_map(path: str | os.PathLike, weights_sha: str | None = None, seed: int = SEED,
            verbose: bool = False) -> np.ndarray:
    """Fit the map of the latents file `path` (on `map_features`) and write it in (see `write_map`); returns it.
    The file is checked first (readable, these weights), before minutes of UMAP."""
    from latentlab.latent.space import read_latents

    arrays = read_latents(path, weights_sha=weights_sha)
    space = LatentSpace.load(path, int(arrays["z_mean"].shape[1]), weights_sha)
    xy = fit_map(map_features(space), seed=seed, verbose=verbose)
    write_map(path, xy, weights_sha, metric=space.metric)
    return xy


@dataclass(frozen=True)
class UserDirection:
    """A direction the user made: a name, a unit vector (D,), and the dataset's mean and standard deviation of the
    projection on it (so that a score is in dataset standard deviations, like the attribute sliders)."""

    name: str
    vector: np.ndarray
    mean: float
    std: float

    def score(self, z: np.ndarray) -> float:
        return float((np.asarray(z, np.float32) @ self.vector - self.mean) / self.std)

    def move_to_score(self, z: np.ndarray, target: float, held: np.ndarray | None = None) -> np.ndarray:
        """`z` moved along the direction (its part orthogonal to the `held` unit directions (H, D), when given, so
        their projections stay) until its score reads `target`."""
        z = np.asarray(z, np.float32)
        step = self.vector.astype(np.float64)
        if held is not None and len(held):
            basis, _ = np.linalg.qr(np.asarray(held, np.float64).T)  # (D, H) orthonormal
            step = step - basis @ (basis.T @ step)
            if np.linalg.norm(step) < 1e-6:
                raise UserError(f"{self.name} lies within the held attributes: release a hold to move it")
        along = float(step @ self.vector)
        delta = (target - self.score(z)) * self.std / along
        return (z + delta * step).astype(np.float32)

    def to_dict(self) -> dict:
        return {"name": self.name, "vector": [float(v) for v in self.vector], "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, data: dict, latent_dim: int) -> UserDirection:
        try:
            vector = np.asarray(data["vector"], np.float32)
            name, mean, std = str(data["name"]), float(data["mean"]), float(data["std"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"a saved direction is damaged ({exc})") from None
        if vector.shape != (latent_dim,) or not np.isfinite(vector).all() or not std > 0:
            raise UserError(f"the saved direction {name!r} does not fit this model's {latent_dim}-dimensional latent")
        return cls(name, vector / np.linalg.norm(vector), mean, std)


def _group(space: LatentSpace, group, which: str) -> np.ndarray:
    indices = np.unique(np.asarray(group, np.int64).reshape(-1)) if group is not None else np.zeros(0, np.int64)
    if len(indices) == 0:
        raise UserError(f"group {which} is empty: lasso some points (Ctrl+drag) or pick them by label first")
    if len(indices) < MIN_GROUP:
        raise UserError(f"group {which} holds one face: a direction needs at least {MIN_GROUP} faces in each group")
    if indices.min() < 0 or indices.max() >= len(space):
        raise UserError(f"group {which} names faces outside the dataset's 0..{len(space) - 1}")
    return indices


def direction_from_groups(space: LatentSpace, group1, group2, name: str) -> UserDirection:
    """The direction from group 1's mean latent to group 2's (dataset indices), named `name`; UserError for an empty
    group, a group of one, two groups that are the same faces, an empty name, or a space without dataset latents."""
    name = str(name).strip()
    if not name:
        raise UserError("give the direction a name")
    if not space.has_dataset:
        raise UserError(space.note or f"no dataset latents: {INDEX_HINT}")
    first, second = _group(space, group1, "1"), _group(space, group2, "2")
    if np.array_equal(first, second):
        raise UserError("groups 1 and 2 are the same faces: pick two different groups")
    z = space.z_mean
    vector = z[second].mean(axis=0, dtype=np.float64) - z[first].mean(axis=0, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    if norm < 1e-6:
        raise UserError("the two groups have the same mean latent: there is no direction between them")
    vector = (vector / norm).astype(np.float32)
    projections = z @ vector
    return UserDirection(name, vector, float(projections.mean()), float(max(projections.std(), 1e-6)))


class Atlas:
    """The map of a LatentSpace's dataset latents: `xy` (N, 2), one position per dataset face."""

    def __init__(self, space: LatentSpace, xy: np.ndarray):
        if not space.has_dataset:
            raise UserError(space.note or f"no dataset latents: {INDEX_HINT}")
        self.space = space
        self.xy = check_map(xy, len(space))
        self._xy64 = self.xy.astype(np.float64)
        low, high = self.xy.min(axis=0), self.xy.max(axis=0)
        self.bounds = (low, high)
        self.scale = float(max(high - low)) or 1.0  # the map's extent, for distances relative to it

    def __len__(self) -> int:
        return len(self.xy)

    def place(self, z: np.ndarray, k: int = PLACE_K) -> np.ndarray:
        """A latent's map position (2,): the inverse-distance weighted mean of the positions of its k nearest dataset
        latents (a dataset latent lands on its own point)."""
        indices, distances = self.space.nearest(z, k)
        if distances[0] <= 1e-2 * max(float(distances[-1]), 1e-6):  # a dataset latent (float32 rounding aside)
            return self.xy[indices[0]].copy()
        weights = 1.0 / np.maximum(distances, 1e-6) ** 2
        return (weights @ self._xy64[indices] / weights.sum()).astype(np.float32)

    def place_many(self, latents: np.ndarray, k: int = PLACE_K) -> np.ndarray:
        return np.stack([self.place(z, k) for z in np.asarray(latents, np.float32)]) if len(latents) else \
            np.zeros((0, 2), np.float32)

    def map_neighbours(self, position, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, distances) of the k points nearest `position` on the map, closest first."""
        d2 = ((self.xy - np.asarray(position, np.float32)) ** 2).sum(axis=1)
        k = max(1, min(int(k), len(self.xy)))
        candidates = np.argpartition(d2, k - 1)[:k] if k < len(d2) else np.arange(len(d2))
        order = candidates[np.argsort(d2[candidates], kind="stable")]
        return order, np.sqrt(d2[order])

    def nearest_point(self, position, radius: float) -> int | None:
        """The dataset face whose point is nearest `position`, when within `radius` (map units), else None."""
        indices, distances = self.map_neighbours(position, 1)
        return int(indices[0]) if distances[0] <= radius else None

    def walk(self, position, k: int = WALK_K) -> tuple[np.ndarray, np.ndarray]:
        """(latent (D,), the faces it is made of) at a map position: the Gaussian-weighted mean of the latents of the
        k faces nearest it on the map (bandwidth: the distance to the k-th), so it moves smoothly across the map."""
        indices, distances = self.map_neighbours(position, k)
        bandwidth = max(float(distances[-1]), 1e-6 * self.scale)
        weights = np.exp(-0.5 * (distances / (0.5 * bandwidth)) ** 2) + 1e-12
        z = weights @ self.space.z_mean[indices].astype(np.float64) / weights.sum()
        return z.astype(np.float32), indices

    def points_in_polygon(self, polygon) -> np.ndarray:
        """Indices of the points inside a polygon (M, 2) in map coordinates (even-odd rule)."""
        polygon = np.asarray(polygon, np.float64).reshape(-1, 2)
        if len(polygon) < 3:
            return np.zeros(0, np.int64)
        low, high = polygon.min(axis=0), polygon.max(axis=0)
        box = np.flatnonzero(((self.xy >= low) & (self.xy <= high)).all(axis=1))
        x, y = self._xy64[box, 0], self._xy64[box, 1]
        inside = np.zeros(len(box), bool)
        for (x1, y1), (x2, y2) in zip(polygon, np.roll(polygon, -1, axis=0)):
            crosses = (y1 > y) != (y2 > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = (x2 - x1) * (y - y1) / (y2 - y1) + x1
            inside ^= crosses & (x < at)
        return box[inside]

    def label_groups(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(faces without CelebA label `label`, faces with it)."""
        column = self.space.attribute_names.index(label) if label in self.space.attribute_names else -1
        if column < 0 or self.space.attributes is None:
            raise UserError(f"the latents hold no CelebA label {label!r}")
        values = np.asarray(self.space.attributes)[:, column] > 0
        return np.flatnonzero(~values), np.flatnonzero(values)


def atlas_of(space: LatentSpace) -> Atlas | None:
    """The space's Atlas when its latents file holds a usable map (else None: see `space.atlas_note`)."""
    xy = getattr(space, "atlas_xy", None)
    return None if xy is None or not space.has_dataset else Atlas(space, xy)


def label_agreement(xy: np.ndarray, labels: np.ndarray, k: int = QUALITY_K, chunk: int = 2048) -> np.ndarray:
    """For each label column (N, L), the share of each face's k nearest map neighbours (itself excluded) that share
    its label, averaged over the faces: (L,)."""
    xy = np.asarray(xy, np.float64)
    labels = np.asarray(labels) > 0
    squared = (xy ** 2).sum(axis=1)
    same = np.zeros(labels.shape[1])
    for start in range(0, len(xy), chunk):
        rows = np.arange(start, min(start + chunk, len(xy)))
        d2 = squared[rows, None] - 2.0 * xy[rows] @ xy.T + squared[None, :]
        d2[np.arange(len(rows)), rows] = np.inf
        neighbours = np.argpartition(d2, k - 1, axis=1)[:, :k]
        same += (labels[neighbours] == labels[rows][:, None, :]).mean(axis=1).sum(axis=0)
    return same / len(xy)


def map_quality(space: LatentSpace, xy: np.ndarray, sample: int = QUALITY_SAMPLE, k: int = QUALITY_K,
                seed: int = SEED) -> dict:
    """Trustworthiness of the map (sklearn, k neighbours, on a fixed sample) and, for QUALITY_LABELS (those the
    latents carry), the label agreement of each face's k nearest map neighbours, with the agreement chance would give
    (p^2 + (1 - p)^2) and that of the k nearest faces by the features themselves (on the sample) beside it.
    Trustworthiness is measured against the features the map was fitted on, and against z_mean alone."""
    from sklearn.manifold import trustworthiness

    xy = check_map(xy, len(space))
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(xy), min(sample, len(xy)), replace=False))
    z = space.z_mean[rows]
    features = map_features(space)[rows]
    result = {"faces": len(xy), "sample": len(rows), "neighbours": k, "features": space.metric,
              "trustworthiness": round(float(trustworthiness(features, xy[rows], n_neighbors=k)), 4),
              "trustworthiness_z_mean": round(float(trustworthiness(z, xy[rows], n_neighbors=k)), 4)}
    names = [n for n in QUALITY_LABELS if n in space.attribute_names]
    if space.attributes is not None and names:
        labels = np.asarray(space.attributes)[:, [space.attribute_names.index(n) for n in names]]
        agreement = label_agreement(xy, labels, k)
        latent_agreement = label_agreement(features, labels[rows], k)
        share = (labels > 0).mean(axis=0)
        result["label_agreement"] = {n: round(float(a), 4) for n, a in zip(names, agreement)}
        result["label_agreement_latent_sample"] = {n: round(float(a), 4) for n, a in zip(names, latent_agreement)}
        result["label_agreement_chance"] = {n: round(float(p * p + (1 - p) ** 2), 4) for n, p in zip(names, share)}
    return result


PLAIN = "plain"
PC_PREFIX = "PC "
SCORE_PREFIX = "score: "
JUDGE_PREFIX = "judge: "


def colour_keys(space: LatentSpace, pcs: int = 5) -> list[str]:
    """What points can be coloured by: plain, each CelebA label the latents carry, the first principal components,
    each attribute direction's score (when the space has directions), and the judge's reading of each attribute
    (when the latents file holds the judge's readings)."""
    keys = [PLAIN, *space.attribute_names] if space.attributes is not None else [PLAIN]
    keys += [f"{PC_PREFIX}{i + 1}" for i in range(min(pcs, space.latent_dim))]
    if space.directions is not None:
        keys += [f"{SCORE_PREFIX}{n}" for n in space.directions.names]
    if getattr(space, "judge_p", None) is not None:
        keys += [f"{JUDGE_PREFIX}{n}" for n in space.judge_names]
    return keys


def colour_values(space: LatentSpace, key: str) -> tuple[np.ndarray | None, str]:
    """(values (N,), kind) to colour the points by `key` (see `colour_keys`): kind 'label' (values 0 / 1), 'scale'
    (continuous values), 'probability' (the judge's reading, 0..1) or 'plain' (None). UserError for an unknown key."""
    if key == PLAIN:
        return None, "plain"
    if key in space.attribute_names and space.attributes is not None:
        return (np.asarray(space.attributes)[:, space.attribute_names.index(key)] > 0).astype(np.float32), "label"
    if key.startswith(PC_PREFIX) and key[len(PC_PREFIX):].isdigit():
        i = int(key[len(PC_PREFIX):]) - 1
        if 0 <= i < space.latent_dim:
            return ((space.z_mean - space.mean) @ space.components[i] / space.sigma[i]).astype(np.float32), "scale"
    if key.startswith(SCORE_PREFIX) and space.directions is not None:
        name = key[len(SCORE_PREFIX):]
        if name in space.directions.names:
            scores = space.directions.standardized_scores(space.z_mean)
            return np.asarray(scores[:, space.directions.names.index(name)], np.float32), "scale"
    if key.startswith(JUDGE_PREFIX) and getattr(space, "judge_p", None) is not None:
        name = key[len(JUDGE_PREFIX):]
        if name in space.judge_names:
            return np.asarray(space.judge_p[:, space.judge_names.index(name)], np.float32), "probability"
    raise UserError(f"cannot colour by {key!r}: choose one of {', '.join(colour_keys(space)[:8])}, ...")


def mosaic_cells(atlas: Atlas, cells: int) -> list[tuple[int, int, int]]:
    """(row, column, dataset index) of a cells x cells grid over the map: in each cell holding points, the face whose
    point lies nearest the cell's centre (row 0 at the top: large y)."""
    low, high = atlas.bounds
    span = np.maximum(high - low, 1e-9)
    cell = np.minimum(((atlas.xy - low) / span * cells).astype(int), cells - 1)
    chosen = []
    for r in range(cells):
        for c in range(cells):
            members = np.flatnonzero((cell[:, 0] == c) & (cell[:, 1] == cells - 1 - r))
            if len(members):
                centre = low + (np.array([c, cells - 1 - r]) + 0.5) / cells * span
                best = members[np.argmin(((atlas.xy[members] - centre) ** 2).sum(axis=1))]
                chosen.append((r, c, int(best)))
    return chosen
