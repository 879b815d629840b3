"""ModelConfig: every setting of the model and its training in one place, stored in data/model.json."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from latentlab.errors import UserError
from latentlab.files import atomic_write_text
from latentlab.paths import DATA_DIR, DEFAULT_WEIGHTS, PROJECT_ROOT

DEFAULT_PERCEPTUAL = DATA_DIR / "perceptual.weights.h5"

CROPS = ("celeba", "center", "none")
LOSSES = ("mse", "bce")
DECODER_HEADS = ("transpose", "conv", "resize")
DISTILL_DECODER_TARGETS = ("images", "teacher")  # what `distill` teaches the student decoder to draw
DEFAULT_REFINE_STEPS = 20
MAX_REFINE_STEPS = 200
# The settings that shape the weights: two configs that agree on them load each other's weights files.
ARCHITECTURE_FIELDS = ("image_size", "channels", "latent_dim", "widths", "bottleneck_channels", "encoder_kernel",
                       "batch_norm", "decoder_head", "encoder_blocks", "decoder_blocks", "detail_width")
# What a model.json written before these settings existed means: the first, slower architecture.
LEGACY_ARCHITECTURE = {"encoder_kernel": 4, "batch_norm": True, "decoder_head": "conv"}


@dataclasses.dataclass
class ModelConfig:
    """Architecture, loss and preprocessing of one VAE.

    Images are `image_size` x `image_size` x `channels`, values in [0, 1]. The encoder halves the
    size once per entry of `widths` (so `image_size` must be a multiple of 2 ** len(widths)) with
    `encoder_kernel` x `encoder_kernel` stride-2 convolutions, then a 1x1 convolution narrows to
    `bottleneck_channels` before the dense layers to the latent. The decoder mirrors it with 4x4
    stride-2 transposed convolutions; its `decoder_head` is "transpose" (the last one writes
    the RGB image directly), "conv" (one more full-size layer, then a 3x3 convolution to RGB:
    the first architecture, about twice as slow) or "resize" (the layers of "conv", each a bilinear 2x upsampling and
    a 3x3 convolution instead: no transposed convolution, so no layer can stamp a checkerboard). `batch_norm` puts
    BatchNormalization after every strided layer.
    `encoder_blocks` adds that many residual blocks (x + two 3x3 convolutions) after every encoder layer at a
    quarter of the image size or less, `decoder_blocks` after every decoder layer at an eighth or less (where they
    cost the least decoding time); each block's second convolution starts at zero, so a trained model gains
    blocks (`train --init-from`) without its output changing. `detail_width` > 0 (transpose head only) adds a
    full-resolution detail stage of that width after the head: two 3x3 convolutions read the head's output and the
    last feature map (upsampled linearly, so no transposed convolution is involved), both blurred, and add one grey
    correction, faded out at the border, before the sigmoid (`model._detail_stage`); its last convolution starts at
    zero, so it too joins a trained model without changing it.
    Encoding refines the encoder's mean with `refine_steps` Adam steps on the model's own loss through the decoder
    (`latentlab.model.codec.refined_means`); 0: the encoder's mean as it is. It is not part of the architecture.
    Training adds `perceptual_weight` times the feature distance of `perceptual_net` (an attribute classifier in
    the judge's format, path relative to the project) between each image and its reconstruction; 0: none.
    `spectral_weight` adds that weight times the log power by which the reconstructions' mean spectrum exceeds twice
    the images' (`model.spectral_excess`): grids, stripes and grain that the photos do not hold, which transposed
    convolutions can draw and adversarial training rewards them for drawing; blur costs nothing there.
    `adversarial_weight` > 0 trains a PatchGAN discriminator beside the VAE (`latentlab.train.terms.adversarial`) and adds that
    weight times its hinge loss on the reconstructions, plus `feature_matching_weight` times the L1 distance between
    the discriminator's features of each image and of its reconstruction; both start after the discriminator has
    trained alone for `discriminator_warmup_steps` steps of the run (a fresh discriminator's opinion is noise that the
    decoder would learn to draw). `freeze_encoder` trains the decoder (and the discriminator) only, which keeps every
    latent, index and direction made from the encoder valid; `freeze_decoder_base` (with it) trains the detail stage
    only, so the face it corrects stays exactly the one the model drew before.
    """

    image_size: int = 128
    channels: int = 3
    latent_dim: int = 256
    widths: tuple[int, ...] = (32, 64, 128, 256)
    bottleneck_channels: int = 64
    encoder_kernel: int = 3
    batch_norm: bool = False
    decoder_head: str = "transpose"
    encoder_blocks: int = 0
    decoder_blocks: int = 0
    detail_width: int = 0
    loss: str = "mse"
    beta: float = 1.0
    beta_warmup_steps: int = 0
    learning_rate: float = 1e-3
    batch_size: int = 64
    crop: str = "celeba"
    perceptual_weight: float = 0.0
    perceptual_net: str = str(DEFAULT_PERCEPTUAL.relative_to(PROJECT_ROOT))
    refine_steps: int = DEFAULT_REFINE_STEPS
    spectral_weight: float = 0.0
    adversarial_weight: float = 0.0
    feature_matching_weight: float = 0.0
    discriminator_warmup_steps: int = 0
    freeze_encoder: bool = False
    freeze_decoder_base: bool = False

    def __post_init__(self):
        self.widths = tuple(int(w) for w in self.widths)
        self.batch_norm = bool(self.batch_norm)
        self.freeze_encoder = bool(self.freeze_encoder)
        self.freeze_decoder_base = bool(self.freeze_decoder_base)
        self.validate()

    def validate(self) -> None:
        """Raise UserError naming the first setting that cannot build a model."""
        step = 2 ** len(self.widths)
        if not self.widths:
            raise UserError("widths must name at least one layer width")
        if self.image_size % step or not 32 <= self.image_size <= 256:
            raise UserError(
                f"image size {self.image_size} is not supported: use a multiple of {step} from 32 to 256"
            )
        if self.encoder_kernel not in (3, 4):
            raise UserError(f"encoder kernel must be 3 or 4, got {self.encoder_kernel}")
        if self.decoder_head not in DECODER_HEADS:
            raise UserError(f"decoder head must be one of {', '.join(DECODER_HEADS)}, got {self.decoder_head!r}")
        if not (0 <= self.encoder_blocks <= 4 and 0 <= self.decoder_blocks <= 4):
            raise UserError(f"encoder and decoder blocks must be 0 to 4, got {self.encoder_blocks} and "
                            f"{self.decoder_blocks}")
        if not 0 <= self.detail_width <= 128:
            raise UserError(f"detail width must be 0 to 128, got {self.detail_width}")
        if self.detail_width and self.decoder_head != "transpose":
            raise UserError("a detail stage (detail width > 0) needs the transpose decoder head")
        if self.freeze_decoder_base and not (self.detail_width and self.freeze_encoder):
            raise UserError("--freeze-decoder-base trains the detail stage alone: it needs --detail-width > 0 and "
                            "--freeze-encoder on")
        if not 0 <= self.refine_steps <= MAX_REFINE_STEPS:
            raise UserError(f"refine steps must be 0 to {MAX_REFINE_STEPS}, got {self.refine_steps}")
        if self.latent_dim < 1:
            raise UserError(f"latent dim must be positive, got {self.latent_dim}")
        if self.loss not in LOSSES:
            raise UserError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.crop not in CROPS:
            raise UserError(f"crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if min(self.beta, self.perceptual_weight, self.spectral_weight, self.adversarial_weight,
               self.feature_matching_weight) < 0:
            raise UserError("beta and the perceptual, spectral, adversarial and feature-matching weights must be >= 0")
        if self.feature_matching_weight and not self.adversarial_weight:
            raise UserError("feature matching reads the discriminator's features: it needs an adversarial weight > 0")
        if self.discriminator_warmup_steps < 0:
            raise UserError(f"discriminator warm-up must be >= 0 steps, got {self.discriminator_warmup_steps}")
        if self.learning_rate <= 0 or self.batch_size < 1:
            raise UserError("the learning rate must be > 0 and the batch size >= 1")

    @property
    def perceptual_path(self) -> Path:
        """`perceptual_net` as a path (a relative one is taken from the project root)."""
        return PROJECT_ROOT / self.perceptual_net

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.image_size, self.image_size, self.channels)

    def same_architecture(self, other: ModelConfig) -> bool:
        """Whether a weights file of `other` loads into a model of this config as it is."""
        return all(getattr(self, name) == getattr(other, name) for name in ARCHITECTURE_FIELDS)

    def replace(self, **changes) -> ModelConfig:
        """A copy with some fields changed (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["widths"] = list(self.widths)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{**LEGACY_ARCHITECTURE, **{k: v for k, v in data.items() if k in known}})
        except TypeError as exc:
            raise UserError(f"model config is malformed: {exc}") from None



def require_weights(path: str | os.PathLike) -> Path:
    """`path` when it is a file; else the one "weights not found" UserError, saying how to get weights (checked
    before TensorFlow is imported)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file {path} not found: train one with `python vae.py train --data DIR` (the default "
                        f"place is {DEFAULT_WEIGHTS.relative_to(PROJECT_ROOT)}) or pass --weights FILE")
    return path


def save_model_json(path: str | os.PathLike, config: ModelConfig, summary: dict | None = None) -> None:
    """Write {"config": ..., "training": ...} atomically."""
    payload = {"config": config.to_dict(), "training": summary or {}}
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


def load_model_json(path: str | os.PathLike) -> tuple[ModelConfig, dict]:
    """Read a model.json into (config, training summary); UserError when missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} is missing: it holds the model's configuration next to its weights")
    try:
        payload = json.loads(path.read_text())
        config_data = payload["config"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise UserError(f"{path} is not a valid model.json (expected {{'config': ..., 'training': ...}})") from None
    return ModelConfig.from_dict(config_data), payload.get("training", {})
