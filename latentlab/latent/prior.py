"""The distribution Randomize and `vae.py sample` draw latents from: N(0, I), or a full-covariance Gaussian
fitted to the dataset latents (z_mean of the indexed images), which decodes to whole faces far more often.

Stored in latents.npz beside the latents it was fitted to (`PRIOR_KEYS`); no Qt, no TensorFlow here.
"""

from __future__ import annotations

import numpy as np

PRIORS = ("fitted", "normal")
PRIOR_KEYS = ("prior_mean", "prior_cholesky")
COVARIANCE_CHUNK = 16384
JITTER = 1e-9  # added to the covariance's diagonal, relative to its mean variance, so that degenerate ones factor


class GaussianPrior:
    """N(mean, L Lᵀ) over latents of size D: `mean` (D,), `cholesky` L (D, D) lower-triangular."""

    def __init__(self, mean: np.ndarray, cholesky: np.ndarray):
        self.mean = np.asarray(mean, np.float64)
        self.cholesky = np.asarray(cholesky, np.float64)

    @property
    def latent_dim(self) -> int:
        return len(self.mean)

    @property
    def covariance(self) -> np.ndarray:
        """L Lᵀ (D, D)."""
        return self.cholesky @ self.cholesky.T

    def draw(self, n: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
        """n latents (n, D) float32: mean + temperature · L ε with ε ~ N(0, I); temperature 1 is the distribution
        itself, 0 its mean, and each draw is scaled around the mean."""
        noise = rng.standard_normal((n, self.latent_dim))
        return (self.mean + temperature * noise @ self.cholesky.T).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays latents.npz stores it as (`PRIOR_KEYS`, float32)."""
        return {"prior_mean": self.mean.astype(np.float32), "prior_cholesky": self.cholesky.astype(np.float32)}

    @classmethod
    def from_arrays(cls, arrays) -> GaussianPrior:
        """The prior stored under `PRIOR_KEYS` (as `arrays` writes it)."""
        return cls(arrays["prior_mean"], arrays["prior_cholesky"])


def standard_normal(latent_dim: int) -> GaussianPrior:
    """N(0, I): the prior the VAE was trained towards."""
    return GaussianPrior(np.zeros(latent_dim), np.eye(latent_dim))


def mean_and_covariance(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D) with N - 1 in the denominator) of latents (N, D), accumulated in float64
    chunks."""
    n, d = z.shape
    mean = z.mean(axis=0, dtype=np.float64)
    covariance = np.zeros((d, d), np.float64)
    for start in range(0, n, COVARIANCE_CHUNK):
        centred = z[start : start + COVARIANCE_CHUNK].astype(np.float64) - mean
        covariance += centred.T @ centred
    return mean, covariance / max(n - 1, 1)


def fit_gaussian(z: np.ndarray) -> GaussianPrior:
    """The full-covariance Gaussian of latents (N, D): their mean and the Cholesky factor of their covariance
    (plus a tiny jitter on the diagonal, so that degenerate latents still factor)."""
    mean, covariance = mean_and_covariance(np.asarray(z))
    jitter = max(JITTER * float(np.trace(covariance)) / len(mean), 1e-12)
    return GaussianPrior(mean, np.linalg.cholesky(covariance + jitter * np.eye(len(mean))))
