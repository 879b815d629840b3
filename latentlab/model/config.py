"""ModelConfig: every setting of the model and its training in one place, stored in data/model.json."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from latentlab.errors import UserError
from latentlab.files import atomic_write_text
from latentlab.paths import DEFAULT_WEIGHTS, PROJECT_ROOT

CROPS = ("celeba", "center", "none")
LOSSES = ("mse", "bce")
DECODER_HEADS = ("transpose", "conv")
DEFAULT_REFINE_STEPS = 20
MAX_REFINE_STEPS = 200
# The settings that shape the weights: two configs that agree on them load each other's weights files.
ARCHITECTURE_FIELDS = ("image_size", "channels", "latent_dim", "widths", "bottleneck_channels", "encoder_kernel",
                       "batch_norm", "decoder_head", "encoder_blocks", "decoder_blocks")
# What a model.json written before these settings existed means: the first, slower architecture.
LEGACY_ARCHITECTURE = {"encoder_kernel": 4, "batch_norm": True, "decoder_head": "conv"}


@dataclasses.dataclass
class ModelConfig:
    """Architecture, loss, training and encoding settings of one VAE (`latentlab.model.vae` says what each
    architecture field builds).

    Images are `image_size` x `image_size` x `channels` in [0, 1]; `image_size` is a multiple of 2 ** len(widths).
    Loss: per-image `loss` ("mse" or "bce") summed over pixels + beta_t * KL, beta_t ramping from 0 to `beta` over
    `beta_warmup_steps`. `freeze_encoder` trains the decoder only (every latent made from the encoder stays valid).
    `refine_steps`: Adam steps that refine each encoding through the decoder (`latentlab.model.codec`).
    `terms`: the optional training loss terms, {name: settings} (`latentlab.train.terms`).
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
    loss: str = "mse"
    beta: float = 1.0
    beta_warmup_steps: int = 0
    learning_rate: float = 1e-3
    batch_size: int = 64
    crop: str = "celeba"
    refine_steps: int = DEFAULT_REFINE_STEPS
    freeze_encoder: bool = False
    terms: dict[str, dict] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.widths = tuple(int(w) for w in self.widths)
        self.batch_norm = bool(self.batch_norm)
        self.freeze_encoder = bool(self.freeze_encoder)
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
        if not 0 <= self.refine_steps <= MAX_REFINE_STEPS:
            raise UserError(f"refine steps must be 0 to {MAX_REFINE_STEPS}, got {self.refine_steps}")
        if self.latent_dim < 1:
            raise UserError(f"latent dim must be positive, got {self.latent_dim}")
        if self.loss not in LOSSES:
            raise UserError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.crop not in CROPS:
            raise UserError(f"crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if self.beta < 0:
            raise UserError(f"beta must be >= 0, got {self.beta}")
        if self.learning_rate <= 0 or self.batch_size < 1:
            raise UserError("the learning rate must be > 0 and the batch size >= 1")
        if not isinstance(self.terms, dict) or not all(isinstance(v, dict) for v in self.terms.values()):
            raise UserError("terms must map each loss term's name to its settings")

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
        """The config a model.json holds: missing architecture fields mean LEGACY_ARCHITECTURE, fields this version
        does not know (older experiments' settings among them) are ignored; UserError for a removed experiment."""
        if data.get("detail_width"):
            raise UserError("this model has a detail stage (detail_width > 0): that experiment was removed")
        if data.get("decoder_head") == "resize":
            raise UserError('this model has the "resize" decoder head: that experiment was removed')
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
