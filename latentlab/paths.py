"""Where things are: the project root, the shipped files in data/, and the ONE rule for the files that belong to a
weights file (its model.json, and the latents, attribute directions and judge beside it). No TensorFlow, no Qt."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
RUNS_DIR = PROJECT_ROOT / "runs"
LATENTS_FILE = "latents.npz"
ATTRIBUTES_FILE = "attributes.npz"
JUDGE_FILE = "judge.weights.h5"
DEFAULT_WEIGHTS = DATA_DIR / "vae.weights.h5"
DEFAULT_LATENTS = DATA_DIR / LATENTS_FILE
DEFAULT_ATTRIBUTES = DATA_DIR / ATTRIBUTES_FILE
DEFAULT_JUDGE = DATA_DIR / JUDGE_FILE


def model_json_path(weights_path: str | os.PathLike) -> Path:
    """The JSON that describes a weights file: `X.weights.h5` -> `X.json` (vae -> model.json)."""
    weights_path = Path(weights_path)
    stem = weights_path.name.removesuffix(".weights.h5").removesuffix(".h5")
    name = "model.json" if stem == "vae" else f"{stem}.json"
    return weights_path.with_name(name)


def beside(path: str | os.PathLike, name: str, default: Path | None = None) -> Path | None:
    """`name` in the folder of `path` when that file exists, else `default`."""
    candidate = Path(path).parent / name
    return candidate if candidate.is_file() else default


def shown(path: str | os.PathLike) -> str:
    """`path` as a user reads it: relative to the project when inside it (no machine paths in messages)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class ModelFiles:
    """The files of one model: `weights`, its model.json, and the latents, attributes and judge in the weights'
    folder, each falling back to the shipped one in data/ (which is then checked against the weights by the reader,
    so a shipped file made for other weights is refused, not used)."""

    weights: Path

    @property
    def config(self) -> Path:
        return model_json_path(self.weights)

    @property
    def latents(self) -> Path:
        return beside(self.weights, LATENTS_FILE, DEFAULT_LATENTS)

    @property
    def attributes(self) -> Path:
        return beside(self.weights, ATTRIBUTES_FILE, DEFAULT_ATTRIBUTES)

    @property
    def judge(self) -> Path:
        return beside(self.weights, JUDGE_FILE, DEFAULT_JUDGE)
