"""Exploring by sight, in latent space: seeded draws, a grid of children around a face, strips along a principal
component or an attribute, and A / B mixing by principal components. Pure NumPy (no Qt, no TensorFlow).

The window (Randomize, its seed box, the Children grid, the Strips and Mixing docks), `vae.py sample --seed`,
`vae.py mix` and `vae.py bench` all call these functions, so a seed gives the same face everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from latentlab.errors import UserError
from latentlab.latent.prior import GaussianPrior

SEED_MAX = 2**31 - 1  # seeds are 0 .. SEED_MAX (what a seed box and the command line accept)
STRIP_FACES = 7
GRID_SIZES = (3, 4)  # a 3x3 or 4x4 grid of children


def check_seed(seed: int) -> int:
    """`seed` as an int in 0 .. SEED_MAX; UserError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= SEED_MAX:
        raise UserError(f"a seed is a whole number from 0 to {SEED_MAX}, got {seed!r}")
    return int(seed)


def new_seed(rng: np.random.Generator, count: int = 1) -> int:
    """A fresh seed from `rng` such that `count` consecutive seeds from it stay within SEED_MAX."""
    return int(rng.integers(0, SEED_MAX - max(count, 1) + 2))


def seeded_latent(prior: GaussianPrior, seed: int, temperature: float) -> np.ndarray:
    """The face of `seed`: one draw (D,) float32 from `prior` at `temperature` with NumPy's default generator seeded
    with `seed` (what Randomize shows for that seed and what `vae.py sample --seed` writes)."""
    if temperature < 0:
        raise UserError(f"the range (temperature) must be 0 or more, got {temperature:g}")
    return prior.draw(1, float(temperature), np.random.default_rng(check_seed(seed)))[0]


def seeded_latents(prior: GaussianPrior, seeds: Iterable[int], temperature: float) -> np.ndarray:
    """The faces of `seeds` (n, D) float32: row i is `seeded_latent(prior, seeds[i], temperature)`."""
    rows = [seeded_latent(prior, seed, temperature) for seed in seeds]
    if not rows:
        return np.zeros((0, prior.latent_dim), np.float32)
    return np.stack(rows)


def seed_range(first: int, count: int) -> list[int]:
    """`count` consecutive seeds from `first` (UserError when they would pass SEED_MAX)."""
    first = check_seed(first)
    if count < 1 or first + count - 1 > SEED_MAX:
        raise UserError(f"{count} seeds from {first} pass the largest seed, {SEED_MAX}")
    return list(range(first, first + count))


def children(prior: GaussianPrior, z: np.ndarray, n: int, spread: float, seed: int) -> np.ndarray:
    """n variations (n, D) float32 of latent `z`: z + spread · L ε with ε ~ N(0, I) from `seed`, L the prior's
    Cholesky factor. The offsets are draws from the prior around its mean, so the children vary the way the dataset
    varies (pose, light, hair more than the weak directions); `spread` 1 is the prior's own spread, 0 the face
    itself."""
    if spread < 0:
        raise UserError(f"the spread must be 0 or more, got {spread:g}")
    z = np.asarray(z, np.float64).reshape(-1)
    if z.shape != (prior.latent_dim,):
        raise UserError(f"a latent of {prior.latent_dim} numbers is needed, got {z.size}")
    noise = np.random.default_rng(check_seed(seed)).standard_normal((int(n), prior.latent_dim))
    return (z + float(spread) * noise @ prior.cholesky.T).astype(np.float32)


def strip_values(extent: float, n: int = STRIP_FACES) -> np.ndarray:
    """n slider values evenly from -extent to +extent (both ends included)."""
    return np.linspace(-float(extent), float(extent), int(n))


def component_strip(space, z: np.ndarray, index: int, extent: float, n: int = STRIP_FACES,
                    mode: str = "pca") -> np.ndarray:
    """n latents (n, D): `z` with slider `index` of `mode` ('pca': principal component, 'raw': latent dimension)
    set to each of `strip_values(extent, n)`, every other coordinate kept, exactly as the slider sets it
    (LatentSpace.with_coordinate)."""
    if not 0 <= index < space.latent_dim:
        raise UserError(f"component {index + 1} does not exist: the latent has {space.latent_dim}")
    return np.stack([space.with_coordinate(z, mode, index, float(v)) for v in strip_values(extent, n)])


def attribute_strip(directions, z: np.ndarray, index: int, extent: float, held: Sequence[int] = (),
                    n: int = STRIP_FACES) -> np.ndarray:
    """n latents (n, D): `z` moved so that its standardised score on attribute `index` is each of
    `strip_values(extent, n)`, holding the attributes `held`, exactly as the attribute slider moves it
    (AttributeDirections.move_to_score)."""
    if not 0 <= index < len(directions.names):
        raise UserError(f"attribute {index} does not exist: there are {len(directions.names)}")
    return np.stack([directions.move_to_score(z, index, float(v), held) for v in strip_values(extent, n)])


def mix_components(space, a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """The latent (D,) float32 whose first `k` principal coordinates are A's and the rest B's (the space's PCA
    axes; the raw dimensions without dataset latents). k = 0 gives B and k = D gives A, exactly."""
    d = space.latent_dim
    k = int(k)
    if not 0 <= k <= d:
        raise UserError(f"k must be 0 to {d}, got {k}")
    a64, b64 = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    if a64.shape != (d,) or b64.shape != (d,):
        raise UserError(f"A and B must be latents of {d} numbers")
    axes = np.asarray(space.components, np.float64)  # orthonormal rows, by variance
    difference = a64 - b64
    if k <= d - k:  # b + the leading k axes' share of (a - b)
        head = axes[:k]
        mixed = b64 + (head @ difference) @ head
    else:  # a - the trailing axes' share of (a - b): the same latent, fewer terms
        tail = axes[k:]
        mixed = a64 - (tail @ difference) @ tail
    return mixed.astype(np.float32)


def k_steps(latent_dim: int, count: int = 9) -> list[int]:
    """Up to `count` values of k from 0 to latent_dim (both included), spaced geometrically: the leading
    components change a face most, so they get most of the steps (0, 1, 2, 4, 8, ... for a 256-dimensional latent;
    every k when latent_dim < count)."""
    latent_dim, count = int(latent_dim), max(2, int(count))
    if latent_dim + 1 <= count:
        return list(range(latent_dim + 1))
    return sorted({0, *(int(round(v)) for v in np.geomspace(1, latent_dim, count - 1))})


def mix_series(space, a: np.ndarray, b: np.ndarray, ks: Iterable[int]) -> np.ndarray:
    """`mix_components` for each k of `ks`: (len(ks), D) float32."""
    return np.stack([mix_components(space, a, b, k) for k in ks])
