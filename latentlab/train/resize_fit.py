"""A resize decoder started from a trained transposed one: each bilinear-upsampling + 3x3 convolution layer set to the
least-squares fit of the stride-2 transposed convolution it replaces.

A transposed convolution gives each of the four pixels of a 2x2 output block its own kernel; a resize layer gives them
one, so it can only approximate it, and the part it cannot draw is the phase-dependent one: the 2-, 4- and 8-pixel
patterns. The fit is a ridge regression per layer, each on the teacher's own input to that layer: on the teacher's
activations for latents drawn from N(0, I), the 3x3 kernel and bias that map the bilinearly upsampled input closest
to the teacher layer's output before its activation. The last transposed convolution writes RGB at full size; the
resize decoder has one more upsampling layer there, which starts as the identity, and its RGB convolution is fitted
to the teacher's logits. Fitting on N(0, I) draws gave the same start as fitting on the latents of 1,500 training
faces (23.1 dB from the shipped decoder's faces for validation latents, either way), so no images are needed.
"""

from __future__ import annotations

import keras
import numpy as np

from latentlab.model.vae import transfer_weights

FIT_LATENTS = 256  # N(0, I) draws whose activations the fit matches
CHECK_LATENTS = 64  # further draws on which the fitted decoder's PSNR against the teacher is reported
FIT_ROWS = 200_000  # output pixels sampled per layer for its regression
RIDGE = 1e-3  # Tikhonov term, relative to the mean diagonal of the normal equations
LOGIT_CLIP = 1e-3  # teacher pixels are clipped to [LOGIT_CLIP, 1 - LOGIT_CLIP] before their logit is taken
CHUNK = 16  # latents per forward pass


def can_fit(source_config, target_config) -> bool:
    """Whether a `target_config` decoder can start as the fit of a `source_config` one."""
    return (source_config.decoder_head == "transpose" and target_config.decoder_head == "resize"
            and not source_config.batch_norm and not target_config.batch_norm
            and source_config.widths == target_config.widths and source_config.latent_dim == target_config.latent_dim
            and source_config.image_size == target_config.image_size
            and source_config.decoder_blocks == target_config.decoder_blocks)


def start_student(source, target) -> tuple[list[str], str | None]:
    """Copy every layer `source` and `target` (VAEs) share (`model.transfer_weights`), then, where `can_fit`, fit the
    resize decoder's upsampling layers to the transposed ones. Returns (the layers still as initialised, a line saying
    what was fitted, or None)."""
    left = transfer_weights(source, target)
    if not can_fit(source.config, target.config):
        return left, None
    fitted, psnr = fit_resize_decoder(source.decoder, target.decoder)
    return ([name for name in left if name not in fitted],
            f"the resize decoder's {', '.join(fitted)} start as the least-squares fit of the transposed convolutions "
            f"({psnr:.1f} dB from their decoder's output on N(0, I) draws)")


def fit_resize_decoder(source: keras.Model, target: keras.Model, seed: int = 0) -> tuple[list[str], float]:
    """Fit every upsampling layer and the RGB convolution of the resize-head decoder `target` to the transposed-head
    decoder `source` (both built from configs for which `can_fit` holds; every other layer of `target` already holds
    the source's weights). Returns (the layers fitted, PSNR in dB of `target` against `source` on fresh draws)."""
    rng = np.random.default_rng(seed)
    latent_dim = source.input.shape[-1]
    latents = rng.standard_normal((FIT_LATENTS, latent_dim)).astype("float32")
    transposed = [layer.name for layer in source.layers  # in the decoder's order: up0, up1, ...
                  if isinstance(layer, keras.layers.Conv2DTranspose) and layer.name.startswith("up")]
    fitted = []
    for name in transposed:
        source_layer = source.get_layer(name)
        probe = keras.Model(source.input, [source_layer.input, source_layer.output])
        inputs, outputs = _predict(probe, latents)
        _fit_layer(target.get_layer(name), target.get_layer(f"{name}_resize"), inputs, outputs, rng)
        fitted.append(name)
    last = f"up{len(transposed)}"
    _set_identity(target.get_layer(last))
    source_image = source.get_layer("image")
    probe = keras.Model(source.input, [source_image.input, source.output])
    features, images = _predict(probe, latents)
    clipped = np.clip(images, LOGIT_CLIP, 1 - LOGIT_CLIP)
    resize, conv, activation = (target.get_layer(name) for name in (f"{last}_resize", last, f"{last}_act"))
    _fit_layer(target.get_layer("image"), lambda x: activation(conv(resize(x))), features,
               np.log(clipped / (1 - clipped)), rng)
    fitted += [last, "image"]
    check = rng.standard_normal((CHECK_LATENTS, latent_dim)).astype("float32")
    error = np.mean((_predict(target, check) - _predict(source, check)) ** 2)
    return fitted, float(10 * np.log10(1 / max(error, 1e-12)))


def _predict(model: keras.Model, latents: np.ndarray):
    """model(latents) in chunks, as numpy (one array or a list, as the model returns)."""
    parts = [model(latents[start : start + CHUNK], training=False) for start in range(0, len(latents), CHUNK)]
    if isinstance(parts[0], (list, tuple)):
        return [np.concatenate([keras.ops.convert_to_numpy(p[i]) for p in parts]) for i in range(len(parts[0]))]
    return np.concatenate([keras.ops.convert_to_numpy(p) for p in parts])


def _fit_layer(conv: keras.layers.Conv2D, upsample, inputs: np.ndarray, targets: np.ndarray,
               rng: np.random.Generator) -> None:
    """Set the 3x3 `conv` (with bias) to the ridge least-squares map from 3x3 patches of upsample(inputs) to targets:
    inputs (N, H, W, C) -> targets (N, 2H, 2W, F)."""
    rows_per_image = targets.shape[1] * targets.shape[2]
    keep = min(1.0, FIT_ROWS / (rows_per_image * len(inputs)))
    gram, cross = 0.0, 0.0
    for start in range(0, len(inputs), CHUNK):
        upsampled = keras.ops.convert_to_numpy(upsample(inputs[start : start + CHUNK]))
        patches = _patches_with_bias(upsampled)
        wanted = targets[start : start + CHUNK].reshape(-1, targets.shape[-1])
        chosen = rng.random(len(patches)) < keep
        patches, wanted = patches[chosen], wanted[chosen]
        gram = gram + (patches.T @ patches).astype(np.float64)
        cross = cross + (patches.T @ wanted).astype(np.float64)
    gram += RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
    solution = np.linalg.solve(gram, cross).astype("float32")
    kernel_shape = tuple(conv.kernel.shape)
    conv.set_weights([solution[:-1].reshape(kernel_shape), solution[-1]])


def _patches_with_bias(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N * H * W, 9 * C + 1): each pixel's zero-padded 3x3 neighbourhood in a Conv2D kernel's
    (row, column, channel) order, then a 1 for the bias."""
    n, height, width, channels = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
    shifted = [padded[:, dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)]
    patches = np.concatenate(shifted + [np.ones((n, height, width, 1), images.dtype)], axis=-1)
    return patches.reshape(n * height * width, 9 * channels + 1)


def _set_identity(conv: keras.layers.Conv2D) -> None:
    """A 3x3 convolution with as many outputs as inputs that passes its input through (centre tap 1, bias 0)."""
    kernel = np.zeros(tuple(conv.kernel.shape), "float32")
    kernel[1, 1] = np.eye(kernel.shape[2], kernel.shape[3])
    conv.set_weights([kernel, np.zeros(kernel.shape[3], "float32")])
