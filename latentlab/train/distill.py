"""Moving a trained VAE to a new architecture without losing its latent space.

`model.weights.transfer_weights` copies every layer the two models share (same name, same shapes), folding the
source's BatchNormalization into the convolution before it when the target has none. `distill` then trains the
rest: the student encoder learns to reproduce the teacher's (z_mean, z_log_var) (unless it was copied whole: then
it is the teacher's and stays so) and the student decoder, from the teacher's sampled latents, to reconstruct the
images. The result is a VAE of the new architecture whose latents mean what the teacher's meant (attribute
directions and indexes keep their sense); `train --init-from` fine-tunes it end to end. The shipped model was made
so (its run 2 moved the first architecture's teacher into the current one).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from latentlab import images as data_lib
from latentlab.errors import UserError
from latentlab.eval.metrics import mse_per_image, psnr
from latentlab.model.codec import Codec
from latentlab.model.config import ModelConfig, save_model_json
from latentlab.model.vae import VAE, Sampling, build_vae, reconstruction_loss
from latentlab.model.weights import load_vae, save_weights_atomic, transfer_weights
from latentlab.paths import model_json_path
from latentlab.pictures import to_float
from latentlab.train.loop import TrainOptions, compile_for_training, datasets, learning_rate_schedule


class Distiller(keras.Model):
    """Trains a student VAE from a frozen teacher VAE. Input: images (N, S, S, C) in [0, 1].

    Loss = the student decoder's error (the student's loss kind) on the images, from the teacher's sampled latents,
    + when `train_encoder`, the squared distance between the student's and the teacher's (z_mean, z_log_var), summed
    over latent dimensions. The two terms train disjoint weights (decoder, encoder)."""

    def __init__(self, teacher: VAE, student: VAE, train_encoder: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.teacher = teacher
        self.teacher.trainable = False
        self.student = student
        self.student.encoder.trainable = train_encoder
        self.train_encoder = train_encoder
        self.sampling = Sampling(name="teacher_sampling")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.latent_tracker = keras.metrics.Mean(name="latent")

    @property
    def metrics(self):
        return [self.reconstruction_tracker, self.latent_tracker]

    def call(self, images, training=False):
        teacher_mean, teacher_log_var = self.teacher.encoder(images, training=False)
        z = self.sampling([ops.stop_gradient(teacher_mean), ops.stop_gradient(teacher_log_var)])
        reconstructions = self.student.decoder(z, training=training)
        if not self.train_encoder:
            return reconstructions, ops.zeros(())
        student_mean, student_log_var = self.student.encoder(images, training=training)
        latent = ops.mean(ops.sum(ops.square(student_mean - teacher_mean)
                                  + ops.square(student_log_var - teacher_log_var), axis=1))
        return reconstructions, latent

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstructions, latent = y_pred
        reconstruction = reconstruction_loss(x, reconstructions, self.student.config.loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.latent_tracker.update_state(latent)
        return reconstruction + latent


class SaveStudent(keras.callbacks.Callback):
    """After every epoch: the student's weights and model.json written atomically to `out`."""

    def __init__(self, student: VAE, options: TrainOptions, summary: dict, images_per_epoch: int):
        super().__init__()
        self.student, self.options, self.summary, self.images_per_epoch = student, options, summary, images_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.summary.update(
            distill_epochs=epoch + 1,
            images_seen=self.summary["teacher_images_seen"] + (epoch + 1) * self.images_per_epoch,
            **{f"distill_{k}": round(float(v), 4) for k, v in logs.items() if k != "learning_rate"},
        )
        save_weights_atomic(self.student, self.options.out)
        save_model_json(model_json_path(self.options.out), self.student.config, self.summary)


def val_psnr(vae: VAE, images: np.ndarray) -> float:
    """Mean PSNR (dB) of the encoder's z_mean reconstructions of uint8 images (no refinement: any backend)."""
    return float(np.mean(psnr(mse_per_image(to_float(images), Codec(vae, refine_steps=0).reconstruct(images)))))


def distill(teacher_weights, student_config: ModelConfig, options: TrainOptions) -> dict:
    """Train a `student_config` VAE from the VAE at `teacher_weights` (`Distiller`); writes options.out +
    model.json."""
    teacher, teacher_summary = load_vae(teacher_weights)
    fixed = ("image_size", "channels", "latent_dim")
    if any(getattr(teacher.config, name) != getattr(student_config, name) for name in fixed):
        raise UserError("the student must keep the teacher's image size, channels and latent size "
                        f"({teacher.config.image_size} px, {teacher.config.channels} channels, "
                        f"latent {teacher.config.latent_dim})")
    prepared = data_lib.prepared_crop(options.data)
    if prepared and prepared != teacher.config.crop:
        raise UserError(f"{options.data} was prepared with the {prepared} crop, the teacher uses {teacher.config.crop}")
    student_config = student_config.replace(crop=teacher.config.crop)
    report = data_lib.SkipReport()
    train_ds, val_ds, val_preview, n_train, n_val = datasets(
        student_config, options, "none" if prepared else student_config.crop, report)
    steps_per_epoch = n_train // student_config.batch_size

    student = build_vae(student_config)
    new_layers = transfer_weights(teacher, student)
    train_encoder = bool({layer.name for layer in student.encoder.layers} & set(new_layers))
    distiller = Distiller(teacher, student, train_encoder)
    compile_for_training(distiller, learning_rate_schedule(student_config, options, steps_per_epoch))
    summary = {
        "dataset": str(options.data), "train_images": n_train, "val_images": n_val, "crop": student_config.crop,
        "backend": keras.backend.backend(), "batch_size": student_config.batch_size,
        "distilled_from": str(teacher_weights), "teacher_config": teacher.config.to_dict(),
        "teacher_images_seen": int(teacher_summary.get("images_seen", 0)),
        "images_seen": int(teacher_summary.get("images_seen", 0)),
    }
    if options.verbose:
        print(f"distilling {teacher_weights} into a new model on {n_train} images ({n_val} for validation); "
              f"layers learnt from scratch: {', '.join(new_layers) or 'none'}"
              + ("" if train_encoder else "; the encoder is the teacher's"))
    saver = SaveStudent(student, options, summary, steps_per_epoch * student_config.batch_size)
    try:
        distiller.fit(train_ds, epochs=options.epochs, validation_data=val_ds, callbacks=[saver],
                      verbose=options.verbose, shuffle=False)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {options.out} holds the student after its last finished epoch")
        return summary
    finally:
        report.warn()
    summary["teacher_val_psnr"] = round(val_psnr(teacher, val_preview), 3)
    summary["val_psnr"] = round(val_psnr(student, val_preview), 3)
    save_model_json(model_json_path(options.out), student_config, summary)
    return summary
