"""The convolutional VAE: an encoder and a decoder model, the Sampling layer between them, and the VAE that trains
them on reconstruction + beta_t * KL (plus any optional loss terms training gives it, `latentlab.train.terms`).

Backend-agnostic Keras 3 (TensorFlow here, JAX on a GPU machine): the VAE overrides only `compute_loss`, so every
backend's own train / test step applies. Weight files and weight transfer: `latentlab.model.weights`.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from latentlab.model.config import ModelConfig


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
    """Latents (N, D) -> images (N, S, S, C) in [0, 1]; mirrors the encoder with 4x4 stride-2 transposed
    convolutions. Head "transpose": the last one writes the image; "conv" (the first architecture,
    LEGACY_ARCHITECTURE): one more full-size layer, then a 3x3 convolution writes it."""
    side = config.image_size // 2 ** len(config.widths)
    z = keras.Input((config.latent_dim,), name="z")
    x = layers.Dense(side * side * config.bottleneck_channels, name="expand")(z)
    x = layers.LeakyReLU(0.2, name="expand_act")(x)
    x = layers.Reshape((side, side, config.bottleneck_channels), name="unflatten")(x)
    x = layers.Conv2D(config.widths[-1], 3, padding="same", name="unsqueeze")(x)
    x = layers.LeakyReLU(0.2, name="unsqueeze_act")(x)
    x = _residual_blocks(x, config.decoder_blocks, config.image_size // 8, "unsqueeze")
    up_widths = list(config.widths[-2::-1])
    if config.decoder_head == "conv":
        up_widths.append(config.widths[0])
    for i, width in enumerate(up_widths):
        x = _strided_block(x, width, 4, f"up{i}", config.batch_norm, transpose=True)
        x = _residual_blocks(x, config.decoder_blocks, config.image_size // 8, f"up{i}")
    if config.decoder_head == "conv":
        images = layers.Conv2D(config.channels, 3, padding="same", activation="sigmoid", name="image")(x)
    else:
        images = layers.Conv2DTranspose(config.channels, 4, strides=2, padding="same", activation="sigmoid",
                                        name="image")(x)
    return keras.Model(z, images, name="decoder")


def reconstruction_errors(images, reconstructions, kind: str):
    """Each image's sum over pixels of squared error or binary cross-entropy: (N, S, S, C) x 2 -> (N,)."""
    if kind == "bce":
        per_pixel = keras.losses.binary_crossentropy(images[..., None], reconstructions[..., None])
    else:
        per_pixel = ops.square(images - reconstructions)
    return ops.sum(per_pixel, axis=(1, 2, 3))


def reconstruction_loss(images, reconstructions, kind: str):
    """reconstruction_errors averaged over the batch."""
    return ops.mean(reconstruction_errors(images, reconstructions, kind))


def kl_per_dimension(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, 1)) of each image and latent dimension: (N, D) -> (N, D) nats."""
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


def kl_divergence(z_mean, z_log_var):
    """KL(q(z|x) || N(0, I)) summed over latent dimensions, averaged over the batch."""
    return ops.mean(ops.sum(kl_per_dimension(z_mean, z_log_var), axis=1))


def _replicas_in_sync() -> int:
    """Replicas computing the current step together (1 outside a tf.distribute strategy or off TensorFlow)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def _across_workers() -> bool:
    """True inside a MultiWorkerMirroredStrategy's step."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy)


class VAE(keras.Model):
    """Encoder + Sampling + decoder. Input: images (N, S, S, C) in [0, 1].

    Loss = reconstruction + beta_t * KL + what each of `terms` adds. beta_t ramps linearly from 0 to `config.beta`
    over `config.beta_warmup_steps` training steps, counted in the `train_steps` variable (saved with the weights, so a
    resumed run keeps its place in the warm-up). A term is called as term(images, reconstructions, training) ->
    (what it adds to the loss, {name: value} for each of its `reports`), and its `state` (Keras layers and variables)
    is tracked here: trained by the same optimizer and saved in checkpoints. The weights users load hold no term
    (`latentlab.model.weights.save_weights_atomic`).
    """

    def __init__(self, config: ModelConfig, terms=(), **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.encoder = build_encoder(config)
        self.decoder = build_decoder(config)
        self.sampling = Sampling(name="sampling")
        self.train_steps = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="train_steps",
            aggregation="only_first_replica",
        )
        self.loss_terms = list(terms)
        self.term_state = [item for term in self.loss_terms for item in term.state]
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl")
        self.term_trackers = [keras.metrics.Mean(name=name) for term in self.loss_terms for name in term.reports]

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker, *self.term_trackers]

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
        reported = {}
        for term in self.loss_terms:
            added, values = term(x, reconstructions, training)
            total = total + added
            reported.update(values)
        if training:
            self.train_steps.assign(self.train_steps + 1.0)
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(reconstruction)
        self.kl_loss_tracker.update_state(kl)
        for tracker in self.term_trackers:
            tracker.update_state(reported[tracker.name])
        return total / _replicas_in_sync()  # replicas' gradients are summed: each contributes its share

    def get_metrics_result(self):
        """The metrics, each given one axis when training across workers: there Keras averages them with
        strategy.reduce(MEAN, axis=0), which fails on scalars (tensorflow/tensorflow#72388)."""
        results = super().get_metrics_result()
        if _across_workers():
            return {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results


def build_vae(config: ModelConfig, terms=()) -> VAE:
    """A VAE with all variables created (ready for load_weights), trained with the optional loss `terms`."""
    vae = VAE(config, terms, name="vae")
    vae(ops.zeros((1, *config.image_shape)))
    return vae
