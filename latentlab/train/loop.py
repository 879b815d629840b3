"""Training wiring around `VAE.fit`: datasets, callbacks, checkpoints, resume, the training summary.

Files of a run named NAME, under runs/NAME/: log.csv, tensorboard/, samples/epoch_NNN.png,
reconstructions/epoch_NNN.png, loss.png, checkpoint.weights.h5 (weights + optimizer state) and
state.json (epochs done, steps into the next, images seen); runs/.cache holds the preprocessed images. The weights
users load are written to `out` (no optimizer state) with their model.json after every epoch, atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from latentlab import images as data_lib
from latentlab.errors import UserError
from latentlab.eval.metrics import mse_per_image, psnr
from latentlab.files import atomic_write_text
from latentlab.model.codec import Codec
from latentlab.model.config import ModelConfig, load_model_json, save_model_json
from latentlab.model.vae import VAE, build_vae
from latentlab.model.weights import (
    load_vae,
    load_weights_checked,
    save_checkpoint_atomic,
    save_weights_atomic,
    transfer_weights,
)
from latentlab.paths import RUNS_DIR, model_json_path
from latentlab.pictures import comparison_grid, make_grid, save_loss_plot, save_png, to_float
from latentlab.train.dataset import tf_dataset
from latentlab.train.distributed import Worker, lost_worker_error, lost_worker_errors, shard_by_data
from latentlab.train.terms import build_terms

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
    strategy: Any = None  # a tf.distribute.Strategy from distributed.start_strategy, or None
    worker: Worker = field(default_factory=Worker)
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

    def __init__(self, files: RunFiles, start: RunStart, val_images: np.ndarray, summary: dict):
        super().__init__()
        self.files, self.start, self.val_images, self.summary = files, start, val_images, summary
        self.fixed_z, self.codec = None, None
        self.epoch, self.step, self.steps_done = start.epoch, start.step, 0

    @property
    def images_seen(self) -> int:
        return self.start.images_seen + self.steps_done * self.start.config.batch_size

    def on_train_begin(self, logs=None):
        self.codec = Codec(self.model, refine_steps=0)  # the networks as trained, on any backend
        self.fixed_z = np.random.default_rng(0).standard_normal((32, self.codec.latent_dim)).astype(np.float32)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.step = epoch, self.start.step if epoch == self.start.epoch else 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.steps_done += 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch, self.step = epoch + 1, 0
        losses = [logs.get(k) for k in ("loss", "val_loss")]
        if any(v is None or not math.isfinite(v) for v in losses):
            return  # NanGuard reports it; the last good files stay as they are
        originals = to_float(self.val_images[:VAL_METRIC_IMAGES])
        reconstructions = self.codec.reconstruct(originals)
        mse = mse_per_image(originals, reconstructions)
        tag = f"epoch_{epoch + 1:03d}.png"
        save_png(self.files.logs_dir / "samples" / tag, make_grid(self.codec.decode(self.fixed_z), cols=8))
        save_png(self.files.logs_dir / "reconstructions" / tag,
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
        save_weights_atomic(self.model, self.files.out)
        save_model_json(model_json_path(self.files.out), self.start.config, self.summary)
        self.files.save_state(self.model, self.start.config, self.epoch, 0, self.summary)
        if self.params.get("verbose") and self.files.chief:
            print(f"epoch {epoch + 1}: val PSNR {self.summary['val_psnr']:.2f} dB, weights saved to {self.files.out}")


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


@dataclass
class RunStart:
    """Where training starts: its config, the epochs already done, the steps already done of the next epoch,
    and the images the starting weights have seen."""

    config: ModelConfig
    epoch: int = 0
    step: int = 0
    images_seen: int = 0


def run_start(config: ModelConfig, options: TrainOptions, state_path: Path) -> RunStart:
    """A fresh start, a start from --init-from weights, or the place --resume continues from (state.json)."""
    if options.resume:
        if not state_path.is_file():
            raise UserError(f"nothing to resume: {state_path} not found (run without --resume to start)")
        state = json.loads(state_path.read_text())
        start = RunStart(ModelConfig.from_dict(state["config"]), state["epoch"], state.get("step", 0),
                         state["images_seen"])
        if start.epoch >= options.epochs:
            raise UserError(f"run {options.run_name} already finished {start.epoch} epochs: raise --epochs to continue")
        return start
    if options.init_from:
        _, init_summary = load_model_json(model_json_path(options.init_from))
        return RunStart(config, images_seen=int(init_summary.get("images_seen", 0)))
    return RunStart(config)


@dataclass
class RunFiles:
    """Where one worker writes. `state_dir`: its resumable checkpoint and state.json; `logs_dir`: log.csv,
    TensorBoard, the sample and reconstruction grids, loss.png; `out`: the weights users load, with model.json.
    Only the chief writes user-facing files where users look: the other workers keep their state in
    runs/NAME/worker-N and write the rest to a temporary folder that is removed at the end."""

    state_dir: Path
    logs_dir: Path
    out: Path
    chief: bool = True

    @classmethod
    def for_worker(cls, options: TrainOptions, stack: contextlib.ExitStack) -> RunFiles:
        run_dir = options.runs_dir / options.run_name
        if options.worker.chief:
            return cls(run_dir, run_dir, options.out)
        prefix = f"latentlab-worker{options.worker.index}-"
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        return cls(run_dir / f"worker-{options.worker.index}", scratch, scratch / options.out.name, chief=False)

    @property
    def checkpoint(self) -> Path:
        return self.state_dir / "checkpoint.weights.h5"

    @property
    def state(self) -> Path:
        return self.state_dir / "state.json"

    def save_state(self, vae: VAE, config: ModelConfig, epoch: int, step: int, summary: dict) -> None:
        """The checkpoint (weights + optimizer state) and state.json: where --resume continues."""
        save_checkpoint_atomic(vae, self.checkpoint)
        state = {"epoch": epoch, "step": step, "images_seen": summary["images_seen"], "config": config.to_dict(),
                 "summary": summary}
        atomic_write_text(self.state, json.dumps(state, indent=2) + "\n")


def sync_training_state(vae: VAE) -> None:
    """Write the live training state back into the variables after an interrupted fit.

    The JAX backend keeps it outside the variables during an epoch; TensorFlow updates them in place.
    """
    if getattr(vae, "_jax_state", None) is not None:
        vae.jax_state_sync()


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
        if cache_dir and options.worker.count > 1:
            cache_dir = cache_dir / f"worker-{options.worker.index}"  # workers sharing a disk must not share a cache
        train, n_train = tf_dataset(train_paths, size, load_crop, batch, shuffle=True, flip=True,
                                             cache_dir=cache_dir, report=report)
        if options.worker.count > 1:  # replicas split every batch: each must get an equal share, the last one too
            replicas = options.strategy.num_replicas_in_sync
            val_batch = min(batch, len(val_paths)) // replicas * replicas
            if not val_batch:
                raise UserError(f"{len(val_paths)} validation image(s) cannot be shared by {replicas} replicas")
            val, n_val = tf_dataset(val_paths, size, load_crop, val_batch, shuffle=False, flip=False,
                                             cache_dir=cache_dir, report=report, full_batches=True)
            train, val = shard_by_data(train), shard_by_data(val)
        else:
            val, n_val = tf_dataset(val_paths, size, load_crop, batch, shuffle=False, flip=False,
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


def compile_for_training(model: keras.Model, learning_rate, distributed: bool = False) -> None:
    """Adam with gradient clipping, XLA-compiled (Keras leaves XLA off on CPU by default; it is
    4-11 % faster here), except under a tf.distribute strategy, which XLA does not support."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=100.0), jit_compile=not distributed)


def build_for_training(start: RunStart, options: TrainOptions, files: RunFiles, steps_per_epoch: int) -> VAE:
    """The VAE with its loss terms, compiled, its optimizer built, with the weights it starts from (under the
    strategy, if any)."""
    scope = options.strategy.scope() if options.strategy else contextlib.nullcontext()
    with scope:
        vae = build_vae(start.config, build_terms(start.config))
        vae.encoder.trainable = not start.config.freeze_encoder
        learning_rate = learning_rate_schedule(start.config, options, steps_per_epoch)
        compile_for_training(vae, learning_rate, bool(options.strategy))
        vae.optimizer.build(vae.trainable_variables)
        if options.resume:
            load_weights_checked(vae, files.checkpoint)
        elif options.init_from:
            start_from(vae, options.init_from)
    return vae


def start_from(vae: VAE, weights_path: Path) -> None:
    """Copy every layer `vae` shares with the model at `weights_path` into it (`transfer_weights`: all of them when
    the architectures agree) and say which start as initialised (residual blocks added, say)."""
    new_layers = transfer_weights(load_vae(weights_path)[0], vae)
    if new_layers:
        print(f"--init-from {weights_path}: {len(new_layers)} layer(s) not in it start as initialised "
              f"({', '.join(new_layers)})", flush=True)


def fit(vae: VAE, train_ds, start: RunStart, options: TrainOptions, steps_per_epoch: int, stop, **fit_args) -> None:
    """The rest of a started epoch (when resuming mid-epoch), then the remaining epochs; `stop()` is true after a
    NaN."""
    epoch = start.epoch
    if start.step:
        print(f"resuming epoch {epoch + 1} at step {start.step + 1} of {steps_per_epoch}")
        vae.fit(train_ds, epochs=epoch + 1, initial_epoch=epoch, steps_per_epoch=steps_per_epoch - start.step,
                **fit_args)
        epoch += 1
    if epoch < options.epochs and not stop():
        vae.fit(train_ds, epochs=options.epochs, initial_epoch=epoch, **fit_args)


def train(config: ModelConfig, options: TrainOptions) -> dict:
    """Train (or resume) and return the training summary written to model.json."""
    with contextlib.ExitStack() as stack:
        files = RunFiles.for_worker(options, stack)
        return _train(config, options, files)


def _train(config: ModelConfig, options: TrainOptions, files: RunFiles) -> dict:
    start = run_start(config, options, files.state)
    prepared = data_lib.prepared_crop(options.data)
    if prepared:
        start.config = start.config.replace(crop=prepared)
    config = start.config
    replicas = options.strategy.num_replicas_in_sync if options.strategy else 1
    if config.batch_size % replicas:
        raise UserError(f"--batch-size {config.batch_size} (the global batch) must be a multiple of the "
                        f"{replicas} replicas training in sync")
    report = data_lib.SkipReport()
    load_crop = "none" if prepared else config.crop
    train_ds, val_ds, val_preview, n_train, n_val = datasets(config, options, load_crop, report)
    steps_per_epoch = n_train // config.batch_size
    if start.step >= steps_per_epoch:
        start.epoch, start.step = start.epoch + 1, 0
    for folder in (files.state_dir, files.logs_dir):
        folder.mkdir(parents=True, exist_ok=True)
    vae = build_for_training(start, options, files, steps_per_epoch)

    summary = {"dataset": str(options.data), "train_images": n_train, "val_images": n_val, "crop": config.crop,
               "backend": keras.backend.backend(), "images_seen": start.images_seen, "batch_size": config.batch_size}
    if options.init_from:
        summary["init_from"] = str(options.init_from)
    if replicas > 1:
        summary.update(replicas=replicas, workers=options.worker.count)
    nan_guard = NanGuard()
    artifacts = EpochArtifacts(files, start, val_preview, summary)
    csv_log = keras.callbacks.CSVLogger(str(files.logs_dir / "log.csv"), append=options.resume)
    callbacks = [nan_guard, csv_log, artifacts]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(files.logs_dir / "tensorboard"), update_freq="epoch"))
    verbose = options.verbose if files.chief else 0
    if verbose:
        print(f"training on {n_train} images ({n_val} for validation) at {config.image_size} px, "
              f"latent {config.latent_dim}, batch {config.batch_size} over {replicas} replica(s), "
              f"run {files.state_dir}")
    try:
        fit(vae, train_ds, start, options, steps_per_epoch, lambda: nan_guard.stopped_at, validation_data=val_ds,
            callbacks=callbacks, verbose=verbose, shuffle=False)
    except lost_worker_errors(options.worker) as exc:
        raise lost_worker_error(exc, options.worker) from None
    except KeyboardInterrupt:
        interrupted(vae, files, start, artifacts, options)
    report.warn()
    if nan_guard.stopped_at:
        epoch, step = nan_guard.stopped_at
        print(f"loss became NaN at epoch {epoch}, step {step}: training stopped; {options.out} keeps the last good "
              "weights")
    log = files.logs_dir / "log.csv"
    if files.chief and log.is_file() and log.stat().st_size:
        save_loss_plot(log, files.logs_dir / "loss.png")
    summary["skipped"] = len(report)
    return summary


def interrupted(vae: VAE, files: RunFiles, start: RunStart, artifacts: EpochArtifacts, options: TrainOptions) -> None:
    """Ctrl-C: save where training stood. Several workers keep the end of the last epoch instead (all of them have
    its checkpoint, while the step each one reached mid-epoch can differ)."""
    if options.worker.count > 1:
        print(f"\ninterrupted in epoch {artifacts.epoch + 1}: --resume continues every worker from the end of epoch "
              f"{artifacts.epoch} (run {options.run_name})")
        return
    sync_training_state(vae)
    artifacts.summary["images_seen"] = artifacts.images_seen
    files.save_state(vae, start.config, artifacts.epoch, artifacts.step, artifacts.summary)
    print(f"\ninterrupted at epoch {artifacts.epoch + 1}, step {artifacts.step}: checkpoint saved; "
          f"continue with the same command plus --resume (run {options.run_name})")
