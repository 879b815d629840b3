"""The attribute judge: a small CNN that reads CelebA's attributes (40 sigmoid outputs) from a face, photo or decoded.

It is trained on photos with random Gaussian blur and downscale-upscale, so that the soft faces the VAE decodes are
read fairly, and it only measures the VAE: how much of each attribute survives reconstruction, and what moving a face
along an attribute direction changes (`edit_effects`). The VAE's training never uses it. The weights go to
`judge.weights.h5`, the configuration and training summary to `judge.json` beside them. No Qt here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from latentlab.errors import UserError
from latentlab.files import atomic_path, atomic_write_text
from latentlab.images import SkipReport, iter_batches
from latentlab.latent.directions import AttributeDirections, auc_per_attribute
from latentlab.model.codec import compiled_call
from latentlab.model.weights import load_weights_checked
from latentlab.paths import model_json_path
from latentlab.pictures import to_float
from latentlab.train.dataset import decoded_images

IDENTITY_ATTRIBUTES = ("Male", "Young", "Pale_Skin", "Eyeglasses", "Smiling")
EDIT_AMOUNT = 2.0  # score standard deviations each way
SIDE_EFFECT = 0.25  # a change of another attribute's probability at least this large after a move is worth a hold
TRAIN_HINT = "train one with `python vae.py train-judge --data DIR --attributes list_attr_celeba.txt`"
BLUR_SIGMA = (0.4, 1.6)  # Gaussian blur, pixels of the judge's input
SHRINK = (0.25, 0.75)  # downscale-upscale: the fraction of the side kept
PREDICT_BATCH = 256


@dataclasses.dataclass
class JudgeConfig:
    """A judge's architecture and input: `image_size` px squares of the `crop`, one 3x3 convolution (BatchNorm,
    ReLU) per entry of `widths` with the matching `strides`, global average pooling, one sigmoid per name."""

    names: tuple[str, ...]
    image_size: int = 64
    widths: tuple[int, ...] = (32, 64, 96, 96, 192)
    strides: tuple[int, ...] = (2, 2, 1, 2, 2)
    crop: str = "celeba"

    def __post_init__(self):
        self.names, self.widths, self.strides = tuple(self.names), tuple(self.widths), tuple(self.strides)
        if not self.names or len(self.widths) != len(self.strides):
            raise UserError("a judge needs at least one attribute name and one stride per width")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> JudgeConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def build_judge(config: JudgeConfig) -> keras.Model:
    """The classifier: images (N, S, S, 3) in [0, 1] -> probabilities (N, A)."""
    x = inputs = keras.Input((config.image_size, config.image_size, 3), name="face")
    for i, (width, stride) in enumerate(zip(config.widths, config.strides)):
        x = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"conv{i}_bn")(x)
        x = layers.ReLU(name=f"conv{i}_act")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(len(config.names), activation="sigmoid", name="attributes")(x)
    return keras.Model(inputs, outputs, name="judge")


class Judge:
    """A judge with its configuration: images (N, H, W, 3), uint8 or float in [0, 1], resized to its input size
    -> probabilities (N, A), one column per name."""

    def __init__(self, model: keras.Model, config: JudgeConfig, summary: dict | None = None):
        self.model = model
        self.config = config
        self.summary = summary or {}
        self._predict = compiled_call(model, (config.image_size, config.image_size, 3))

    @property
    def names(self) -> tuple[str, ...]:
        return self.config.names

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, A) float32 of images (N, H, W, 3), in batches."""
        batch = to_float(images)
        size = self.config.image_size
        out = []
        for start in range(0, len(batch), PREDICT_BATCH):
            chunk = batch[start : start + PREDICT_BATCH]
            if chunk.shape[1:3] != (size, size):
                chunk = ops.image.resize(chunk, (size, size), interpolation="bilinear", antialias=True)
            out.append(self._predict(ops.convert_to_numpy(chunk))[0])
        return np.concatenate(out) if out else np.zeros((0, len(self.names)), np.float32)

    def save(self, path: str | Path) -> Path:
        """Write the weights and judge.json (configuration + summary) atomically."""
        path = Path(path)
        with atomic_path(path) as tmp:
            self.model.save_weights(tmp)
        payload = {"config": self.config.to_dict(), "training": self.summary}
        atomic_write_text(model_json_path(path), json.dumps(payload, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Judge:
        """Read what `save` wrote; UserError (saying how to train one) when missing or unusable."""
        path = Path(path)
        config_path = model_json_path(path)
        if not path.is_file():
            raise UserError(f"judge weights {path} not found: {TRAIN_HINT}")
        try:
            payload = json.loads(config_path.read_text())
            config = JudgeConfig.from_dict(payload["config"])
        except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise UserError(f"{config_path} is missing or not a judge configuration: it travels with {path}; "
                            f"{TRAIN_HINT}") from None
        model = build_judge(config)
        load_weights_checked(model, path)
        return cls(model, config, payload.get("training", {}))


def largest_side_effect(before: np.ndarray, after: np.ndarray, moved: int, skip: Iterable[int] = (),
                        threshold: float = SIDE_EFFECT) -> tuple[int, float] | None:
    """(index, change) of the attribute whose probability moved most from `before` to `after` (both (A,), NaN where
    not judged), leaving out `moved` and `skip`; None when no change reaches `threshold`."""
    change = np.asarray(after, np.float64) - np.asarray(before, np.float64)
    candidates = np.abs(change)
    candidates[[moved, *skip]] = np.nan
    if np.isnan(candidates).all():
        return None
    index = int(np.nanargmax(candidates))
    return (index, float(change[index])) if candidates[index] >= threshold else None


def soften(image):
    """One face (S, S, 3) in [0, 1] as it is, Gaussian-blurred, or shrunk and enlarged back (a third each)."""
    import tensorflow as tf

    size = tf.shape(image)[0]

    def blurred():
        sigma = tf.random.uniform((), *BLUR_SIGMA)
        taps = tf.exp(-0.5 * (tf.range(-4.0, 5.0) / sigma) ** 2)
        taps = tf.tile((taps / tf.reduce_sum(taps))[:, None, None, None], [1, 1, 3, 1])
        padded = tf.pad(image[None], [[0, 0], [4, 4], [4, 4], [0, 0]], mode="REFLECT")
        rows = tf.nn.depthwise_conv2d(padded, tf.reshape(taps, (9, 1, 3, 1)), [1, 1, 1, 1], "VALID")
        return tf.nn.depthwise_conv2d(rows, tf.reshape(taps, (1, 9, 3, 1)), [1, 1, 1, 1], "VALID")[0]

    def shrunk():
        side = tf.cast(tf.cast(size, tf.float32) * tf.random.uniform((), *SHRINK), tf.int32)
        small = tf.image.resize(image, (side, side), antialias=True)
        return tf.image.resize(small, (size, size), method="bilinear")

    choice = tf.random.uniform((), 0, 3, dtype=tf.int32)
    softened = tf.switch_case(choice, [lambda: image, blurred, shrunk])
    return tf.clip_by_value(tf.ensure_shape(softened, image.shape), 0.0, 1.0)


def judge_dataset(paths: Sequence[Path], targets: np.ndarray, config: JudgeConfig, batch_size: int, *, train: bool,
                  cache_dir: str | os.PathLike | None, report: SkipReport, seed: int = 0):
    """tf.data of (images (B, S, S, 3) float32 in [0, 1], targets (B, A) float32 of 0 / 1); returns (dataset, n).

    Decoded with the data helpers at the judge's size and crop (unreadable files skipped into `report`), cached on
    disk (`judge-` + the image cache key); with `train`: shuffled, flipped and `soften`ed, full batches only.
    """
    import tensorflow as tf

    def augment(image, target):
        image = tf.image.random_flip_left_right(tf.cast(image, tf.float32) / 255.0)
        return soften(image), target

    def to_float_batch(images, target):
        return tf.cast(images, tf.float32) / 255.0, target

    ds, n_images = decoded_images(paths, config.image_size, config.crop, report, cache_dir, targets, cache_name="judge")
    if n_images < (batch_size if train else 1):
        raise UserError(f"{n_images} readable labelled image(s) is fewer than one batch of {batch_size}")
    if train:
        ds = ds.shuffle(min(n_images, 20_000), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size, drop_remainder=True)
    else:
        ds = ds.batch(batch_size).map(to_float_batch)
    return ds.prefetch(tf.data.AUTOTUNE), n_images


def train_judge(config: JudgeConfig, train: tuple[Sequence[Path], np.ndarray], val: tuple[Sequence[Path], np.ndarray],
                epochs: int, batch_size: int = 64, learning_rate: float = 2e-3,
                cache_dir: str | os.PathLike | None = None, verbose: int = 2) -> tuple[Judge, dict]:
    """Fit a new judge on (paths, targets (N, A) of 0 / 1): Adam, cosine decay, binary cross-entropy.

    Returns (judge, summary with images, epochs, seconds and the per-epoch losses).
    """
    report = SkipReport()
    train_ds, n_train = judge_dataset(*train, config, batch_size, train=True, cache_dir=cache_dir, report=report)
    val_ds, n_val = judge_dataset(*val, config, batch_size, train=False, cache_dir=cache_dir, report=report)
    report.warn()
    model = build_judge(config)
    steps = max(1, epochs * (n_train // batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule), loss="binary_crossentropy", jit_compile=True)
    started = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, shuffle=False, verbose=verbose).history
    summary = {
        "train_images": n_train, "val_images": n_val, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "seconds": round(time.perf_counter() - started, 1),
        "train_loss": [round(float(v), 4) for v in history["loss"]],
        "val_loss": [round(float(v), 4) for v in history["val_loss"]],
    }
    inference_copy = build_judge(config)  # without the optimizer's state, which would triple the file
    inference_copy.set_weights(model.get_weights())
    return Judge(inference_copy, config, summary), summary


def label_rows(paths: Iterable[Path], labels: dict[str, np.ndarray], n_attributes: int) -> np.ndarray:
    """Labels (N, A) int8 of +1 / -1 for each path's file stem; 0 (unknown) where the label file lacks it."""
    unknown = np.zeros(n_attributes, np.int8)
    return np.array([labels.get(Path(p).stem, unknown) for p in paths], np.int8).reshape(-1, n_attributes)


def photo_and_reconstruction_auc(judge: Judge, codec, paths: Sequence[Path], labels: dict[str, np.ndarray],
                                 crop: str, report: SkipReport | None = None) -> dict:
    """The judge's ROC AUC per attribute on photos (at the VAE's size and crop) and on their reconstructions.

    Returns {"n_images", "photos": (A,), "reconstructions": (A,)} (NaN where one class is absent).
    """
    kept, photo_probabilities, reconstruction_probabilities = [], [], []
    for batch_paths, images in iter_batches(paths, codec.image_size, crop, batch_size=64, report=report):
        kept.extend(batch_paths)
        photo_probabilities.append(judge.probabilities(images))
        reconstruction_probabilities.append(judge.probabilities(codec.reconstruct(images)))
    if not kept:
        raise UserError(f"none of the {len(paths)} validation image(s) could be read")
    rows = label_rows(kept, labels, len(judge.names))
    return {"n_images": len(kept),
            "photos": auc_per_attribute(np.concatenate(photo_probabilities), rows),
            "reconstructions": auc_per_attribute(np.concatenate(reconstruction_probabilities), rows)}


def edit_effects(judge: Judge, codec, directions: AttributeDirections, z: np.ndarray, hold: Sequence[str] = (),
                 amount: float = EDIT_AMOUNT, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """What the judge sees change when each face of z (N, D) moves from -amount to +amount along each direction.

    One row per direction: `effect`, the mean change of its own attribute's probability (p(+) - p(-), in [-1, 1]);
    `identity_leakage`, the mean absolute change of IDENTITY_ATTRIBUTES' probabilities (the edited one left out,
    None when none is judged); `leakage`, {other attribute: mean absolute change}, largest first (`top_leaks`: 3).
    """
    missing = [name for name in directions.names if name not in judge.names]
    if missing:
        raise UserError(f"the judge has no output for {', '.join(missing[:5])}: train it on the directions' labels")
    for name in hold:
        directions.index(name)
    columns = [judge.names.index(name) for name in directions.names]
    z = np.asarray(z, np.float32)
    rows = []
    for index, name in enumerate(directions.names):
        moved = directions.edit(z, name, np.array([-amount, amount], np.float32), hold)
        p = judge.probabilities(codec.decode(moved.reshape(-1, z.shape[1])))[:, columns].reshape(2, len(z), -1)
        change = np.abs(p[1] - p[0]).mean(axis=0)
        identity = [directions.names.index(n) for n in IDENTITY_ATTRIBUTES if n in directions.names and n != name]
        leakage = {directions.names[i]: round(float(change[i]), 4)
                   for i in np.argsort(-change, kind="stable") if i != index}
        rows.append({
            "attribute": name, "effect": round(float((p[1, :, index] - p[0, :, index]).mean()), 4),
            "identity_leakage": round(float(change[identity].mean()), 4) if identity else None,
            "top_leaks": list(leakage)[:3], "leakage": leakage,
        })
        if progress:
            progress(index + 1, len(directions.names))
    return rows
