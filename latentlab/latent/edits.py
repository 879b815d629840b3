"""A slider's edit: the ONE code path the Attributes panel, `vae.py manipulate` and `vae.py evaluate --edits` share.

An attribute slider stands for a target score, in slider units of -SLIDER_END .. +SLIDER_END. The slider's end
stands for the attribute's *range* (`slider_range`, in score standard deviations): SLIDER_END for most, more for the
attributes the decoder draws only far out along their direction (`vae.py evaluate --edits --fit-ranges` fits them on
train-partition faces and stores them in attributes.npz). Moving the slider moves the latent so that its standardised
score equals `target * range / SLIDER_END`, along the direction (or, with holds, along its part orthogonal to the held
directions, scaled so the score still lands on the target). Vectorised over faces: z (N, D) or (D,). No Qt here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from latentlab.errors import UserError
from latentlab.latent.directions import AttributeDirections, conditional_direction

SLIDER_END = 3.0  # the slider's ends, in slider units (score sd where the range is the default)
SLIDER_RANGE = "slider_range"  # (A,) in attributes.npz: the score (sd) each slider's end stands for
MAX_RANGE = 6.0  # a fitted range never goes further: beyond it the decoder paints caricatures (dark blobs)


def slider_ranges(directions: AttributeDirections | None) -> np.ndarray:
    """The score (sd) each slider's end stands for (A,): the stored `slider_range`, else SLIDER_END everywhere."""
    if directions is None:
        return np.zeros(0)
    stored = directions.extra.get(SLIDER_RANGE)
    if stored is not None:
        stored = np.asarray(stored, np.float64).reshape(-1)
        if len(stored) == len(directions.names) and np.isfinite(stored).all() and (stored > 0).all():
            return stored
    return np.full(len(directions.names), SLIDER_END)


def set_slider_ranges(directions: AttributeDirections, ranges) -> None:
    """Store each slider's range (score sd at its end, in name order), within SLIDER_END .. MAX_RANGE."""
    ranges = np.asarray(ranges, np.float64).reshape(-1)
    if len(ranges) != len(directions.names):
        raise UserError(f"{len(ranges)} ranges for {len(directions.names)} directions")
    directions.extra[SLIDER_RANGE] = np.clip(ranges, SLIDER_END, MAX_RANGE).astype(np.float32)


def move_to_scores(directions: AttributeDirections, z: np.ndarray, index: int, score: float | np.ndarray,
                   held: Iterable[int] = ()) -> np.ndarray:
    """z (N, D) or (D,) moved so that its standardised score on attribute `index` equals `score` (a number, or one
    per face), leaving the held attributes' scores unchanged. UserError when the direction lies in their span."""
    d = directions.directions[index].astype(np.float64)
    z64 = np.asarray(z, np.float64)
    target_raw = float(directions.score_mean[index]) + np.asarray(score, np.float64) * float(
        directions.score_std[index])
    others = sorted({int(i) for i in held} - {index})
    step = conditional_direction(d, directions.directions[others]).astype(np.float64) if others else d
    amount = (target_raw - z64 @ d) / float(step @ d)
    return (z64 + np.multiply.outer(amount, step)).astype(np.float32)


def slider_edit(directions: AttributeDirections, z: np.ndarray, index: int, position: float,
                held: Iterable[int] = ()) -> np.ndarray:
    """The face a slider at `position` (slider units, -SLIDER_END .. +SLIDER_END) makes of z (N, D) or (D,)."""
    score = float(position) * slider_ranges(directions)[index] / SLIDER_END
    return move_to_scores(directions, z, index, score, held)


def slider_ends(directions: AttributeDirections, z: np.ndarray, index: int,
                held: Iterable[int] = ()) -> np.ndarray:
    """(2, N, D): the faces of z (N, D) at the slider's - and + end."""
    return np.stack([slider_edit(directions, z, index, -SLIDER_END, held),
                     slider_edit(directions, z, index, SLIDER_END, held)])


def held_rows(directions: AttributeDirections, hold: Iterable[str]) -> list[int]:
    """The rows of the attribute names in `hold` (UserError naming the valid ones for a misspelt name)."""
    return [directions.index(name) for name in hold]
