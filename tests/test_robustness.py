"""Bad input never crashes and nothing is lost: odd images, huge images, NaN losses, Ctrl-C, failed saves."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from latentlab import images as data
from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.model.config import load_model_json, save_model_json
from latentlab.model.vae import build_vae
from latentlab.model.weights import load_weights_checked, save_weights_atomic
from latentlab.train.loop import NanGuard
from tests.helpers import tiny_config, write_images


def test_la_mode_is_composited_onto_white(tmp_path):
    gray_alpha = np.zeros((4, 4, 2), np.uint8)
    gray_alpha[..., 0] = 50
    gray_alpha[:2, :, 1] = 255
    Image.fromarray(gray_alpha, "LA").save(tmp_path / "la.png")
    image = data.open_image(tmp_path / "la.png")
    assert tuple(image[0, 0]) == (50, 50, 50) and tuple(image[3, 0]) == (255, 255, 255)


def test_cmyk_tiny_and_exif_rotated_images_load(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    cmyk = data.open_image(tmp_path / "cmyk.jpg")
    assert cmyk.shape == (8, 8, 3) and cmyk[0, 0, 0] > 200 and cmyk[0, 0, 1] < 60
    assert data.preprocess(cmyk, 32, "center").shape == (32, 32, 3)

    wide = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = wide.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    wide.save(tmp_path / "rotated.jpg", exif=exif)
    assert data.open_image(tmp_path / "rotated.jpg").shape == (40, 20, 3)


def test_images_over_the_pixel_limit_are_refused(tmp_path, monkeypatch):
    Image.new("RGB", (300, 200)).save(tmp_path / "big.png")
    monkeypatch.setattr(data, "MAX_PIXELS", 10_000)
    with pytest.raises(data.UnreadableImage, match="pixel limit"):
        data.open_image(tmp_path / "big.png")


def test_malformed_model_json_is_one_clear_error(tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(UserError, match="not a valid model.json"):
        load_model_json(tmp_path / "model.json")
    save_model_json(tmp_path / "model.json", tiny_config(), {"epochs": 3})
    config, summary = load_model_json(tmp_path / "model.json")
    assert config == tiny_config() and summary == {"epochs": 3}


def test_truncated_weights_are_reported_as_damaged(tmp_path):
    path = tmp_path / "vae.weights.h5"
    save_weights_atomic(build_vae(tiny_config()), path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(UserError, match="damaged"):
        load_weights_checked(build_vae(tiny_config()), path)


def test_a_failed_save_leaves_the_previous_weights_intact(tmp_path, monkeypatch):
    path = tmp_path / "vae.weights.h5"
    save_weights_atomic(build_vae(tiny_config()), path)
    before = path.read_bytes()

    def disk_full(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save_weights", disk_full)
    with pytest.raises(OSError):
        save_weights_atomic(build_vae(tiny_config()), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vae.weights.h5"], "no temp file is left behind"


def test_nan_guard_stops_training():
    guard = NanGuard()
    guard.set_model(build_vae(tiny_config()))
    guard.model.stop_training = False
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 1.0})
    assert not guard.model.stop_training
    guard.on_train_batch_end(5, {"loss": float("nan")})
    assert guard.model.stop_training and guard.stopped_at == (3, 6)


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_that_resume_continues(tmp_path, image_folder, monkeypatch, capsys):
    class InterruptAtBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    original_fit = keras.Model.fit

    def fit_interrupted(self, *args, callbacks=None, **kwargs):
        return original_fit(self, *args, callbacks=[*callbacks, InterruptAtBatch()], **kwargs)

    args = ["train", "--data", str(image_folder), "--image-size", "32", "--latent-dim", "8", "--widths", "8,16",
            "--batch-size", "8", "--epochs", "2", "--out", str(tmp_path / "vae.weights.h5"),
            "--runs-dir", str(tmp_path / "runs"), "--name", "cc"]
    monkeypatch.setattr(keras.Model, "fit", fit_interrupted)
    assert main(args) == 0
    assert "--resume" in capsys.readouterr().out
    run = tmp_path / "runs" / "cc"
    assert (run / "checkpoint.weights.h5").is_file()
    state = json.loads((run / "state.json").read_text())
    assert (state["epoch"], state["step"], state["images_seen"]) == (0, 3, 3 * 8)
    monkeypatch.setattr(keras.Model, "fit", original_fit)
    assert main(args + ["--resume"]) == 0
    assert "resuming epoch 1 at step 4 of 5" in capsys.readouterr().out
    state = json.loads((run / "state.json").read_text())
    assert (state["epoch"], state["step"]) == (2, 0)
    assert state["images_seen"] == 2 * 5 * 8, "the resumed epoch runs only its remaining steps"
    assert (tmp_path / "vae.weights.h5").is_file()


def test_training_on_a_folder_with_too_few_readable_images_says_so(tmp_path):
    write_images(tmp_path, 3)
    for i in range(5):
        (tmp_path / f"junk{i}.jpg").write_bytes(b"junk")
    with pytest.raises(UserError, match="fewer than one batch"):
        from latentlab.train.loop import TrainOptions, train

        train(tiny_config(), TrainOptions(data=tmp_path, out=tmp_path / "w.weights.h5", epochs=1,
                                          runs_dir=tmp_path / "runs", verbose=0))
