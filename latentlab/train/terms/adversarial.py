"""The adversarial loss term: a PatchGAN discriminator and the losses that pit the decoder against it.

A decoder trained on pixel error alone draws the average of every face its latent could mean: soft, with eye shape,
teeth and hair texture gone. A discriminator that tells real 128 px patches from reconstructed ones gives the decoder
a reason to draw the detail back, while the reconstruction term keeps each face where it was.

Both networks train in the VAE's one `compute_loss` under one optimizer, on every Keras backend: the critic's hinge
loss sees the reconstructions through `stop_gradient`, so it moves only the discriminator; the decoder's terms call
the discriminator statelessly on `stop_gradient` copies of its weights, so they move only the decoder. The
discriminator and the run's step counter are the term's `state`: the VAE's optimizer trains them and its checkpoints
hold them, the weights file users load does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentlab.errors import UserError

NAME = "adversarial"
DISCRIMINATOR_WIDTHS = (16, 32, 64, 128)
# The values the term reports: the decoder's hinge loss, its feature matching, the discriminator's hinge loss.
REPORTS = ("adversarial", "matching", "critic")


@dataclass
class Settings:
    """`weight` times the discriminator's hinge loss on the reconstructions, plus `feature_matching_weight` times the
    L1 distance between its features of each image and of its reconstruction; both start after the discriminator has
    trained alone for `discriminator_warmup_steps` steps of the run (a fresh discriminator's opinion is noise that
    the decoder would learn to draw)."""

    weight: float = 0.0
    feature_matching_weight: float = 0.0
    discriminator_warmup_steps: int = 0

    def __post_init__(self):
        if min(self.weight, self.feature_matching_weight) < 0:
            raise UserError("the adversarial and feature-matching weights must be >= 0")
        if self.feature_matching_weight and not self.weight:
            raise UserError("feature matching reads the discriminator's features: it needs an adversarial weight > 0")
        if self.discriminator_warmup_steps < 0:
            raise UserError(f"discriminator warm-up must be >= 0 steps, got {self.discriminator_warmup_steps}")


def add_arguments(group) -> None:
    """--adversarial-weight, --feature-matching-weight and --discriminator-warmup of the train command, on the
    argument group `group`."""
    group.add_argument("--adversarial-weight", type=float, dest="adversarial_weight", metavar="W",
                       help="weight of a PatchGAN discriminator's hinge loss on the reconstructions (0: none)")
    group.add_argument("--feature-matching-weight", type=float, dest="adversarial_feature_matching_weight", metavar="W",
                       help="weight of the L1 distance between the discriminator's features of each image and of "
                            "its reconstruction (needs --adversarial-weight)")
    group.add_argument("--discriminator-warmup", type=int, dest="adversarial_discriminator_warmup_steps",
                       metavar="N", help="steps the discriminator trains alone before the decoder's adversarial "
                                         "terms start")


def blur_downsample(x, name: str):
    """Halve H and W of (N, H, W, C) after a [1, 2, 1] x [1, 2, 1] / 16 blur: two 2x2 average pools, the first at
    stride 1. Every input pixel gets the same total weight, so the gradient sent back to the image has no 2-pixel
    pattern; a stride-2 convolution's has, and a decoder trained against such a discriminator learns to draw it."""
    from keras import layers

    x = layers.AveragePooling2D(2, strides=1, padding="same", name=f"{name}_blur")(x)
    return layers.AveragePooling2D(2, name=name)(x)


def build_discriminator(image_shape: tuple[int, int, int], widths: tuple[int, ...] = DISCRIMINATOR_WIDTHS):
    """A keras.Model: images (N, S, S, C) in [0, 1] -> [features of each layer ..., patch logits (N, S/16, S/16, 1)].

    Per width: a 3x3 convolution and LeakyReLU at the current size, then `blur_downsample`; no normalisation (so a
    stateless call needs no batch statistics); then a 3x3 convolution to one real-vs-reconstructed logit per patch
    (about 90 px seen by each). The first convolution reads the full-resolution image, 2-pixel patterns included."""
    import keras
    from keras import layers

    images = keras.Input(image_shape, name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="centre")(images)
    features = []
    for i, width in enumerate(widths):
        x = layers.Conv2D(width, 3, padding="same", name=f"critic{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"critic{i}_act")(x)
        features.append(x)
        x = blur_downsample(x, f"critic{i}_down")
    logits = layers.Conv2D(1, 3, padding="same", name="patch_logits")(x)
    return keras.Model(images, [*features, logits], name="discriminator")


def adversarial_losses(discriminator, images, reconstructions) -> dict:
    """{"adversarial", "matching", "critic"}: scalar losses for one batch (N, S, S, C) x 2.

    adversarial: -mean logit of the reconstructions (hinge, the decoder's side); matching: the mean over the
    discriminator's layers of the mean absolute difference of each image's and its reconstruction's features; both
    times the pixel count S * S * C, as the reconstruction term is a sum over pixels;
    critic: mean(relu(1 - real logits)) + mean(relu(1 + reconstructed logits)). Gradients of the first two reach
    only the decoder, of the last only the discriminator."""
    from keras import ops

    *real_features, real_logits = discriminator(images, training=True)
    fake_logits = discriminator(ops.stop_gradient(reconstructions), training=True)[-1]
    critic = ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))
    frozen = [ops.stop_gradient(v) for v in discriminator.trainable_variables]
    outputs, _ = discriminator.stateless_call(frozen, discriminator.non_trainable_variables, reconstructions)
    *fake_features, judged_logits = outputs
    matching = ops.mean(ops.stack([ops.mean(ops.abs(ops.stop_gradient(real) - fake))
                                   for real, fake in zip(real_features, fake_features)]))
    pixels = float(images.shape[1] * images.shape[2] * images.shape[3])  # the reconstruction term's unit: a sum
    return {"adversarial": -pixels * ops.mean(judged_logits), "matching": pixels * matching, "critic": critic}


class AdversarialTerm:
    """The loss term: the critic's hinge loss, plus, once `steps` (this run's training steps) reach the warm-up,
    weight * adversarial + feature_matching_weight * matching; reports REPORTS."""

    reports = REPORTS

    def __init__(self, settings: Settings, image_shape: tuple[int, int, int]):
        import keras

        self.settings = settings
        self.discriminator = build_discriminator(image_shape)
        self.steps = keras.Variable(0.0, shape=(), trainable=False, name="adversarial_steps",
                                    aggregation="only_first_replica")
        self.state = (self.discriminator, self.steps)

    def __call__(self, images, reconstructions, training):
        from keras import ops

        losses = adversarial_losses(self.discriminator, images, reconstructions)
        decoder_losses = (self.settings.weight * losses["adversarial"]
                          + self.settings.feature_matching_weight * losses["matching"])
        started = ops.cast(ops.greater_equal(self.steps, self.settings.discriminator_warmup_steps), "float32")
        if training:
            self.steps.assign(self.steps + 1.0)
        return started * decoder_losses + losses["critic"], losses


def build(settings: Settings, config) -> AdversarialTerm:
    """The term of `settings` for a VAE of `config` (a ModelConfig)."""
    return AdversarialTerm(settings, config.image_shape)
