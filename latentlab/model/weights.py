"""The VAE's weight files and weight transfer: the weights users load (no optimizer, no training-only state),
the resumable checkpoint, loading with one-line errors, and moving trained weights into another architecture."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from latentlab.errors import UserError
from latentlab.files import atomic_path
from latentlab.model.config import ModelConfig, load_model_json, require_weights
from latentlab.model.vae import VAE, build_vae
from latentlab.paths import model_json_path


def _folded(layer: keras.layers.Layer, batch_norm: keras.layers.Layer | None) -> list[np.ndarray]:
    """A convolution's [kernel, bias] with the BatchNormalization after it (inference statistics) folded in."""
    weights = layer.get_weights()
    if batch_norm is None:
        return weights
    kernel = weights[0]
    gamma, beta, mean, variance = batch_norm.get_weights()
    scale = gamma / np.sqrt(variance + batch_norm.epsilon)
    bias = weights[1] if len(weights) > 1 else np.zeros_like(mean)
    if isinstance(layer, keras.layers.Conv2DTranspose):  # kernel (kh, kw, out, in)
        kernel = kernel * scale[:, None]
    else:  # kernel (kh, kw, in, out)
        kernel = kernel * scale
    return [kernel, beta + (bias - mean) * scale]


def transfer_weights(source: VAE, target: VAE) -> list[str]:
    """Copy every weighted layer of `source` into the same-named layer of `target` where the shapes agree
    (BatchNormalization folded when `target` has none); returns the target layers left as initialised."""
    left = []
    for target_model, source_model in ((target.encoder, source.encoder), (target.decoder, source.decoder)):
        source_layers = {layer.name: layer for layer in source_model.layers}
        for layer in target_model.layers:
            if not layer.weights:
                continue
            source_layer = source_layers.get(layer.name)
            batch_norm = source_layers.get(f"{layer.name}_bn") if not target.config.batch_norm else None
            weights = _folded(source_layer, batch_norm) if source_layer is not None else None
            if weights is not None and [w.shape for w in weights] == [tuple(v.shape) for v in layer.weights]:
                layer.set_weights(weights)
            else:
                left.append(layer.name)
    target.train_steps.assign(source.train_steps)
    return left


def save_weights_atomic(vae: VAE, path) -> None:
    """Write the model's weights (no optimizer state) to `path` via a temp file + rename.

    A crash or a full disk during the write leaves any previous file at `path` intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    inference_copy = build_vae(vae.config)
    inference_copy.encoder.set_weights(vae.encoder.get_weights())
    inference_copy.decoder.set_weights(vae.decoder.get_weights())
    inference_copy.train_steps.assign(vae.train_steps)
    _save_atomic(inference_copy, path)


def save_checkpoint_atomic(vae: VAE, path) -> None:
    """Write weights and optimizer state (for --resume) via a temp file + rename."""
    _save_atomic(vae, Path(path))


def _save_atomic(model: keras.Model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save_weights(tmp)


def load_weights_checked(model: keras.Model, path) -> None:
    """model.load_weights, turning any mismatch or unreadable file into one UserError line."""
    path = require_weights(path)
    try:
        model.load_weights(path)
    except Exception as exc:  # Keras raises ValueError, OSError, KeyError, ... depending on the damage
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(
            f"weights file {path} does not match the model configuration or is damaged ({first_line[:160]})"
        ) from None


def load_vae(weights_path, config: ModelConfig | None = None) -> tuple[VAE, dict]:
    """Build the VAE described by the weights' model.json (or `config`) and load the weights.

    Returns (vae, training summary).
    """
    summary: dict = {}
    if config is None:
        config, summary = load_model_json(model_json_path(weights_path))
    vae = build_vae(config)
    load_weights_checked(vae, weights_path)
    return vae, summary
