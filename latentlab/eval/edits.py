"""Attribute sliders measured where the user drags them: the judge's readings as calibrated decisions at the
slider's two ends, on the faces where the attribute occurs.

- **Calibration** (`fit_thresholds`): each attribute is read as a decision at a threshold fitted on real validation
  photos: the higher of the threshold that best separates the photos with and without it (Youden's J) and the 25th
  percentile of the judge's probability on the photos that have it ("reads like a real photo of it"). A rare
  attribute (Bald, Mustache) gets a low threshold: the judge ranks it well but gives it low probabilities. The
  thresholds travel with the judge, in judge.json (`thresholds`).
- **The measure** (`measure_edits`): every face is moved to the slider's - and + end exactly as the panel makes them
  (`latentlab.latent.edits.slider_ends`), decoded and read. `effect` is the share of faces read as having the
  attribute at the + end minus the share at the - end; `leakage` the share of faces whose reading of Male, Young,
  Pale_Skin, Eyeglasses or Smiling (the edited one left out) flips between the ends (from below the separating
  threshold to reading like a photo of it, or back: `Calibration.flipped`); `top_flips` the three other
  attributes that flip on the most faces. Each attribute is measured on the faces where it occurs (POPULATION: men
  for Bald, Mustache, ...; women for Heavy_Makeup, Wearing_Lipstick; everyone else), by the photos' Male label.
No Qt here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentlab.errors import UserError
from latentlab.eval.judge import IDENTITY_ATTRIBUTES, Judge
from latentlab.files import atomic_write_text
from latentlab.latent.directions import AttributeDirections, roc_auc
from latentlab.latent.edits import SLIDER_END, slider_ends
from latentlab.paths import model_json_path, shown

THRESHOLDS = "thresholds"  # judge.json's key
POSITIVE_PERCENTILE = 25.0
MEN_ONLY = ("Bald", "Mustache", "Goatee", "Sideburns", "5_o_Clock_Shadow")
WOMEN_ONLY = ("Heavy_Makeup", "Wearing_Lipstick")
NAMED_EDITS = ("Smiling", "Eyeglasses", "Male", "Young", "Blond_Hair", "Bald", "Mustache", "Wearing_Hat",
               "Pale_Skin", "Heavy_Makeup")
CALIBRATED_EFFECT = "calibrated_effect"  # (A,) in attributes.npz, stored by `evaluate --edits --save-effects`
CALIBRATED_LEAKAGE = "calibrated_leakage"  # (A,)
WEAK_EFFECT = 0.2  # a slider that turns the reading on fewer than this share of faces hardly shows
WORKS = (0.6, 0.10)  # effect at least, leakage at most: the "works"
DECODE_BATCH = 256


def population(name: str) -> str:
    """'men', 'women' or 'everyone': the faces an attribute is measured on."""
    return "men" if name in MEN_ONLY else "women" if name in WOMEN_ONLY else "everyone"


def population_mask(name: str, male: np.ndarray) -> np.ndarray:
    """Which faces (male (N,) bool, from the photos' labels) an attribute is measured on."""
    male = np.asarray(male, bool)
    kind = population(name)
    return male if kind == "men" else ~male if kind == "women" else np.ones(len(male), bool)


def separating_threshold(scores: np.ndarray, positive: np.ndarray) -> float:
    """The threshold t maximising Youden's J (true-positive rate - false-positive rate) of `scores >= t`."""
    scores = np.asarray(scores, np.float64)
    positive = np.asarray(positive, bool)
    candidates = np.unique(scores)
    order = np.sort(scores[positive])
    negatives = np.sort(scores[~positive])
    tpr = 1.0 - np.searchsorted(order, candidates, side="left") / len(order)
    fpr = 1.0 - np.searchsorted(negatives, candidates, side="left") / len(negatives)
    return float(candidates[int(np.argmax(tpr - fpr))])


def fit_thresholds(probabilities: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> dict:
    """Thresholds from the judge's probabilities (N, A) on real photos and their labels (N, A) of +1 / -1 / 0.

    Returns the judge.json `thresholds` section: names, `values` (the higher of `separating` and `positive_p25`;
    NaN where a class is absent), the photos' AUC and, at the threshold, the share of positives and negatives read.
    """
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels)
    if probabilities.shape != labels.shape or probabilities.shape[1] != len(names):
        raise UserError(f"{probabilities.shape} probabilities for {labels.shape} labels of {len(names)} attributes")
    section = {"names": list(names), "n_photos": int(len(labels)), "rule": (
        f"max(Youden threshold, {POSITIVE_PERCENTILE:g}th percentile of the positives' probability)")}
    keys = ("values", "separating", "positive_p25", "auc", "positives_read", "negatives_read", "positives")
    columns = {key: [] for key in keys}
    for a in range(len(names)):
        known = labels[:, a] != 0
        scores, positive = probabilities[known, a], labels[known, a] > 0
        if positive.all() or not positive.any():
            row = dict.fromkeys(keys, None) | {"positives": int(positive.sum())}
        else:
            separating = separating_threshold(scores, positive)
            p25 = float(np.percentile(scores[positive], POSITIVE_PERCENTILE))
            threshold = max(separating, p25)
            row = {"values": threshold, "separating": separating, "positive_p25": p25,
                   "auc": roc_auc(scores, positive.astype(int) * 2 - 1),
                   "positives_read": float((scores[positive] >= threshold).mean()),
                   "negatives_read": float((scores[~positive] >= threshold).mean()), "positives": int(positive.sum())}
        for key in keys:
            value = row[key]
            exact = value is None or isinstance(value, int) or key in ("values", "separating", "positive_p25")
            columns[key].append(value if exact else round(float(value), 5))  # thresholds exact: photos sit on them
    return section | columns


@dataclass(frozen=True)
class Calibration:
    """A judge's calibrated readings, one threshold pair per attribute in its name order (NaN where none was fitted):
    `reads` (the face reads like a real photo of it) and `boundary` (the threshold that best separates photos with
    and without it: below it, the face reads as not having it)."""

    reads: np.ndarray
    boundary: np.ndarray

    def has(self, probabilities: np.ndarray) -> np.ndarray:
        """Read as having the attribute: probabilities (..., A) >= `reads`."""
        with np.errstate(invalid="ignore"):
            return np.asarray(probabilities) >= self.reads

    def lacks(self, probabilities: np.ndarray) -> np.ndarray:
        """Read as not having it: probabilities (..., A) < `boundary`."""
        with np.errstate(invalid="ignore"):
            return np.asarray(probabilities) < self.boundary

    def flipped(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Where the reading turns over between two readings: from lacking to having it, or back. A face that only
        crosses the band between `boundary` and `reads` is no flip a user would see."""
        return (self.lacks(before) & self.has(after)) | (self.has(before) & self.lacks(after))

    def columns(self, columns: Sequence[int]) -> Calibration:
        return Calibration(self.reads[list(columns)], self.boundary[list(columns)])


def judge_calibration(judge: Judge | None) -> Calibration | None:
    """The judge's calibration from its judge.json (`thresholds`), or None when it holds none (or holds it for other
    names)."""
    section = judge.summary.get(THRESHOLDS) if judge is not None else None
    if not section or list(section.get("names", [])) != list(judge.names):
        return None

    def values(key):
        return np.array([np.nan if v is None else float(v) for v in section[key]], np.float64)

    return Calibration(values("values"), values("separating"))


def require_calibration(judge: Judge, judge_path: Path | str) -> Calibration:
    calibration = judge_calibration(judge)
    if calibration is None:
        raise UserError(f"the judge {shown(judge_path)} holds no calibrated thresholds: run `python vae.py evaluate "
                        "--edits --data CELEBA/img_align_celeba --calibrate` once (it reads the validation photos)")
    return calibration


def save_thresholds(judge_path: Path | str, section: dict) -> Path:
    """Write the `thresholds` section into the judge's judge.json (atomically; everything else kept)."""
    path = model_json_path(judge_path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path} is missing or not a judge configuration") from None
    payload.setdefault("training", {})[THRESHOLDS] = section
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def _judged(judge: Judge, codec, z: np.ndarray, columns: list[int]) -> np.ndarray:
    out = [judge.probabilities(codec.decode(z[start : start + DECODE_BATCH]))[:, columns]
           for start in range(0, len(z), DECODE_BATCH)]
    return np.concatenate(out) if out else np.zeros((0, len(columns)), np.float32)


def measure_edits(judge: Judge, codec, directions: AttributeDirections, z: np.ndarray, male: np.ndarray,
                  calibration: Calibration, names: Sequence[str] | None = None, hold: Sequence[str] = (),
                  progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """One row per attribute of `names` (default all): its slider's calibrated effect, leakage and top flips.

    z (N, D) are the faces, `male` (N,) their photos' Male labels (for the populations), `calibration` the judge's.
    The faces are moved as the panel moves them (`slider_ends`, holding `hold`).
    """
    missing = [name for name in directions.names if name not in judge.names]
    if missing:
        raise UserError(f"the judge has no output for {', '.join(missing[:5])}: train it on the directions' labels")
    names = list(directions.names if names is None else names)
    rows_of = [directions.index(name) for name in names]
    held = [directions.index(name) for name in hold]
    columns = [judge.names.index(name) for name in directions.names]
    limits = calibration.columns(columns)
    identity = [directions.names.index(n) for n in IDENTITY_ATTRIBUTES if n in directions.names]
    z = np.asarray(z, np.float32)
    rows = []
    for done, index in enumerate(rows_of, 1):
        name = directions.names[index]
        faces = z[population_mask(name, male)]
        row = {"attribute": name, "population": population(name), "faces": int(len(faces))}
        if index in held or not len(faces):
            rows.append(row | {"effect": None, "leakage": None, "top_flips": [], "flips": {}})
            continue
        ends = slider_ends(directions, faces, index, held)
        p = _judged(judge, codec, ends.reshape(-1, z.shape[1]), columns).reshape(2, len(faces), -1)
        decided = limits.has(p)
        flipped = limits.flipped(p[0], p[1])
        others = [i for i in identity if i != index]
        flip_share = flipped.mean(axis=0)
        order = [i for i in np.argsort(-flip_share, kind="stable") if i != index]
        row |= {
            "effect": round(float(decided[1, :, index].mean() - decided[0, :, index].mean()), 4),
            "read_minus": round(float(decided[0, :, index].mean()), 4),
            "read_plus": round(float(decided[1, :, index].mean()), 4),
            "leakage": round(float(flipped[:, others].any(axis=1).mean()), 4) if others else 0.0,
            "top_flips": [directions.names[i] for i in order[:3]],
            "flips": {directions.names[i]: round(float(flip_share[i]), 4) for i in order},
            "p_change": round(float((p[1, :, index] - p[0, :, index]).mean()), 4),
        }
        rows.append(row)
        if progress:
            progress(done, len(rows_of))
    return rows


def works(row: dict) -> bool:
    """The issue's bar: effect >= 0.6 and leakage <= 0.10."""
    return row.get("effect") is not None and row["effect"] >= WORKS[0] and row["leakage"] <= WORKS[1]


def is_weak(effect: float) -> bool:
    return effect < WEAK_EFFECT


def store_measure(directions: AttributeDirections, rows: list[dict], faces: int) -> None:
    """Keep each direction's calibrated effect and leakage (all names measured) in the directions, for the panel."""
    by_name = {row["attribute"]: row for row in rows}
    if set(by_name) != set(directions.names) or any(by_name[n]["effect"] is None for n in directions.names):
        raise UserError("--save-effects needs every attribute measured without holds")
    directions.extra[CALIBRATED_EFFECT] = np.array([by_name[n]["effect"] for n in directions.names], np.float32)
    directions.extra[CALIBRATED_LEAKAGE] = np.array([by_name[n]["leakage"] for n in directions.names], np.float32)
    directions.extra[f"{CALIBRATED_EFFECT}_faces"] = int(faces)
    directions.extra[f"{CALIBRATED_EFFECT}_end"] = float(SLIDER_END)


def stored_measure(directions: AttributeDirections | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(effect (A,), leakage (A,)) as `store_measure` kept them, or None when the file holds none."""
    if directions is None or CALIBRATED_EFFECT not in directions.extra or CALIBRATED_LEAKAGE not in directions.extra:
        return None
    effect = np.asarray(directions.extra[CALIBRATED_EFFECT], np.float64).reshape(-1)
    leakage = np.asarray(directions.extra[CALIBRATED_LEAKAGE], np.float64).reshape(-1)
    if len(effect) != len(directions.names) or len(leakage) != len(effect):
        return None
    return effect, leakage


RANGE_CANDIDATES = (3.0, 4.0, 5.0, 6.0)  # score sd at the slider's end, tried in order
READS_LIKE_A_PHOTO = 0.75  # a range is enough once this share of faces reads the attribute at the + end


def fit_slider_ranges(judge: Judge, codec, directions: AttributeDirections, z: np.ndarray, male: np.ndarray,
                      calibration: Calibration, names: Sequence[str] | None = None,
                      candidates: Sequence[float] = RANGE_CANDIDATES,
                      progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, dict]:
    """Each slider's range: the smallest candidate whose + end reads the attribute on READS_LIKE_A_PHOTO of the faces
    z (N, D) (train-partition faces, never the ones reported) with leakage at most WORKS[1]; when none does, the
    candidate with the largest effect among those within that leakage (the shortest one, SLIDER_END, always is).

    Returns (ranges (A,), {attribute: [(range, effect, read_plus, leakage), ...]}); attributes not in `names` keep
    their current range.
    """
    from dataclasses import replace

    from latentlab.latent.edits import SLIDER_RANGE, slider_ranges

    ranges = slider_ranges(directions).copy()
    names = list(directions.names if names is None else names)
    report = {}
    for done, name in enumerate(names, 1):
        index = directions.index(name)
        tried = []
        for candidate in candidates:
            trial = np.full(len(directions.names), SLIDER_END, np.float32)
            trial[index] = candidate
            probe = replace(directions, extra={**directions.extra, SLIDER_RANGE: trial})
            row = measure_edits(judge, codec, probe, z, male, calibration, names=[name])[0]
            tried.append((float(candidate), row["effect"], row["read_plus"], row["leakage"]))
            if row["read_plus"] >= READS_LIKE_A_PHOTO or row["leakage"] > WORKS[1]:
                break
        within = [t for t in tried if t[3] <= WORKS[1] or t[0] == candidates[0]]
        enough = [t for t in within if t[2] >= READS_LIKE_A_PHOTO]
        ranges[index] = enough[0][0] if enough else max(within, key=lambda t: (t[1], -t[0]))[0]
        report[name] = tried
        if progress:
            progress(done, len(names))
    return ranges, report
