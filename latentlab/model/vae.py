"""The convolutional VAE: separate encoder and decoder models, a Sampling layer, the VAE that trains them, and the
weight transfer between two architectures.

Backend-agnostic Keras 3 (TensorFlow here, JAX on a GPU machine): the VAE overrides only
`compute_loss`, so every backend's own train / test step applies.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from latentlab.errors import UserError
from latentlab.files import atomic_path
from latentlab.model.config import ModelConfig, load_model_json, require_weights
from latentlab.paths import model_json_path
from latentlab.train.distributed import across_workers, replicas_in_sync
from latentlab.train.terms.adversarial import ADVERSARIAL_TERMS, adversarial_losses, build_discriminator


class Sampling(layers.Layer):
    """Reparameterisation: (z_mean, z_log_var) of shape (N, D) -> z = mean + exp(log_var / 2) * eps."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def _strided_block(x, filters: int, kernel: int, name: str, batch_norm: bool, transpose: bool = False):
    """A stride-2 (transposed) convolution, optional BatchNormalization, LeakyReLU: halves or doubles H and W."""
    conv = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = conv(filters, kernel, strides=2, padding="same", use_bias=not batch_norm, name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.LeakyReLU(0.2, name=f"{name}_act")(x)


def _resize_block(x, filters: int, name: str, batch_norm: bool):
    """Bilinear 2x upsampling, then a 3x3 convolution, optional BatchNormalization, LeakyReLU: doubles H and W with
    every output pixel made the same way, so no 2-pixel pattern is built into the layer (a stride-2 transposed
    convolution gives alternate pixels different kernel taps)."""
    x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_resize")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.LeakyReLU(0.2, name=f"{name}_act")(x)


def _residual_blocks(x, count: int, max_side: int, name: str):
    """`count` blocks x + conv(act(conv(x))) of 3x3 convolutions at x's width where x is at most `max_side` pixels
    wide (else x unchanged). The second convolution starts at zero: a new block passes x through."""
    if x.shape[1] > max_side:
        return x
    width = x.shape[-1]
    for j in range(count):
        h = layers.Conv2D(width, 3, padding="same", name=f"{name}_res{j}a")(x)
        h = layers.LeakyReLU(0.2, name=f"{name}_res{j}a_act")(h)
        h = layers.Conv2D(width, 3, padding="same", kernel_initializer="zeros", name=f"{name}_res{j}b")(h)
        x = layers.Add(name=f"{name}_res{j}")([x, h])
    return x


def build_encoder(config: ModelConfig) -> keras.Model:
    """Images (N, S, S, C) in [0, 1] -> [z_mean (N, D), z_log_var (N, D)]."""
    images = keras.Input(config.image_shape, name="image")
    x = images
    for i, width in enumerate(config.widths):
        x = _strided_block(x, width, config.encoder_kernel, f"down{i}", config.batch_norm)
        x = _residual_blocks(x, config.encoder_blocks, config.image_size // 4, f"down{i}")
    x = layers.Conv2D(config.bottleneck_channels, 1, name="squeeze")(x)
    x = layers.LeakyReLU(0.2, name="squeeze_act")(x)
    x = layers.Flatten(name="flatten")(x)
    z_mean = layers.Dense(config.latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(config.latent_dim, name="z_log_var")(x)
    return keras.Model(images, [z_mean, z_log_var], name="encoder")


def build_decoder(config: ModelConfig) -> keras.Model:
    """Latents (N, D) -> images (N, S, S, C) in [0, 1]; mirrors the encoder."""
    side = config.image_size // 2 ** len(config.widths)
    z = keras.Input((config.latent_dim,), name="z")
    x = layers.Dense(side * side * config.bottleneck_channels, name="expand")(z)
    x = layers.LeakyReLU(0.2, name="expand_act")(x)
    x = layers.Reshape((side, side, config.bottleneck_channels), name="unflatten")(x)
    x = layers.Conv2D(config.widths[-1], 3, padding="same", name="unsqueeze")(x)
    x = layers.LeakyReLU(0.2, name="unsqueeze_act")(x)
    x = _residual_blocks(x, config.decoder_blocks, config.image_size // 8, "unsqueeze")
    up_widths = list(config.widths[-2::-1])
    if config.decoder_head in ("conv", "resize"):
        up_widths.append(config.widths[0])
    for i, width in enumerate(up_widths):
        if config.decoder_head == "resize":
            x = _resize_block(x, width, f"up{i}", config.batch_norm)
        else:
            x = _strided_block(x, width, 4, f"up{i}", config.batch_norm, transpose=True)
        x = _residual_blocks(x, config.decoder_blocks, config.image_size // 8, f"up{i}")
    if config.decoder_head in ("conv", "resize"):
        images = layers.Conv2D(config.channels, 3, padding="same", activation="sigmoid", name="image")(x)
    elif config.detail_width:
        logits = layers.Conv2DTranspose(config.channels, 4, strides=2, padding="same", name="image")(x)
        images = _detail_stage(logits, x, config.detail_width)
    else:
        images = layers.Conv2DTranspose(config.channels, 4, strides=2, padding="same", activation="sigmoid",
                                        name="image")(x)
    return keras.Model(z, images, name="decoder")


class BinomialBlur(layers.Layer):
    """A fixed, centred [1, 2, 1] x [1, 2, 1] / 16 blur of each channel, (N, H, W, C) -> the same shape, borders
    extended by their edge pixels: nothing of a 2-pixel pattern gets through it, and edges lose only their sharpest
    step."""

    def call(self, x):
        channels = x.shape[-1]
        taps = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0
        kernel = ops.convert_to_tensor(np.tile(taps[:, :, None, None], (1, 1, channels, 1)).astype("float32"))
        padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="symmetric")
        return ops.depthwise_conv(padded, ops.cast(kernel, x.dtype), strides=1, padding="valid")


class BorderTaper(layers.Layer):
    """Scales (N, H, W, C) by 0 at the image's edge, rising linearly to 1 at `margin` pixels in: the detail stage's
    zero-padded convolutions see a false edge there, and drew bright and dark lines along it."""

    def __init__(self, margin: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.margin = margin

    def call(self, x):
        def ramp(size):
            distance = np.minimum(np.arange(size), np.arange(size)[::-1])
            return np.clip(distance / self.margin, 0.0, 1.0)

        mask = np.outer(ramp(x.shape[1]), ramp(x.shape[2]))[None, :, :, None].astype("float32")
        return x * ops.cast(ops.convert_to_tensor(mask), x.dtype)


def _detail_stage(logits, features, width: int):
    """sigmoid(logits + correction): the correction is two 3x3 convolutions over the head's logits (N, S, S, C) and
    the last feature map (N, S/2, S/2, F) upsampled linearly (nearest neighbour, then a 2x2 average), both blurred
    first (`BinomialBlur`): the transposed convolutions leave faint 2-pixel patterns in them, and a stage that reads
    those learns to amplify them into a grid, while from blurred inputs no convolution at stride 1 can draw a pattern
    locked to the pixel grid. The correction is one channel added to every colour: fine detail is light and dark,
    and a stage free to correct each colour drew magenta and green fringes beside edges; it fades out at the border
    (`BorderTaper`). Its last convolution starts at zero."""
    smooth_logits = BinomialBlur(name="detail_blur")(logits)
    smooth_features = BinomialBlur(name="detail_features_blur")(features)
    upsampled = layers.UpSampling2D(2, name="detail_up")(smooth_features)
    upsampled = layers.AveragePooling2D(2, strides=1, padding="same", name="detail_smooth")(upsampled)
    h = layers.Concatenate(name="detail_in")([smooth_logits, upsampled])
    h = layers.Conv2D(width, 3, padding="same", name="detail")(h)
    h = layers.LeakyReLU(0.2, name="detail_act")(h)
    lightness = layers.Conv2D(1, 3, padding="same", kernel_initializer="zeros", name="detail_out")(h)
    correction = layers.Concatenate(name="detail_grey")([lightness] * logits.shape[-1])
    correction = BorderTaper(name="detail_taper")(correction)
    return layers.Activation("sigmoid", name="detail_image")(layers.Add(name="detailed")([logits, correction]))


def reconstruction_errors(images, reconstructions, kind: str):
    """Each image's sum over pixels of squared error or binary cross-entropy: (N, S, S, C) x 2 -> (N,)."""
    if kind == "bce":
        per_pixel = keras.losses.binary_crossentropy(images[..., None], reconstructions[..., None])
    else:
        per_pixel = ops.square(images - reconstructions)
    return ops.sum(per_pixel, axis=(1, 2, 3))


SPECTRAL_TOLERANCE = 2.0  # how many times the photos' power a frequency of the reconstructions may hold for free
SPECTRAL_FLOOR = 1e-5  # power per pixel below which frequencies are not compared: about one grey level of noise


def spectral_excess(images, reconstructions):
    """How far the reconstructions' mean power spectrum rises above SPECTRAL_TOLERANCE times the images': the sum,
    over every channel and 2-D frequency, of max(0, log(P_reconstructions / P_images) - log(SPECTRAL_TOLERANCE)),
    each P the batch's mean |FFT|^2 of Hann-windowed images (the window keeps the jump between opposite borders out of
    the spectrum) plus S * S * SPECTRAL_FLOOR: (N, S, S, C) x 2 -> scalar. Zero for a faithful or a blurred decoder;
    a grid, stripes or grain that the photos do not hold count at their frequencies, wherever they sit in the
    spectrum and however little energy they carry."""
    height, width = images.shape[1], images.shape[2]
    window = np.outer(np.hanning(height), np.hanning(width)).astype("float32")
    floor = height * width * SPECTRAL_FLOOR

    def mean_power(batch):
        channels_first = ops.transpose(batch, (0, 3, 1, 2)) * window
        real, imag = ops.fft2((channels_first, ops.zeros_like(channels_first)))
        return ops.mean(ops.square(real) + ops.square(imag), axis=0) + floor

    log_ratio = ops.log(mean_power(reconstructions)) - ops.log(mean_power(images))
    return ops.sum(ops.relu(log_ratio - float(np.log(SPECTRAL_TOLERANCE))))


def reconstruction_loss(images, reconstructions, kind: str):
    """reconstruction_errors averaged over the batch."""
    return ops.mean(reconstruction_errors(images, reconstructions, kind))


def kl_per_dimension(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, 1)) of each image and latent dimension: (N, D) -> (N, D) nats."""
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


def kl_divergence(z_mean, z_log_var):
    """KL(q(z|x) || N(0, I)) summed over latent dimensions, averaged over the batch."""
    return ops.mean(ops.sum(kl_per_dimension(z_mean, z_log_var), axis=1))


class VAE(keras.Model):
    """Encoder + Sampling + decoder. Input: images (N, S, S, C) in [0, 1].

    Loss = reconstruction + beta_t * KL, where beta_t ramps linearly from 0 to `config.beta` over
    `config.beta_warmup_steps` training steps (counted in the `train_steps` variable, saved with
    the weights so that a resumed run keeps its place in the warm-up), plus `config.perceptual_weight` times
    the `perceptual` distance once training attaches one (`latentlab.train.terms.perceptual`), plus `config.spectral_weight` times
    the `spectral_excess`, plus the adversarial terms when it is built `with_discriminator` (`latentlab.train.terms.adversarial`;
    the discriminator trains with the same optimizer and is saved in checkpoints, never in the weights users load).
    """

    def __init__(self, config: ModelConfig, with_discriminator: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.encoder = build_encoder(config)
        self.decoder = build_decoder(config)
        self.discriminator = build_discriminator(config.image_shape) if with_discriminator else None
        if with_discriminator:  # the steps of this adversarial run (train_steps counts the model's whole life)
            self.adversarial_steps = self.add_weight(
                shape=(), initializer="zeros", trainable=False, name="adversarial_steps",
                aggregation="only_first_replica",
            )
        self.sampling = Sampling(name="sampling")
        self.train_steps = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="train_steps",
            aggregation="only_first_replica",
        )
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl")
        self.perceptual_loss_tracker = keras.metrics.Mean(name="perceptual")
        self.spectral_loss_tracker = keras.metrics.Mean(name="spectral")
        self.adversarial_trackers = [keras.metrics.Mean(name=name) for name in ADVERSARIAL_TERMS]
        self.perceptual = None

    @property
    def metrics(self):
        trackers = [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]
        if self.perceptual:
            trackers.append(self.perceptual_loss_tracker)
        if self.config.spectral_weight:
            trackers.append(self.spectral_loss_tracker)
        if self.discriminator is not None:
            trackers.extend(self.adversarial_trackers)
        return trackers

    def call(self, images, training=False):
        z_mean, z_log_var = self.encoder(images, training=training)
        z = self.sampling([z_mean, z_log_var])
        return self.decoder(z, training=training), z_mean, z_log_var

    def kl_weight(self):
        """The current beta_t of the warm-up."""
        if self.config.beta_warmup_steps <= 0:
            return ops.convert_to_tensor(self.config.beta, "float32")
        progress = ops.minimum(1.0, self.train_steps / float(self.config.beta_warmup_steps))
        return self.config.beta * progress

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstructions, z_mean, z_log_var = y_pred
        reconstruction = reconstruction_loss(x, reconstructions, self.config.loss)
        kl = kl_divergence(z_mean, z_log_var)
        total = reconstruction + self.kl_weight() * kl
        if self.perceptual:
            perceptual = ops.mean(self.perceptual(x, reconstructions))
            total = total + self.config.perceptual_weight * perceptual
            self.perceptual_loss_tracker.update_state(perceptual)
        if self.config.spectral_weight:
            spectral = spectral_excess(x, reconstructions)
            total = total + self.config.spectral_weight * spectral
            self.spectral_loss_tracker.update_state(spectral)
        if self.discriminator is not None:
            terms = adversarial_losses(self.discriminator, x, reconstructions)
            decoder_terms = (self.config.adversarial_weight * terms["adversarial"]
                             + self.config.feature_matching_weight * terms["matching"])
            started = ops.cast(ops.greater_equal(self.adversarial_steps, self.config.discriminator_warmup_steps),
                               "float32")
            total = total + started * decoder_terms + terms["critic"]
            if training:
                self.adversarial_steps.assign(self.adversarial_steps + 1.0)
            for tracker in self.adversarial_trackers:
                tracker.update_state(terms[tracker.name])
        if training:
            self.train_steps.assign(self.train_steps + 1.0)
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(reconstruction)
        self.kl_loss_tracker.update_state(kl)
        return total / replicas_in_sync()  # replicas' gradients are summed: each contributes its share

    def get_metrics_result(self):
        """The metrics, each given one axis when training across workers: there Keras averages them with
        strategy.reduce(MEAN, axis=0), which fails on scalars (tensorflow/tensorflow#72388)."""
        results = super().get_metrics_result()
        if across_workers():
            return {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results


def build_vae(config: ModelConfig, with_discriminator: bool = False) -> VAE:
    """A VAE with all variables created (ready for load_weights)."""
    vae = VAE(config, with_discriminator, name="vae")
    vae(ops.zeros((1, *config.image_shape)))
    return vae


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
