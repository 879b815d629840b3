"""Attribute directions fitted on what the model draws: the judge reads the faces decoded from the dataset latents
(as InterFaceGAN fits its boundaries on generated samples), and each attribute's direction is the covariance of z
with the judge's logit for it, made orthogonal to the gradients of the identity attributes' logits (Male, Young,
Pale_Skin, Eyeglasses, Smiling; the edited one left out; gradients from ridge regressions of the logits on z), so
that to first order a move along it leaves the judge's reading of them where it was.

Labels fitted on photos pick whatever the latent correlates with in the dataset (Young with female faces, Bald with
male ones) and miss what the decoder cannot draw along them; fitted on decoded faces, a direction is the one along
which the judge sees its attribute change. No Qt here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentlab.errors import UserError
from latentlab.eval.judge import IDENTITY_ATTRIBUTES, Judge
from latentlab.latent.directions import AttributeDirections, auc_per_attribute, conditional_direction

RIDGE = 1e-2  # relative to the mean eigenvalue of the standardised latents' covariance (1)
LOGIT_CLIP = 1e-4
DECODE_BATCH = 256


def judge_logits(judge: Judge, codec, z: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The judge's logits (N, A) for `names` on the faces decoded from z (N, D), in batches."""
    columns = [judge.names.index(name) for name in names]
    out = []
    for start in range(0, len(z), DECODE_BATCH):
        p = judge.probabilities(codec.decode(z[start : start + DECODE_BATCH]))[:, columns].astype(np.float64)
        p = np.clip(p, LOGIT_CLIP, 1 - LOGIT_CLIP)
        out.append(np.log(p / (1 - p)))
    return np.concatenate(out)


def ridge_gradients(z: np.ndarray, targets: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """(A, D): for each column of targets (N, A), the gradient in z space of its ridge regression on standardised z
    (z (N, D)), which minimises the mean squared error + ridge * |w|^2 (scikit-learn's `Ridge`, alpha = N * ridge)."""
    from sklearn.linear_model import Ridge

    z = np.asarray(z, np.float64)
    mean, std = z.mean(0), z.std(0) + 1e-6
    fit = Ridge(alpha=ridge * len(z)).fit((z - mean) / std, np.asarray(targets, np.float64))
    return fit.coef_.reshape(-1, z.shape[1]) / std  # coef_ (A, D) on standardised z


def covariances(z: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(A, D): the covariance of z (N, D) with each column of targets (N, A)."""
    z = np.asarray(z, np.float64)
    return ((targets - targets.mean(0)).T @ (z - z.mean(0))) / len(z)


def decorrelated(directions: np.ndarray, gradients: np.ndarray, names: Sequence[str],
                 identity: Sequence[str] = IDENTITY_ATTRIBUTES) -> np.ndarray:
    """Unit directions (A, D): each of `directions` with its components along the identity attributes' `gradients`
    removed (the attribute's own left in)."""
    identity_rows = [names.index(n) for n in identity if n in names]
    rows = []
    for index, direction in enumerate(directions):
        others = [i for i in identity_rows if i != index]
        rows.append(conditional_direction(direction, gradients[others]))
    return np.stack(rows).astype(np.float32)


def fit_judged_directions(judge: Judge, codec, z: np.ndarray, train: np.ndarray, val: np.ndarray,
                          labels: np.ndarray, names: Sequence[str], weights_sha: str = "",
                          identity: Sequence[str] = IDENTITY_ATTRIBUTES) -> tuple[AttributeDirections, dict]:
    """Directions fitted on the decoded faces of z[train] as the judge reads them, decorrelated from `identity`.

    z (N, D) are the dataset latents; `labels` (N, A) of +1 / -1 / 0 only measure the directions' validation AUC (the
    projection's agreement with the photos' labels). Returns (directions, report).
    """
    missing = [name for name in names if name not in judge.names]
    if missing:
        raise UserError(f"the judge has no output for {', '.join(missing[:5])}: train it on these labels")
    if not train.any():
        raise UserError("judged directions need training latents")
    z = np.asarray(z, np.float32)
    logits = judge_logits(judge, codec, z[train], names)
    directions = decorrelated(covariances(z[train], logits), ridge_gradients(z[train], logits), list(names), identity)
    scores = z @ directions.T
    val_auc = auc_per_attribute(scores[val], labels[val])
    result = AttributeDirections(
        names=list(names), directions=directions, score_mean=scores.mean(0), score_std=scores.std(0) + 1e-6,
        method="judged", weights_sha=weights_sha, val_auc=val_auc,
        extra={"n_train": int(train.sum()), "n_val": int(val.sum()), "ridge": RIDGE,
               "decorrelated_from": np.array(list(identity))},
    )
    report = {"method": "judged", "n_train": int(train.sum()), "n_val": int(val.sum()),
              "identity_attributes": list(identity),
              "judge_logit_std": dict(zip(names, logits.std(0).round(3).tolist())),
              "auc": {name: None if np.isnan(v) else round(float(v), 4) for name, v in zip(names, val_auc)}}
    return result, report
