"""Codec: the trained model behind one small interface that every caller uses (GUI, CLI, benchmark).

encode / decode / reconstruct / sample (from a given prior), with the model's own preprocessing. The
encoder and decoder are compiled once (a tf.function with a fixed signature on TensorFlow, Keras' jitted
predict_on_batch elsewhere): never `model.predict` per call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import keras
import numpy as np

from latentlab.config import DEFAULT_WEIGHTS, ModelConfig, require_weights
from latentlab.data import preprocess
from latentlab.errors import UserError
from latentlab.imaging import to_float
from latentlab.model import VAE, load_vae
from latentlab.prior import GaussianPrior

MAX_BATCH = 64


def compiled_call(model: keras.Model, input_shape: tuple[int, ...]) -> Callable[[np.ndarray], list[np.ndarray]]:
    """model(x, training=False) compiled once; takes and returns NumPy arrays (outputs as a list)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        signature = [tf.TensorSpec((None, *input_shape), tf.float32)]
        function = tf.function(lambda x: model(x, training=False), input_signature=signature)

        def run(x):
            outputs = function(tf.constant(x))
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            return [o.numpy() for o in outputs]

        return run

    def run_predict(x):
        outputs = model.predict_on_batch(x)
        return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]

    return run_predict


class Codec:
    """A loaded VAE: images <-> latents. Images are (N, S, S, C) or (S, S, C), uint8 or float in [0, 1];
    latents are (N, D) or (D,) float32. Outputs keep the batch-ness of the input."""

    def __init__(self, vae: VAE, summary: dict | None = None, weights_path: str | Path | None = None):
        self.vae = vae
        self.summary = summary or {}
        self.weights_path = Path(weights_path) if weights_path else None
        self.config: ModelConfig = vae.config
        self._encode = compiled_call(vae.encoder, self.config.image_shape)
        self._decode = compiled_call(vae.decoder, (self.config.latent_dim,))

    @classmethod
    def load(cls, weights_path: str | Path = DEFAULT_WEIGHTS, config: ModelConfig | None = None) -> "Codec":
        """Load weights and their model.json; raises UserError with a one-line reason."""
        vae, summary = load_vae(require_weights(weights_path), config)
        return cls(vae, summary, weights_path)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def preprocess(self, rgb: np.ndarray, crop: str | None = None) -> np.ndarray:
        """A decoded RGB photo (H, W, 3) uint8 -> the model's input size, with its crop (uint8)."""
        return preprocess(rgb, self.config.image_size, crop or self.config.crop)

    def encode_distribution(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z_mean, z_log_var), each (N, D), for images already at the model's size."""
        batch = to_float(images)
        single = batch.ndim == 3
        batch = batch[None] if single else batch
        means, log_vars = [], []
        for start in range(0, len(batch), MAX_BATCH):
            z_mean, z_log_var = self._encode(batch[start : start + MAX_BATCH])
            means.append(z_mean)
            log_vars.append(z_log_var)
        z_mean, z_log_var = np.concatenate(means), np.concatenate(log_vars)
        return (z_mean[0], z_log_var[0]) if single else (z_mean, z_log_var)

    def encode(self, images: np.ndarray) -> np.ndarray:
        """z_mean of images already at the model's size: (N, D), or (D,) for one image."""
        return self.encode_distribution(images)[0]

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latents (N, D) or (D,) -> float32 images (N, S, S, C) or (S, S, C) in [0, 1]."""
        z = np.asarray(z, np.float32)
        single = z.ndim == 1
        batch = z[None] if single else z
        images = np.concatenate([self._decode(batch[s : s + MAX_BATCH])[0] for s in range(0, len(batch), MAX_BATCH)])
        return images[0] if single else images

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """decode(encode(images)): the model's version of each image (float32 in [0, 1])."""
        return self.decode(self.encode(images))

    def sample(self, prior: GaussianPrior, n: int, temperature: float = 1.0,
               seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """n draws from `prior` at `temperature` (`GaussianPrior.draw`): (latents (n, D), images (n, S, S, C))."""
        if prior.latent_dim != self.latent_dim:
            raise UserError(f"the prior is {prior.latent_dim}-dimensional, the model's latents {self.latent_dim}")
        z = prior.draw(n, temperature, np.random.default_rng(seed))
        return z, self.decode(z)
