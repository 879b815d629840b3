"""Training wiring around `VAE.fit`: datasets, callbacks, checkpoints, resume, the training summary.

Files of a run named NAME, under runs/NAME/: log.csv, tensorboard/, samples/epoch_NNN.png,
reconstructions/epoch_NNN.png, loss.png, checkpoint.weights.h5 (weights + optimizer state) and
state.json (epochs done, steps into the next, images seen); runs/.cache holds the preprocessed images. The weights users load are written to `out` (no optimizer
state) with their model.json after every epoch, atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from latentlab import data as data_lib
from latentlab.config import PROJECT_ROOT, ModelConfig, load_model_json, model_json_path, save_model_json
from latentlab.files import atomic_write_text
from latentlab.errors import UserError
from latentlab.imaging import comparison_grid, make_grid, save_loss_plot, save_png
from latentlab.metrics import mse_per_image, psnr
from latentlab.model import VAE, build_vae, load_weights_checked, save_checkpoint_atomic, save_weights_atomic

RUNS_DIR = PROJECT_ROOT / "runs"
VAL_PREVIEW = 16
VAL_METRIC_IMAGES = 512


@dataclass
class TrainOptions:
    data: Path
    out: Path
    epochs: int = 10
    name: str | None = None
    resume: bool = False
    init_from: Path | None = None
    strategy: str = "default"
    cache: bool = True
    lr_schedule: str = "cosine"
    lr_warmup_steps: int | None = None
    limit: int | None = None
    verbose: int = 1
    runs_dir: Path = RUNS_DIR

    @property
    def run_name(self) -> str:
        return self.name or f"{self.data.name}-{self.out.name.removesuffix('.weights.h5')}"


class ArrayBatches(keras.utils.PyDataset):
    """Shuffled, optionally flipped float32 batches from an in-memory uint8 array (any backend)."""

    def __init__(self, images: np.ndarray, batch_size: int, shuffle: bool, flip: bool, seed: int = 0):
        super().__init__(workers=1, use_multiprocessing=False)
        self.images, self.batch_size, self.shuffle, self.flip = images, batch_size, shuffle, flip
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(images))
        self.on_epoch_end()

    def __len__(self):
        if self.shuffle:
            return max(1, len(self.images) // self.batch_size)
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        batch = self.images[rows].astype(np.float32) / 255.0
        if self.flip:
            flips = self.rng.random(len(batch)) < 0.5
            batch[flips] = batch[flips, :, ::-1]
        return batch

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)


class EpochArtifacts(keras.callbacks.Callback):
    """Counts the epoch and step reached; after each epoch writes validation MSE/PSNR (from z_mean),
    sample and reconstruction grids, the user-facing weights + model.json, and the resumable checkpoint."""

    def __init__(self, options: TrainOptions, run_dir: Path, val_images: np.ndarray, summary: dict):
        super().__init__()
        self.options, self.run_dir, self.val_images, self.summary = options, run_dir, val_images, summary
        self.fixed_z = None
        self.epoch, self.step, self.steps_done = summary["initial_epoch"], 0, 0

    @property
    def images_seen(self) -> int:
        return self.summary["images_seen_before"] + self.steps_done * self.summary["batch_size"]

    def on_train_begin(self, logs=None):
        latent_dim = self.model.config.latent_dim
        self.fixed_z = np.random.default_rng(0).standard_normal((32, latent_dim)).astype(np.float32)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.step = epoch, self.summary.pop("resume_step", 0)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.steps_done += 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        losses = [logs.get(k) for k in ("loss", "val_loss")]
        if any(v is None or not math.isfinite(v) for v in losses):
            return  # NanGuard reports it; the last good files stay as they are
        vae: VAE = self.model
        originals = self.val_images[:VAL_METRIC_IMAGES].astype(np.float32) / 255.0
        reconstructions = np.concatenate([
            np.asarray(vae.decoder(vae.encoder(originals[s : s + 64], training=False)[0], training=False))
            for s in range(0, len(originals), 64)
        ])
        mse = mse_per_image(originals, reconstructions)
        samples = np.asarray(vae.decoder(self.fixed_z, training=False))
        tag = f"epoch_{epoch + 1:03d}.png"
        save_png(self.run_dir / "samples" / tag, make_grid(samples, cols=8))
        save_png(self.run_dir / "reconstructions" / tag,
                 comparison_grid(originals[:VAL_PREVIEW], reconstructions[:VAL_PREVIEW]))
        self.summary.update({
            "epochs": epoch + 1,
            "images_seen": self.images_seen,
            "train_loss": round(float(logs["loss"]), 3),
            "val_loss": round(float(logs["val_loss"]), 3),
            "train_reconstruction": round(float(logs.get("reconstruction", float("nan"))), 3),
            "train_kl": round(float(logs.get("kl", float("nan"))), 3),
            "val_mse": round(float(mse.mean()), 6),
            "val_psnr": round(float(psnr(mse).mean()), 3),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        })
        save_weights_atomic(vae, self.options.out)
        save_model_json(model_json_path(self.options.out), vae.config, public_summary(self.summary))
        save_checkpoint_atomic(vae, self.run_dir / "checkpoint.weights.h5")
        write_state(self.run_dir, epoch + 1, 0, self.summary)
        if self.options.verbose:
            print(f"epoch {epoch + 1}: val PSNR {self.summary['val_psnr']:.2f} dB, weights saved to {self.options.out}")


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss; the files of the last good epoch stay untouched."""

    def __init__(self):
        super().__init__()
        self.stopped_at: tuple[int, int] | None = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stopped_at = (self.epoch + 1, batch + 1)
            self.model.stop_training = True


def write_state(run_dir: Path, epoch: int, step: int, summary: dict) -> None:
    """state.json: where --resume continues (epochs completed, steps into the next one) and what was seen."""
    state = {"epoch": epoch, "step": step, "images_seen": summary["images_seen"], "config": summary["config"],
             "summary": public_summary(summary)}
    atomic_write_text(run_dir / "state.json", json.dumps(state, indent=2) + "\n")


def sync_training_state(vae: VAE) -> None:
    """Write the live training state back into the variables after an interrupted fit.

    The JAX backend keeps it outside the variables during an epoch; TensorFlow updates them in place.
    """
    if getattr(vae, "_jax_state", None) is not None:
        vae.jax_state_sync()


def public_summary(summary: dict) -> dict:
    """The training summary stored in model.json (bookkeeping keys removed)."""
    hidden = {"images_seen_before", "initial_epoch", "config", "resume_step"}
    return {k: v for k, v in summary.items() if k not in hidden}


def distribution_strategy(name: str):
    """A tf.distribute strategy scope for 'mirrored' / 'multiworker', or a null context."""
    if name == "default":
        return contextlib.nullcontext()
    if keras.backend.backend() != "tensorflow":
        raise UserError(f"--strategy {name} needs the TensorFlow backend (KERAS_BACKEND=tensorflow)")
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy().scope()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy().scope()
    raise UserError(f"unknown strategy {name!r}: use default, mirrored or multiworker")


def datasets(config: ModelConfig, options: TrainOptions, load_crop: str, report: data_lib.SkipReport):
    """(train dataset, validation dataset, validation preview uint8 array, n_train, n_val)."""
    paths = data_lib.find_images(options.data)
    if options.limit:
        paths = paths[: options.limit]
    train_paths, val_paths = data_lib.split_paths(paths, options.data)
    if not train_paths or not val_paths:
        raise UserError(f"{options.data} holds {len(paths)} image(s): training needs at least 2 (train + validation)")
    _, val_preview = data_lib.load_array(val_paths[:VAL_METRIC_IMAGES], config.image_size, load_crop, report)
    size, batch = config.image_size, config.batch_size
    if keras.backend.backend() == "tensorflow":
        cache_dir = options.runs_dir / ".cache" if options.cache else None
        train, n_train = data_lib.tf_dataset(train_paths, size, load_crop, batch, shuffle=True, flip=True,
                                             cache_dir=cache_dir, report=report)
        val, n_val = data_lib.tf_dataset(val_paths, size, load_crop, batch, shuffle=False, flip=False,
                                         cache_dir=cache_dir, report=report)
    else:
        _, train_images = data_lib.load_array(train_paths, size, load_crop, report)
        _, val_images = data_lib.load_array(val_paths, size, load_crop, report)
        train = ArrayBatches(train_images, batch, shuffle=True, flip=True)
        val = ArrayBatches(val_images, batch, shuffle=False, flip=False)
        n_train, n_val = len(train_images), len(val_images)
    if n_train < batch:
        raise UserError(f"{n_train} readable training images is fewer than one batch of {batch}: lower --batch-size")
    return train, val, val_preview, n_train, n_val


def learning_rate_schedule(config: ModelConfig, options: TrainOptions, steps_per_epoch: int):
    """A linear warm-up from 0 to config.learning_rate over options.lr_warmup_steps (default: a tenth
    of the run, at most 1,000 steps), then the rate held ("constant") or cosine-decayed to 5 % by the
    run's last step. Without BatchNorm, Adam's first full-size steps can kill a fresh model (the
    decoder settles on the mean image) or knock a trained one off its minimum: the warm-up prevents both."""
    total_steps = max(2, options.epochs * steps_per_epoch)
    warmup = options.lr_warmup_steps
    if warmup is None:
        warmup = min(1000, total_steps // 10)
    warmup = min(warmup, total_steps - 1)
    alpha = 0.05 if options.lr_schedule == "cosine" else 1.0
    if not warmup:
        return config.learning_rate if alpha == 1.0 else keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=total_steps, alpha=alpha)
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=total_steps - warmup, alpha=alpha,
                                                  warmup_target=config.learning_rate, warmup_steps=warmup)


def compile_for_training(model: keras.Model, learning_rate, strategy: str = "default") -> None:
    """Adam with gradient clipping, XLA-compiled (Keras leaves XLA off on CPU by default; it is
    4-11 % faster here), except under a tf.distribute strategy, which XLA does not support."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=100.0),
                  jit_compile=strategy == "default")


def train(config: ModelConfig, options: TrainOptions) -> dict:
    """Train (or resume) and return the training summary written to model.json."""
    run_dir = options.runs_dir / options.run_name
    state_path = run_dir / "state.json"
    initial_epoch, resume_step, images_seen_before = 0, 0, 0
    if options.resume:
        if not state_path.is_file():
            raise UserError(f"nothing to resume: {state_path} not found (run without --resume to start)")
        state = json.loads(state_path.read_text())
        config = ModelConfig.from_dict(state["config"])
        initial_epoch, resume_step, images_seen_before = state["epoch"], state.get("step", 0), state["images_seen"]
        if initial_epoch >= options.epochs:
            raise UserError(f"run {options.run_name} already finished {initial_epoch} epochs: raise --epochs to continue")
    elif options.init_from:
        _, init_summary = load_model_json(model_json_path(options.init_from))
        images_seen_before = int(init_summary.get("images_seen", 0))

    prepared = data_lib.prepared_crop(options.data)
    if prepared:
        config = config.replace(crop=prepared)
    report = data_lib.SkipReport()
    train_ds, val_ds, val_preview, n_train, n_val = datasets(config, options, "none" if prepared else config.crop, report)
    steps_per_epoch = n_train // config.batch_size
    run_dir.mkdir(parents=True, exist_ok=True)

    with distribution_strategy(options.strategy):
        vae = build_vae(config)
        compile_for_training(vae, learning_rate_schedule(config, options, steps_per_epoch), options.strategy)
        vae.optimizer.build(vae.trainable_variables)
        if options.resume:
            load_weights_checked(vae, run_dir / "checkpoint.weights.h5")
        elif options.init_from:
            load_weights_checked(vae, options.init_from)

    summary = {
        "dataset": str(options.data), "train_images": n_train, "val_images": n_val,
        "crop": config.crop, "backend": keras.backend.backend(),
        "images_seen": images_seen_before, "images_seen_before": images_seen_before,
        "initial_epoch": initial_epoch, "batch_size": config.batch_size, "config": config.to_dict(),
    }
    if options.init_from:
        summary["init_from"] = str(options.init_from)
    if resume_step >= steps_per_epoch:
        initial_epoch, resume_step = initial_epoch + 1, 0
    summary["resume_step"] = resume_step
    nan_guard = NanGuard()
    artifacts = EpochArtifacts(options, run_dir, val_preview, summary)
    callbacks = [
        nan_guard,
        keras.callbacks.CSVLogger(str(run_dir / "log.csv"), append=options.resume),
        artifacts,
    ]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), update_freq="epoch"))
    if options.verbose:
        print(f"training on {n_train} images ({n_val} for validation) at {config.image_size} px, "
              f"latent {config.latent_dim}, run {run_dir}")
    fit_args = dict(validation_data=val_ds, callbacks=callbacks, verbose=options.verbose, shuffle=False)
    try:
        if resume_step:
            print(f"resuming epoch {initial_epoch + 1} at step {resume_step + 1} of {steps_per_epoch}")
            vae.fit(train_ds, epochs=initial_epoch + 1, initial_epoch=initial_epoch,
                    steps_per_epoch=steps_per_epoch - resume_step, **fit_args)
            initial_epoch += 1
        if initial_epoch < options.epochs and not nan_guard.stopped_at:
            vae.fit(train_ds, epochs=options.epochs, initial_epoch=initial_epoch, **fit_args)
    except KeyboardInterrupt:
        sync_training_state(vae)
        save_checkpoint_atomic(vae, run_dir / "checkpoint.weights.h5")
        summary["images_seen"] = artifacts.images_seen
        write_state(run_dir, artifacts.epoch, artifacts.step, summary)
        print(f"\ninterrupted at epoch {artifacts.epoch + 1}, step {artifacts.step}: checkpoint saved; "
              f"continue with the same command plus --resume (run {options.run_name})")
    report.warn()
    if nan_guard.stopped_at:
        epoch, step = nan_guard.stopped_at
        print(f"loss became NaN at epoch {epoch}, step {step}: training stopped; {options.out} keeps the last good weights")
    if (run_dir / "log.csv").is_file() and (run_dir / "log.csv").stat().st_size:
        save_loss_plot(run_dir / "log.csv", run_dir / "loss.png")
    summary["skipped"] = len(report)
    return public_summary(summary)
