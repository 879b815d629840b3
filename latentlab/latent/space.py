"""LatentSpace: the dataset's latents (data/latents.npz) and the moves the explorer makes in latent space.

PCA basis of the dataset latents (coordinates in sigma units around the dataset mean), the prior fitted to
them (Randomize draws from it), invert, reset, linear and spherical interpolation, nearest dataset faces.
Works without a latents file too: the mean is then the zero latent, the "PCA" basis the raw dimensions and
the prior N(0, I). No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from latentlab.errors import UserError
from latentlab.files import atomic_write_bytes, read_npz
from latentlab.latent.prior import PRIOR_KEYS, GaussianPrior, fit_gaussian, standard_normal
from latentlab.paths import ATTRIBUTES_FILE, beside, shown

NPY_MAGIC = b"\x93NUMPY"
LATENT_LIMIT = 100.0  # largest |value| a latent file may hold: far outside any face, far from float overflow

MODES = ("pca", "raw")
INTERPOLATIONS = ("linear", "spherical")
INDEX_HINT = "build it with `python vae.py index --data DIR`"
REQUIRED_KEYS = ("names", "z_mean")
# Neighbour metrics: each maps latents to features compared by Euclidean distance (README, "Most similar faces").
METRICS = ("attributes", "euclidean", "mahalanobis", "cosine")
METRIC_LABELS = {
    "attributes": "attribute-weighted distance: z_mean plus 4 x its 40 standardised attribute scores",
    "euclidean": "Euclidean distance between z_mean vectors",
    "mahalanobis": "Mahalanobis distance under the fitted prior",
    "cosine": "cosine distance between z_mean vectors",
}
ATTRIBUTE_WEIGHT = 4.0  # weight of the standardised attribute scores beside z_mean in the "attributes" metric
AGREEMENT_ATTRIBUTES = ("Male", "Pale_Skin", "hair colour", "Eyeglasses")
HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")
ATLAS_KEY = "atlas_xy"  # the optional map of the latents (N, 2) float32, see latent/atlas.py
JUDGE_P_KEY = "judge_p"  # optional: the attribute judge's reading of each decoded dataset face (N, A) float16
JUDGE_NAMES_KEY = "judge_names"  # the judge's attribute names (A,), beside judge_p


def write_latents(path: str | os.PathLike, names, z_mean: np.ndarray, kl_per_dim: np.ndarray, *, image_size: int,
                  crop: str, weights_sha: str, data_root: str, attribute_names=None,
                  attributes: np.ndarray | None = None, atlas_xy: np.ndarray | None = None) -> dict:
    """Write a latents.npz atomically (the format `read_latents` reads): file names (N,), z_mean (N, D) as float16,
    KL per dimension (D,), the model's image size and crop, its weights' fingerprint, the dataset folder, the
    Gaussian prior fitted to the stored z_mean (prior_mean (D,), prior_cholesky (D, D)), and optionally CelebA
    labels (N, A) with their names and the atlas map `atlas_xy` (N, 2) (latent/atlas.py). Returns the arrays
    written."""
    import io

    z_mean = np.asarray(z_mean)
    arrays = {
        "names": np.array(names), "z_mean": z_mean.astype(np.float16),
        "kl_per_dim": np.asarray(kl_per_dim, np.float32), "image_size": image_size, "crop": crop,
        "latent_dim": z_mean.shape[1], "weights_sha": weights_sha, "data_root": str(data_root),
    }
    arrays.update(fit_gaussian(arrays["z_mean"]).arrays())
    if attribute_names is not None and len(attribute_names):
        arrays["attribute_names"] = np.array(attribute_names)
        arrays["attributes"] = np.asarray(attributes, np.int8)
    if atlas_xy is not None:
        arrays[ATLAS_KEY] = np.asarray(atlas_xy, np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return arrays


def read_latents(path: str | os.PathLike, latent_dim: int | None = None, weights_sha: str | None = None) -> dict:
    """The arrays of a latents.npz written by `vae.py index`; UserError when missing, unreadable, lacking
    names / z_mean, or (when given) made for another latent size or other weights. The prior (`PRIOR_KEYS`) is
    always there: fitted to z_mean here when the file predates it."""
    path = Path(path)
    arrays = read_npz(path, "a readable latents file", INDEX_HINT)
    missing = [key for key in REQUIRED_KEYS if key not in arrays]
    if missing:
        raise UserError(f"{shown(path)} lacks {', '.join(missing)}: {INDEX_HINT}")
    z_mean = arrays["z_mean"]
    if latent_dim is not None:
        stored_dim = int(arrays["latent_dim"]) if "latent_dim" in arrays else (z_mean.shape[-1] if z_mean.ndim else -1)
        if z_mean.ndim != 2 or z_mean.shape[1] != latent_dim or stored_dim != latent_dim:
            raise UserError(
                f"{shown(path)} holds {stored_dim}-dimensional latents but the model's latent size is {latent_dim}: "
                f"{INDEX_HINT}"
            )
    stored_sha = str(arrays["weights_sha"]) if "weights_sha" in arrays else None
    if weights_sha and stored_sha and stored_sha != weights_sha:
        raise UserError(f"{shown(path)} was indexed with other weights ({stored_sha}, loaded {weights_sha}): "
                        f"{INDEX_HINT}")
    if z_mean.ndim != 2 or not np.isfinite(z_mean).all():
        raise UserError(f"{shown(path)} holds non-finite latents or latents of shape {z_mean.shape}: {INDEX_HINT}")
    if not all(key in arrays for key in PRIOR_KEYS):
        arrays.update(fit_gaussian(z_mean).arrays())
    dim = z_mean.shape[-1]
    if arrays["prior_mean"].shape != (dim,) or arrays["prior_cholesky"].shape != (dim, dim) or not all(
            np.isfinite(arrays[key]).all() for key in PRIOR_KEYS):
        raise UserError(f"{shown(path)} holds a prior that does not fit its {dim}-dimensional latents: {INDEX_HINT}")
    return arrays


class LatentSpace:
    """The latent space of one model, with or without the dataset's latents.

    `components` (D, D) holds the principal axes as rows, ordered by variance; `sigma` (D,) the
    standard deviation of the dataset along each (`raw_sigma` along each latent dimension, None
    without dataset latents). PCA coordinates are (z - mean) projected on the
    axes, divided by sigma: coordinate 1.0 is one standard deviation of the dataset. `prior` is what
    Randomize draws from: the Gaussian fitted to the dataset latents (the one given, as latents.npz stores
    it, else fitted here), N(0, I) without dataset latents. The mean and the axes are the prior's, so the
    dataset's covariance is computed once (at index time for files that store the prior).
    """

    def __init__(self, latent_dim: int, z_mean: np.ndarray | None = None, names=None, *,
                 kl_per_dim: np.ndarray | None = None, attributes: np.ndarray | None = None,
                 attribute_names=None, crop: str | None = None, data_root: str | None = None,
                 prior: GaussianPrior | None = None, source: Path | None = None, note: str = "",
                 directions=None, atlas_xy: np.ndarray | None = None, atlas_note: str = "",
                 judge_p: np.ndarray | None = None, judge_names=None):
        self.latent_dim = int(latent_dim)
        # the judge's probabilities for each dataset face's decoded face (N, A) float16, None without (latent/atlas.py)
        self.judge_p = judge_p
        self.judge_names = [str(n) for n in judge_names] if judge_p is not None and judge_names is not None else []
        self.atlas_xy = atlas_xy  # the map of the dataset latents (N, 2), None without (atlas_note says why)
        self.atlas_note = atlas_note
        self.directions = directions  # AttributeDirections for the "attributes" metric, or None
        self.metric = "attributes" if directions is not None and z_mean is not None else "euclidean"
        self._features: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.source = source
        self.note = note
        self.crop = crop
        self.data_root = data_root
        self.kl_per_dim = None if kl_per_dim is None else np.asarray(kl_per_dim, np.float32)
        self.attributes = attributes
        self.attribute_names = [str(n) for n in attribute_names] if attribute_names is not None else []
        if z_mean is None:
            self.z_mean = None
            self.names: list[str] = []
            self.mean = np.zeros(self.latent_dim, np.float32)
            self.components = np.eye(self.latent_dim, dtype=np.float32)
            self.sigma = np.ones(self.latent_dim, np.float32)
            self.raw_sigma = None
            self.prior = standard_normal(self.latent_dim)
            return
        z_mean = np.asarray(z_mean, np.float32)
        if z_mean.ndim != 2 or z_mean.shape[1] != self.latent_dim or len(z_mean) == 0:
            raise UserError(f"dataset latents have shape {z_mean.shape}, expected (N, {self.latent_dim})")
        self.z_mean = z_mean
        self.names = [str(n) for n in names] if names is not None else [f"#{i}" for i in range(len(z_mean))]
        if len(self.names) != len(z_mean):
            raise UserError(f"dataset latents hold {len(z_mean)} latents but {len(self.names)} names")
        self.prior = prior if prior is not None else fit_gaussian(z_mean)
        self.mean = self.prior.mean.astype(np.float32)
        self.components, self.sigma = principal_axes(self.prior.covariance)
        self.raw_sigma = z_mean.std(axis=0, dtype=np.float64).astype(np.float32)
        if directions is not None and directions.directions.shape[-1] != self.latent_dim:
            raise UserError(f"attribute directions are {directions.directions.shape[-1]}-dimensional, the latents "
                            f"{self.latent_dim}-dimensional")
        self.features(self.metric)  # the default metric's dataset features, once, at load

    @classmethod
    def load(cls, path: str | os.PathLike, latent_dim: int, weights_sha: str | None = None) -> LatentSpace:
        """Read a latents.npz written by `vae.py index`; UserError when missing, damaged or made for
        another model (other latent size, or other weights when `weights_sha` is given)."""
        arrays = read_latents(path, latent_dim, weights_sha)
        z_mean = arrays["z_mean"]
        directions = _directions_beside(Path(path), latent_dim, weights_sha)

        def text(key):
            return str(arrays[key]) if key in arrays else None

        atlas_xy, atlas_note = arrays.get(ATLAS_KEY), ""
        if atlas_xy is None:
            atlas_note = f"{Path(path).name} holds no map: add one with `python vae.py atlas --latents FILE`"
        elif atlas_xy.shape != (len(z_mean), 2) or not np.isfinite(atlas_xy).all():
            atlas_note = (f"{Path(path).name} holds a map of shape {atlas_xy.shape} for {len(z_mean)} faces: redo it "
                          "with `python vae.py atlas --latents FILE`")
            atlas_xy = None
        judge_p, judge_names = arrays.get(JUDGE_P_KEY), arrays.get(JUDGE_NAMES_KEY)
        if judge_p is not None and (judge_names is None or np.ndim(judge_names) != 1
                                    or judge_p.shape != (len(z_mean), len(judge_names))
                                    or not np.isfinite(judge_p).all()):
            judge_p, judge_names = None, None  # readings that do not fit these latents are not used

        return cls(
            latent_dim, z_mean, arrays["names"], kl_per_dim=arrays.get("kl_per_dim"),
            attributes=arrays.get("attributes"), attribute_names=arrays.get("attribute_names"),
            crop=text("crop"), data_root=text("data_root"), prior=GaussianPrior.from_arrays(arrays), source=Path(path),
            directions=directions, atlas_xy=None if atlas_xy is None else atlas_xy.astype(np.float32),
            atlas_note=atlas_note, judge_p=judge_p, judge_names=judge_names,
        )

    @classmethod
    def open(cls, path: str | os.PathLike, latent_dim: int, weights_sha: str | None = None) -> LatentSpace:
        """`load`, or a LatentSpace without dataset whose `note` says why (and how to build one)."""
        try:
            return cls.load(path, latent_dim, weights_sha)
        except UserError as exc:
            return cls(latent_dim, note=f"dataset features off: {exc}")

    @property
    def has_dataset(self) -> bool:
        return self.z_mean is not None

    def __len__(self) -> int:
        return 0 if self.z_mean is None else len(self.z_mean)

    def latent(self, index: int) -> np.ndarray:
        """The stored z_mean of dataset image `index` (float32 copy)."""
        self._require_dataset()
        if not 0 <= index < len(self):
            raise UserError(f"dataset index {index} is out of range 0..{len(self) - 1}")
        return self.z_mean[index].copy()

    def to_pca(self, z: np.ndarray) -> np.ndarray:
        """Latent(s) (..., D) -> PCA coordinates (..., D) in sigma units."""
        return ((np.asarray(z, np.float32) - self.mean) @ self.components.T) / self.sigma

    def from_pca(self, coordinates: np.ndarray) -> np.ndarray:
        """PCA coordinates (..., D) in sigma units -> latent(s) (..., D)."""
        return (np.asarray(coordinates, np.float32) * self.sigma) @ self.components + self.mean

    def coordinates(self, z: np.ndarray, mode: str) -> np.ndarray:
        """What the sliders show for `z`: PCA coordinates ('pca') or the raw latent ('raw')."""
        return self.to_pca(z) if mode == "pca" else np.asarray(z, np.float32).copy()

    def with_coordinate(self, z: np.ndarray, mode: str, index: int, value: float) -> np.ndarray:
        """`z` moved so that slider `index` reads `value`; every other coordinate is kept exactly."""
        z = np.asarray(z, np.float32).copy()
        if mode == "raw":
            z[index] = value
            return z
        current = float(self.to_pca(z)[index])
        return z + np.float32((value - current) * self.sigma[index]) * self.components[index]

    def invert(self, z: np.ndarray) -> np.ndarray:
        """The opposite face: `z` mirrored through the dataset mean (all PCA coordinates negated)."""
        return (2.0 * self.mean - np.asarray(z, np.float32)).astype(np.float32)

    def reset(self) -> np.ndarray:
        """The average face: the dataset mean (the zero latent without dataset latents)."""
        return self.mean.copy()

    @staticmethod
    def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        """Linear blend (1 - t) a + t b."""
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        return ((1.0 - t) * a + t * b).astype(np.float32)

    @staticmethod
    def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        """Spherical interpolation around the origin (the prior's centre); linear for (anti)parallel
        or zero vectors, where the great circle is undefined."""
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        norms = np.linalg.norm(a64) * np.linalg.norm(b64)
        if norms == 0:
            return LatentSpace.lerp(a, b, t)
        omega = np.arccos(np.clip(a64 @ b64 / norms, -1.0, 1.0))
        if np.sin(omega) < 1e-6:
            return LatentSpace.lerp(a, b, t)
        blend = (np.sin((1.0 - t) * omega) * a64 + np.sin(t * omega) * b64) / np.sin(omega)
        return blend.astype(np.float32)

    def interpolate(self, a: np.ndarray, b: np.ndarray, t: float, method: str = "linear") -> np.ndarray:
        """The blend of a and b at t in [0, 1] ('linear' or 'spherical')."""
        if method not in INTERPOLATIONS:
            raise UserError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {method!r}")
        return self.slerp(a, b, t) if method == "spherical" else self.lerp(a, b, t)

    @property
    def metric_label(self) -> str:
        """What the default metric's distances measure (for captions)."""
        return METRIC_LABELS[self.metric]

    def transform(self, z: np.ndarray, metric: str) -> np.ndarray:
        """Latents (N, D) or (D,) as the features `metric` compares with Euclidean distance (float32)."""
        z = np.asarray(z, np.float32)
        if metric == "euclidean":
            return z
        if metric == "mahalanobis":
            whitened = np.linalg.solve(self.prior.cholesky, (z - self.mean).T).T  # L^-1 (z - mean)
            return whitened.astype(np.float32)
        if metric == "cosine":
            return z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-12)
        if metric == "attributes":
            if self.directions is None:
                raise UserError("the attributes metric needs attribute directions (data/attributes.npz): "
                                "build them with `python vae.py attributes`")
            return np.concatenate([z, ATTRIBUTE_WEIGHT * self.directions.label_scores(z)], axis=-1)
        raise UserError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")

    def features(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(dataset features (N, F), their squared norms (N,)) under `metric`, computed once and kept."""
        self._require_dataset()
        if metric not in self._features:
            features = self.transform(self.z_mean, metric)
            self._features[metric] = (features, np.einsum("nf,nf->n", features, features))
        return self._features[metric]

    def nearest(self, z: np.ndarray, k: int = 1, metric: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices, distances) of the k dataset latents closest to `z` under `metric` (default `self.metric`:
        "attributes" when attribute directions are loaded, else "euclidean"), closest first."""
        self._require_dataset()
        metric = metric or self.metric
        features, squared_norms = self.features(metric)
        query = self.transform(z, metric)
        k = max(1, min(int(k), len(self)))
        squared = squared_norms - 2.0 * (features @ query) + float(query @ query)
        candidates = np.argpartition(squared, k - 1)[:k] if k < len(self) else np.arange(len(self))
        order = candidates[np.argsort(squared[candidates], kind="stable")]
        return order, np.sqrt(np.maximum(squared[order], 0.0))

    def _require_dataset(self) -> None:
        if not self.has_dataset:
            raise UserError(self.note or f"no dataset latents: {INDEX_HINT}")


def _directions_beside(path: Path, latent_dim: int, weights_sha: str | None):
    """The AttributeDirections in attributes.npz beside a latents file, or None when absent or made for another
    model (the neighbour search then falls back to Euclidean distance)."""
    from latentlab.latent.directions import AttributeDirections

    candidate = beside(path, ATTRIBUTES_FILE)
    if candidate is None:
        return None
    try:
        return AttributeDirections.load(candidate, weights_sha, latent_dim)
    except UserError:
        return None


def neighbour_agreement(space: LatentSpace, metric: str, query: np.ndarray, base: np.ndarray, k: int = 5,
                        chunk: int = 1024) -> dict[str, float]:
    """How often the k nearest `base` faces of each `query` face share its labels, under `metric`.

    `query` / `base` are boolean masks (or index arrays) into the space's latents, which must carry CelebA
    attribute labels. Returns the share of neighbours with the same Male, Pale_Skin, hair colour (the same set
    of Black / Blond / Brown / Gray hair labels) and Eyeglasses label, and their mean.
    """
    if space.attributes is None:
        raise UserError("the latents hold no attribute labels: run `vae.py index --attributes list_attr_celeba.txt`")
    query, base = (np.flatnonzero(m) if m.dtype == bool else m for m in (np.asarray(query), np.asarray(base)))
    features, squared = space.features(metric)
    labels = np.asarray(space.attributes)
    column = {n: i for i, n in enumerate(space.attribute_names)}
    groups = {"Male": [column["Male"]], "Pale_Skin": [column["Pale_Skin"]],
              "hair colour": [column[h] for h in HAIR_COLOURS], "Eyeglasses": [column["Eyeglasses"]]}
    k = max(1, min(int(k), len(base)))
    same = {name: 0.0 for name in groups}
    base_features, base_squared = features[base], squared[base]
    for start in range(0, len(query), chunk):
        rows = query[start:start + chunk]
        distances = base_squared[None, :] - 2.0 * (features[rows] @ base_features.T)
        neighbours = base[np.argpartition(distances, k - 1, axis=1)[:, :k]]  # (q, k) indices into the space
        for name, cols in groups.items():
            same[name] += float((labels[neighbours][..., cols] == labels[rows][:, None, cols]).all(-1).sum())
    result = {name: same[name] / (len(query) * k) for name in AGREEMENT_ATTRIBUTES}
    result["mean"] = float(np.mean([result[name] for name in AGREEMENT_ATTRIBUTES]))
    return result


def compare_metrics(space: LatentSpace, metrics=METRICS, k: int = 5) -> dict[str, dict[str, float]]:
    """`neighbour_agreement` of every metric: each validation face's k nearest train faces (CelebA's official
    split when list_eval_partition.txt is beside the dataset folder, see `attributes.split_mask`)."""
    from latentlab.latent.directions import split_mask

    train, val, _ = split_mask(space.names, space.data_root)
    return {metric: neighbour_agreement(space, metric, val, train, k) for metric in metrics}


def principal_axes(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(axes (D, D) as rows ordered by variance, sigma (D,)) of a covariance (D, D), float32.

    The covariance is decomposed with SVD; each axis' sign is fixed so that its largest loading is
    positive. Sigma is floored at a tiny positive value so that directions the dataset never uses
    still map to finite coordinates.
    """
    # NumPy, not sklearn.decomposition.PCA: the window computes this at start from the prior's stored covariance,
    # 6 ms for D = 256, where PCA needs the latents (31 ms for the 22,000 of data/latents.npz, growing with N) and
    # importing scikit-learn (0.9 s). Both give the same axes up to sign (|cos| > 0.9999995) and sigma (4e-7).
    d = len(covariance)
    _, variances, axes = np.linalg.svd(covariance, hermitian=True)
    signs = np.sign(axes[np.arange(d), np.abs(axes).argmax(axis=1)])
    axes *= np.where(signs == 0, 1.0, signs)[:, None]
    sigma = np.sqrt(np.maximum(variances, 0.0))
    sigma = np.maximum(sigma, max(sigma.max() * 1e-6, 1e-12))
    return axes.astype(np.float32), sigma.astype(np.float32)


def load_latent_file(path: str | os.PathLike, latent_dim: int) -> np.ndarray:
    """A latent saved as .npy: shape (D,) or (1, D) of real numbers within +-LATENT_LIMIT; UserError saying what is
    wrong otherwise."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise UserError(f"{path.name} is not a .npy file: latents are saved and loaded as NumPy .npy files")
    if not path.is_file():
        raise UserError(f"{path} not found")
    try:
        with open(path, "rb") as file:
            is_npy = file.read(len(NPY_MAGIC)) == NPY_MAGIC
        z = np.load(path, allow_pickle=False) if is_npy else None
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"{path.name} is not a readable .npy file ({exc})") from None
    if z is None:
        raise UserError(f"{path.name} is not a NumPy .npy file (no .npy header): save latents with Save Latent "
                        "or numpy.save")
    if not np.issubdtype(z.dtype, np.integer) and not np.issubdtype(z.dtype, np.floating):
        raise UserError(f"{path.name} holds {z.dtype} values: a latent is real numbers (float or int)")
    if z.size != latent_dim or z.ndim > 2 or (z.ndim == 2 and z.shape[0] != 1):
        raise UserError(
            f"{path.name} holds an array of shape {z.shape} ({z.dtype}), but this model's latent is {latent_dim} "
            "numbers"
        )
    z = z.reshape(latent_dim).astype(np.float64)
    if not np.isfinite(z).all():
        raise UserError(f"{path.name} contains NaN or infinite values")
    if np.abs(z).max() > LATENT_LIMIT:
        raise UserError(f"{path.name} holds values up to {np.abs(z).max():.3g}: a latent must lie within "
                        f"+-{LATENT_LIMIT:g} (dataset latents lie within about +-5)")
    return z.astype(np.float32)


def save_latent_file(path: str | os.PathLike, z: np.ndarray) -> Path:
    """Write a latent as a float32 .npy (the suffix is added when missing), via a temp file + rename."""
    import io

    path = Path(path)
    if path.suffix.lower() != ".npy":
        path = path.with_name(path.name + ".npy")
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(z, np.float32))
    atomic_write_bytes(path, buffer.getvalue())
    return path
