"""Pictures out: float/uint8 conversion, image grids, PNG writing, the loss-curve plot (no Qt here)."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from latentlab.files import atomic_path


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] -> uint8 (values clipped); uint8 passes through."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [0, 1]; float images pass through as float32."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    return images.astype(np.float32)


def make_grid(images: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, H, W, C) images -> one uint8 (rows*(H+pad)+pad, cols*(W+pad)+pad, C) picture on white."""
    images = to_uint8(images)
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = image
    return grid


def comparison_grid(originals: np.ndarray, reconstructions: np.ndarray, cols: int = 8) -> np.ndarray:
    """Rows of originals, each followed by the row of their reconstructions."""
    originals, reconstructions = to_uint8(originals), to_uint8(reconstructions)
    rows = []
    for start in range(0, len(originals), cols):
        rows.append(originals[start : start + cols])
        rows.append(reconstructions[start : start + cols])
    if len(rows[-1]) < cols and len(rows) > 2:
        return make_grid(np.concatenate(rows), cols)
    return make_grid(np.concatenate(rows), min(cols, len(originals)))


def save_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 (H, W, C) image as PNG via a temp file + rename; returns the path."""
    import imageio.v3 as iio

    path = Path(path)
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, to_uint8(image))
    return path


def save_loss_plot(csv_path: str | os.PathLike, png_path: str | os.PathLike) -> Path:
    """Plot the training CSV log (loss, reconstruction, KL; train and validation) per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key in zip(axes, ("loss", "reconstruction", "kl")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [float(r[prefix + key]) for r in rows if r.get(prefix + key)]
            if len(values) == len(epochs):
                ax.plot(epochs, values, style, label=("validation" if prefix else "train"))
        ax.set_title(key)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
