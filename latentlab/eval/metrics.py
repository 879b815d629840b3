"""Image quality numbers: per-image MSE and PSNR on the 0..1 scale."""

from __future__ import annotations

import numpy as np

from latentlab.pictures import to_float


def mse_per_image(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Mean squared error of each image pair, pixel values on the 0..1 scale: shape (N,)."""
    diff = to_float(originals) - to_float(reconstructions)
    return np.mean(np.square(diff), axis=tuple(range(1, diff.ndim)))


def psnr(mse: np.ndarray | float) -> np.ndarray | float:
    """Peak signal-to-noise ratio in dB for MSE on the 0..1 scale (capped at 100 dB for exact copies)."""
    return 10.0 * np.log10(1.0 / np.maximum(mse, 1e-10))
