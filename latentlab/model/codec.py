"""Codec: the trained model behind one small interface that every caller uses (GUI, CLI, benchmark).

encode / decode / reconstruct / sample (from a given prior), with the model's own preprocessing. The
encoder and decoder are compiled once (a tf.function with a fixed signature on TensorFlow, Keras' jitted
predict_on_batch elsewhere): never `model.predict` per call.

Encoding refines the encoder's guess: a few Adam steps move each z_mean downhill on the model's own loss for
that image, reconstruction + beta * |z|^2 / 2 (the KL's part that depends on the mean), through the decoder.
An encoder trained on 20,000 faces lands near the best latent but not on it (the amortization gap); the
decoder can draw the person more closely than the encoder's guess asks it to.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from latentlab.errors import UserError
from latentlab.images import preprocess
from latentlab.latent.prior import GaussianPrior
from latentlab.model.config import ModelConfig, require_weights
from latentlab.model.vae import VAE, reconstruction_errors
from latentlab.model.weights import load_vae
from latentlab.paths import DEFAULT_WEIGHTS
from latentlab.pictures import to_float

MAX_BATCH = 64
REFINE_RATE = 0.1  # Adam's step size for latent refinement, in latent units
ADAM_BETAS, ADAM_EPSILON = (0.9, 0.999), 1e-7


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


def refined_means(vae: VAE) -> Callable[[np.ndarray, np.ndarray, int], np.ndarray]:
    """(z_mean (N, D), images (N, S, S, C) float32, steps) -> z_mean after `steps` Adam steps on each image's
    reconstruction error + beta * |z|^2 / 2, compiled once. Each image's latent moves on its own (the loss is a
    sum over images and Adam's moments are per element). Needs the TensorFlow backend."""
    if keras.backend.backend() != "tensorflow":
        def unavailable(z_mean, images, steps):
            raise UserError("latent refinement needs the TensorFlow backend: set KERAS_BACKEND=tensorflow or "
                            "pass --refine-steps 0")
        return unavailable
    import tensorflow as tf

    config, decoder = vae.config, vae.decoder
    first, second = ADAM_BETAS
    signature = [tf.TensorSpec((None, config.latent_dim), tf.float32),
                 tf.TensorSpec((None, *config.image_shape), tf.float32), tf.TensorSpec((), tf.int32)]

    @tf.function(input_signature=signature)
    def refine(z, images, steps):
        moment, second_moment = tf.zeros_like(z), tf.zeros_like(z)
        for step in tf.range(1, steps + 1):
            with tf.GradientTape() as tape:
                tape.watch(z)
                errors = reconstruction_errors(images, decoder(z, training=False), config.loss)
                loss = tf.reduce_sum(errors) + 0.5 * config.beta * tf.reduce_sum(tf.square(z))
            gradient = tape.gradient(loss, z)
            moment = first * moment + (1 - first) * gradient
            second_moment = second * second_moment + (1 - second) * tf.square(gradient)
            t = tf.cast(step, tf.float32)
            z = z - REFINE_RATE * (moment / (1 - first**t)) / (tf.sqrt(second_moment / (1 - second**t)) + ADAM_EPSILON)
        return z

    return lambda z_mean, images, steps: refine(tf.constant(z_mean), tf.constant(images), tf.constant(steps)).numpy()


class Codec:
    """A loaded VAE: images <-> latents. Images are (N, S, S, C) or (S, S, C), uint8 or float in [0, 1];
    latents are (N, D) or (D,) float32. Outputs keep the batch-ness of the input. `refine_steps` overrides the
    model's `config.refine_steps`, how many refinement steps encoding takes (0: the encoder's mean as it is)."""

    def __init__(self, vae: VAE, summary: dict | None = None, weights_path: str | Path | None = None,
                 refine_steps: int | None = None):
        self.vae = vae
        self.summary = summary or {}
        self.weights_path = Path(weights_path) if weights_path else None
        self.config: ModelConfig = vae.config.replace(refine_steps=refine_steps)
        self._encode = compiled_call(vae.encoder, self.config.image_shape)
        self._decode = compiled_call(vae.decoder, (self.config.latent_dim,))
        self._refine = refined_means(vae)

    @classmethod
    def load(cls, weights_path: str | Path = DEFAULT_WEIGHTS, config: ModelConfig | None = None,
             refine_steps: int | None = None) -> Codec:
        """Load weights and their model.json; raises UserError with a one-line reason."""
        vae, summary = load_vae(require_weights(weights_path), config)
        return cls(vae, summary, weights_path, refine_steps)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def preprocess(self, rgb: np.ndarray, crop: str | None = None) -> np.ndarray:
        """A decoded RGB photo (H, W, 3) uint8 -> the model's input size, with its crop (uint8)."""
        return preprocess(rgb, self.config.image_size, crop or self.config.crop)

    def encode_distribution(self, images: np.ndarray, refine_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(z_mean, z_log_var), each (N, D), for images already at the model's size; z_mean refined with
        `refine_steps` steps (default `config.refine_steps`), z_log_var the encoder's."""
        steps = self.config.refine_steps if refine_steps is None else refine_steps
        batch = to_float(images)
        single = batch.ndim == 3
        batch = batch[None] if single else batch
        means, log_vars = [], []
        for start in range(0, len(batch), MAX_BATCH):
            chunk = batch[start : start + MAX_BATCH]
            z_mean, z_log_var = self._encode(chunk)
            if steps:
                z_mean = self._refine(z_mean, chunk, steps)
            means.append(z_mean)
            log_vars.append(z_log_var)
        z_mean, z_log_var = np.concatenate(means), np.concatenate(log_vars)
        return (z_mean[0], z_log_var[0]) if single else (z_mean, z_log_var)

    def encode(self, images: np.ndarray, refine_steps: int | None = None) -> np.ndarray:
        """z_mean of images already at the model's size: (N, D), or (D,) for one image."""
        return self.encode_distribution(images, refine_steps)[0]

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
