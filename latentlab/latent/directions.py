"""Attribute directions in latent space: one unit vector per CelebA label, fitted from dataset latents.

Two linear fits are computed on the training partition, the one with the better validation ROC AUC
(mean over attributes) is kept:
- `mean_difference_directions`: mean z_mean of the positives minus that of the negatives (each class
  averaged on its own, so the class balance does not matter);
- `logistic_directions`: L2-regularised logistic regression on standardised z_mean, one
  scikit-learn `LogisticRegression` per attribute.
A face's score on an attribute is its projection on the unit direction; conditional editing moves along
the part of a direction orthogonal to the held attributes' directions (as InterFaceGAN does), which
leaves their scores unchanged. No Qt here.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.errors import UserError
from latentlab.files import atomic_write_bytes, read_npz
from latentlab.paths import DEFAULT_ATTRIBUTES, shown

REBUILD_HINT = (
    "to build it, run `python vae.py index --data DIR --attributes list_attr_celeba.txt` (writes data/latents.npz "
    "and data/attributes.npz), or `python vae.py attributes` when data/latents.npz already holds the labels"
)
METHODS = ("logistic", "mean_diff")  # fitted on the photos' labels
DIRECTION_METHODS = ("auto", *METHODS, "judged")  # judged: latentlab.latent.judged_directions
EDIT_EFFECT = "edit_effect"  # (A,) the judge's p(+2 sd) - p(-2 sd) per direction, `evaluate --edits --save-effects`
LABEL_DIRECTIONS = "label_directions"  # (A, D) label-fitted directions beside judged ones, for the neighbour metric
WEAK_EFFECT = 0.2  # a direction whose measured effect is below this hardly shows on the decoded face
L2 = 1e-3
VAL_FRACTION = 0.1


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for `labels` (> 0 is positive), ties counted half (scikit-learn's
    `roc_auc_score`).

    NaN when one class is absent.
    """
    from sklearn.metrics import roc_auc_score

    positive = np.asarray(labels).ravel() > 0
    if positive.all() or not positive.any():
        return float("nan")
    return float(roc_auc_score(positive, np.asarray(scores, np.float64).ravel()))


def auc_per_attribute(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """ROC AUC of each column of scores (N, A) against labels (N, A) of +1 / -1; rows labelled 0 are skipped."""
    aucs = np.full(scores.shape[1], np.nan)
    for a in range(scores.shape[1]):
        known = labels[:, a] != 0
        aucs[a] = roc_auc(scores[known, a], labels[known, a])
    return aucs


def mean_auc(aucs: np.ndarray) -> float:
    """Mean of the defined (non-NaN) AUCs; NaN when none is."""
    defined = np.asarray(aucs, np.float64)
    defined = defined[~np.isnan(defined)]
    return float(defined.mean()) if len(defined) else float("nan")


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def mean_difference_directions(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit directions (A, D): mean of positives minus mean of negatives per attribute (labels +1 / -1 / 0)."""
    z = np.asarray(z, np.float32)
    positive = (labels > 0).astype(np.float32)
    negative = (labels < 0).astype(np.float32)
    pos_mean = positive.T @ z / np.maximum(positive.sum(0), 1)[:, None]
    neg_mean = negative.T @ z / np.maximum(negative.sum(0), 1)[:, None]
    return _unit_rows(pos_mean - neg_mean)


def logistic_directions(z: np.ndarray, labels: np.ndarray, l2: float = L2, max_iter: int = 1000,
                        tol: float = 1e-6) -> tuple[np.ndarray, dict]:
    """Unit directions (A, D) from L2-regularised logistic regressions of each label (N, A) on standardised z (N, D).

    Each attribute's fit minimises log-loss / n + l2 / 2 * |w|^2 over its n known rows (labels 0 are left out; the
    intercept is unpenalised), by scikit-learn's `LogisticRegression` (lbfgs, C = 1 / (n * l2)). Returns (directions,
    info with the most iterations any fit took). The direction in z space is the normal of the decision hyperplane,
    w / sigma.
    """
    from sklearn.linear_model import LogisticRegression

    z = np.asarray(z, np.float32)
    mean, std = z.mean(0, dtype=np.float64), z.std(0, dtype=np.float64) + 1e-6
    x = (z - mean) / std  # float64
    weights = np.zeros((labels.shape[1], z.shape[1]))
    iterations = 0
    for a in range(labels.shape[1]):
        known = labels[:, a] != 0
        positive = labels[:, a] > 0
        if not positive.any() or positive.sum() == known.sum():
            continue  # one class only: no hyperplane, a zero direction
        fit = LogisticRegression(C=1.0 / (int(known.sum()) * l2), max_iter=max_iter, tol=tol)
        fit.fit(x, positive, sample_weight=known.astype(np.float64))  # weight 0: left out
        weights[a] = fit.coef_[0]
        iterations = max(iterations, int(fit.n_iter_[0]))
    return _unit_rows(weights / std), {"iterations": iterations, "l2": l2}


def conditional_direction(direction: np.ndarray, held: np.ndarray) -> np.ndarray:
    """`direction` with its component in the span of the `held` directions (k, D) removed, re-normalised.

    Moving a latent along the result leaves its projection on every held direction unchanged.
    """
    direction = np.asarray(direction, np.float64)
    held = np.asarray(held, np.float64).reshape(-1, direction.shape[0])
    if len(held):
        coefficients, *_ = np.linalg.lstsq(held.T, direction, rcond=None)
        direction = direction - held.T @ coefficients
    norm = np.linalg.norm(direction)
    if norm < 1e-6:
        raise UserError("the attribute's direction lies in the span of the held attributes: hold fewer")
    return (direction / norm).astype(np.float32)


def split_mask(names: Sequence[str], data_root: str | None, val_fraction: float = VAL_FRACTION,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """(train mask, validation mask, how): CelebA's official partition (0 = train, 1 = validation)
    when list_eval_partition.txt is found in or beside `data_root`, else a seeded random split."""
    from latentlab.images import read_partition

    partition = read_partition(data_root) if data_root and Path(data_root).is_dir() else {}
    if partition:
        parts = np.array([partition.get(Path(name).stem, -1) for name in names])
        train, val = parts == 0, parts == 1
        if train.any() and val.any():
            return train, val, "official"
    n = len(names)
    val = np.zeros(n, bool)
    val[np.random.default_rng(seed).permutation(n)[: max(1, int(round(n * val_fraction)))]] = True
    return ~val, val, "seeded"


@dataclass
class AttributeDirections:
    """Named unit directions (A, D) with the dataset's score mean / std per attribute.

    Scores are projections z . direction; `edit` amounts are in units of the attribute's score std.
    """

    names: list[str]
    directions: np.ndarray
    score_mean: np.ndarray
    score_std: np.ndarray
    method: str
    weights_sha: str = ""
    val_auc: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def latent_dim(self) -> int:
        return int(self.directions.shape[1])

    def index(self, name: str) -> int:
        """Position of an attribute; UserError listing the valid names otherwise."""
        lowered = {n.lower(): i for i, n in enumerate(self.names)}
        if name.lower() not in lowered:
            raise UserError(f"unknown attribute {name!r}; valid names: {', '.join(self.names)}")
        return lowered[name.lower()]

    def scores(self, z: np.ndarray) -> np.ndarray:
        """Projections of latents (N, D) or (D,) on every direction: (N, A) or (A,)."""
        return np.asarray(z, np.float32) @ self.directions.T

    def standardized_scores(self, z: np.ndarray) -> np.ndarray:
        """(scores - dataset mean) / dataset std: 0 is an average face, +-2 unusual (float64)."""
        scores = np.asarray(z, np.float64) @ self.directions.T.astype(np.float64)
        return (scores - self.score_mean) / self.score_std

    def label_scores(self, z: np.ndarray) -> np.ndarray:
        """Standardised scores (float32) on the directions fitted to the photos' labels: what the nearest-face metric
        compares. Judged edit directions keep those beside them (`LABEL_DIRECTIONS`); others are label-fitted."""
        if LABEL_DIRECTIONS not in self.extra:
            return self.standardized_scores(z).astype(np.float32)
        directions = np.asarray(self.extra[LABEL_DIRECTIONS], np.float64)
        scores = np.asarray(z, np.float64) @ directions.T
        return ((scores - self.extra["label_score_mean"]) / self.extra["label_score_std"]).astype(np.float32)

    def label_fitted(self) -> AttributeDirections | None:
        """The label-fitted directions kept beside judged ones (`keep_label_directions`) as a set of their own, or
        None when the file holds none."""
        if LABEL_DIRECTIONS not in self.extra:
            return None
        return AttributeDirections(
            names=list(self.names), directions=np.asarray(self.extra[LABEL_DIRECTIONS], np.float32),
            score_mean=np.asarray(self.extra["label_score_mean"], np.float32),
            score_std=np.asarray(self.extra["label_score_std"], np.float32),
            method=str(self.extra["label_method"]), weights_sha=self.weights_sha)

    def keep_label_directions(self, fitted: AttributeDirections) -> None:
        """Store label-fitted directions (same names) beside these for `label_scores`."""
        if fitted.names != self.names:
            raise UserError("label-fitted directions must name the same attributes")
        self.extra.update({LABEL_DIRECTIONS: fitted.directions, "label_score_mean": fitted.score_mean,
                           "label_score_std": fitted.score_std, "label_method": np.array(fitted.method)})

    def direction(self, name: str, hold: Iterable[str] = ()) -> np.ndarray:
        """The unit direction of `name`, made orthogonal to the directions of the `hold` attributes."""
        index = self.index(name)
        held = sorted({self.index(h) for h in hold} - {index})
        return conditional_direction(self.directions[index], self.directions[held])

    def edit(self, z: np.ndarray, name: str, amount: float | np.ndarray, hold: Iterable[str] = ()) -> np.ndarray:
        """z moved by `amount` score standard deviations along `name` (holding `hold` fixed).

        `amount` may be an array: the result then gains a leading axis, one latent per amount.
        """
        step = self.direction(name, hold) * self.score_std[self.index(name)]
        amount = np.asarray(amount, np.float32)
        z = np.asarray(z, np.float32)
        return z + amount.reshape(amount.shape + (1,) * z.ndim) * step

    @property
    def edit_effect(self) -> np.ndarray | None:
        """Each direction's measured effect (A,) as stored by `evaluate --edits --save-effects`; None when the file
        holds none (or not one finite number per direction)."""
        effect = self.extra.get(EDIT_EFFECT)
        if effect is None:
            return None
        effect = np.asarray(effect, np.float64).reshape(-1)
        return effect if len(effect) == len(self.names) and np.isfinite(effect).all() else None

    def set_edit_effect(self, effect: Sequence[float], faces: int) -> None:
        """Store each direction's measured effect (in name order) and how many faces it was measured on."""
        if len(effect) != len(self.names):
            raise UserError(f"{len(effect)} effects for {len(self.names)} directions")
        self.extra[EDIT_EFFECT] = np.asarray(effect, np.float32)
        self.extra[f"{EDIT_EFFECT}_faces"] = int(faces)

    def save(self, path: str | Path) -> Path:
        """Write the .npz atomically."""
        arrays = {
            "names": np.array(self.names), "directions": self.directions.astype(np.float32),
            "score_mean": self.score_mean.astype(np.float32), "score_std": self.score_std.astype(np.float32),
            "method": np.array(self.method), "weights_sha": np.array(self.weights_sha),
        }
        if self.val_auc is not None:
            arrays["val_auc"] = np.asarray(self.val_auc, np.float32)
        arrays.update({k: np.asarray(v) for k, v in self.extra.items()})
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_ATTRIBUTES, weights_sha: str | None = None,
             latent_dim: int | None = None) -> AttributeDirections:
        """Read a file written by `save`; UserError (saying how to rebuild it) when missing, malformed, of another
        latent size (`latent_dim` given) or made for other weights (`weights_sha` given)."""
        path = Path(path)
        arrays = read_npz(path, "an attribute-directions file", REBUILD_HINT)
        try:
            core = ("names", "directions", "score_mean", "score_std", "method", "weights_sha")
            loaded = cls(
                names=[str(n) for n in arrays["names"]], directions=arrays["directions"].astype(np.float32),
                score_mean=arrays["score_mean"].astype(np.float32), score_std=arrays["score_std"].astype(np.float32),
                method=str(arrays["method"]), weights_sha=str(arrays["weights_sha"]),
                val_auc=arrays.get("val_auc"),
                extra={k: v for k, v in arrays.items() if k not in core and k != "val_auc"},
            )
        except (ValueError, KeyError):
            raise UserError(f"{shown(path)} is not an attribute-directions file: {REBUILD_HINT}") from None
        if loaded.directions.ndim != 2 or (latent_dim is not None and loaded.latent_dim != latent_dim):
            raise UserError(f"{shown(path)} holds {loaded.directions.shape[-1]}-dimensional directions but the model's "
                            f"latent size is {latent_dim}; {REBUILD_HINT}")
        if weights_sha and loaded.weights_sha and loaded.weights_sha != weights_sha:
            raise UserError(f"{shown(path)} was computed for other weights ({loaded.weights_sha}, these are "
                            f"{weights_sha}); {REBUILD_HINT}")
        return loaded

    def move_to_score(self, z: np.ndarray, index: int, target: float, held: Iterable[int] = ()) -> np.ndarray:
        """`z` moved so that its standardised score on attribute `index` equals `target`.

        Without held attributes the move is along the unit direction d: z += (target_raw - z.d) d. With held
        attributes it is along d_c, d made orthogonal to their directions, scaled by 1 / (d_c . d) so the score
        still lands on the target while every held score stays unchanged. UserError when d lies in their span.
        """
        d = self.directions[index].astype(np.float64)
        z64 = np.asarray(z, np.float64)
        target_raw = float(self.score_mean[index]) + float(target) * float(self.score_std[index])
        others = [i for i in held if i != index]
        step = conditional_direction(d, self.directions[others]).astype(np.float64) if others else d
        gain = float(step @ d)
        return (z64 + (target_raw - float(z64 @ d)) / gain * step).astype(np.float32)


def open_attributes(path: str | Path, latent_dim: int, weights_sha: str | None = None
                    ) -> tuple[AttributeDirections | None, str]:
    """(directions, "") from an attributes.npz made for this model, else (None, a note saying why and how to
    rebuild it), for callers that carry on without attributes (the window)."""
    try:
        return AttributeDirections.load(path, weights_sha, latent_dim), ""
    except UserError as exc:
        return None, f"Attributes off: {exc}."


def fit_directions(z: np.ndarray, labels: np.ndarray, names: Sequence[str], train: np.ndarray, val: np.ndarray,
                   method: str = "auto", weights_sha: str = "", l2: float = L2) -> tuple[AttributeDirections, dict]:
    """Fit both methods on `train` rows, measure validation AUC, keep `method` (or the better one for 'auto').

    Returns (directions, report) where report holds each method's per-attribute validation AUC.
    """
    if method not in ("auto", *METHODS):
        raise UserError(f"unknown method {method!r}: use auto, {', '.join(METHODS)}")
    z = np.asarray(z, np.float32)
    labels = np.asarray(labels, np.int8)
    if labels.ndim != 2 or labels.shape[0] != len(z) or labels.shape[1] != len(names):
        raise UserError(f"labels of shape {labels.shape} do not match {len(z)} latents and {len(names)} names")
    if not train.any() or not val.any():
        raise UserError("attribute directions need labelled latents in both the training and validation split")
    candidates = {
        "mean_diff": (mean_difference_directions(z[train], labels[train]), {}),
        "logistic": logistic_directions(z[train], labels[train], l2=l2),
    }
    aucs = {m: auc_per_attribute(z[val] @ d.T, labels[val]) for m, (d, _) in candidates.items()}
    means = {m: mean_auc(a) for m, a in aucs.items()}
    chosen = max(METHODS, key=lambda m: -1.0 if np.isnan(means[m]) else means[m]) if method == "auto" else method
    directions = candidates[chosen][0]
    known = (labels != 0).any(axis=1)
    scores = z[known] @ directions.T
    result = AttributeDirections(
        names=list(names), directions=directions, score_mean=scores.mean(0), score_std=scores.std(0) + 1e-6,
        method=chosen, weights_sha=weights_sha, val_auc=aucs[chosen],
        extra={f"val_auc_{m}": aucs[m].astype(np.float32) for m in METHODS}
        | {"n_train": int(train.sum()), "n_val": int(val.sum()), "l2": l2},
    )
    report = {"method": chosen, "n_train": int(train.sum()), "n_val": int(val.sum()),
              "auc": {m: {n: None if np.isnan(v) else round(float(v), 4) for n, v in zip(names, a)}
                      for m, a in aucs.items()},
              "mean_auc": {m: None if np.isnan(v) else round(v, 4) for m, v in means.items()},
              "logistic_fit": candidates["logistic"][1]}
    return result, report


def fit_from_latents(latents: dict, method: str = "auto",
                     split_root: str | None = None) -> tuple[AttributeDirections, dict]:
    """fit_directions on the arrays of a latents.npz (needs its `attributes` labels)."""
    if "attributes" not in latents:
        raise UserError("the latents file holds no attribute labels: run `vae.py index --data DIR --attributes "
                        "list_attr_celeba.txt`")
    names = [str(n) for n in latents["names"]]
    root = split_root or (str(latents["data_root"]) if "data_root" in latents else None)
    train, val, how = split_mask(names, root)
    labels = latents["attributes"]
    labelled = (labels != 0).any(axis=1)
    directions, report = fit_directions(
        latents["z_mean"].astype(np.float32), labels, [str(n) for n in latents["attribute_names"]],
        train & labelled, val & labelled, method, str(latents.get("weights_sha", "")),
    )
    directions.extra["split"] = how
    report["split"] = how
    return directions, report


def read_celeba_attributes(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """CelebA's list_attr_celeba.txt -> (attribute names, {file stem: int8 labels of +1 / -1})."""
    if not path.is_file():
        raise UserError(f"attribute file {path} not found (CelebA's list_attr_celeba.txt)")
    lines = path.read_text().splitlines()
    try:
        names = lines[1].split()
        labels = {}
        for line in lines[2:]:
            parts = line.split()
            if len(parts) == len(names) + 1:
                labels[Path(parts[0]).stem] = np.array(parts[1:], dtype=np.int8)
    except (IndexError, ValueError):
        raise UserError(f"{path} is not in CelebA's list_attr_celeba.txt format") from None
    if not labels:
        raise UserError(f"{path} holds no attribute rows in CelebA's format")
    return names, labels
