"""The VAE: shapes for any supported size, training lowers the loss, weights round-trip, mismatches fail clearly."""

from pathlib import Path

import keras
import numpy as np
import pytest

from latentlab.errors import UserError
from latentlab.model.codec import Codec
from latentlab.model.config import ModelConfig
from latentlab.model.vae import build_vae
from latentlab.model.weights import load_vae, load_weights_checked, save_weights_atomic
from latentlab.paths import DEFAULT_WEIGHTS, model_json_path
from tests.helpers import synthetic_face, tiny_config


@pytest.mark.parametrize("size", [32, 48, 80, 256])
def test_encoder_decoder_shapes_for_multiples_of_16(size):
    config = ModelConfig(image_size=size, latent_dim=5, widths=(4, 4, 4, 4), bottleneck_channels=2)
    vae = build_vae(config)
    images = np.random.default_rng(0).random((2, size, size, 3), dtype=np.float32)
    z_mean, z_log_var = vae.encoder(images)
    assert z_mean.shape == (2, 5) and z_log_var.shape == (2, 5)
    decoded = np.asarray(vae.decoder(np.zeros((3, 5), np.float32)))
    assert decoded.shape == (3, size, size, 3)
    assert decoded.min() >= 0.0 and decoded.max() <= 1.0


@pytest.mark.parametrize("size", [40, 16, 272])
def test_unsupported_sizes_are_refused(size):
    with pytest.raises(UserError, match="multiple of 16"):
        ModelConfig(image_size=size)


def test_training_lowers_the_loss():
    config = tiny_config(learning_rate=3e-3)
    vae = build_vae(config)
    vae.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    rng = np.random.default_rng(1)
    base = np.stack([synthetic_face(rng, 32) for _ in range(4)]).astype(np.float32) / 255.0
    images = np.repeat(base, 8, axis=0)
    history = vae.fit(images, epochs=20, batch_size=8, verbose=0).history
    assert history["loss"][-1] < 0.8 * history["loss"][0]  # 0.59-0.63 over five seeds
    assert set(history) >= {"loss", "reconstruction", "kl"}
    assert float(np.asarray(vae.train_steps)) == 20 * 4


def test_kl_warmup_ramps_beta():
    vae = build_vae(tiny_config(beta=2.0, beta_warmup_steps=10))
    assert float(vae.kl_weight()) == 0.0
    vae.train_steps.assign(5.0)
    assert float(vae.kl_weight()) == pytest.approx(1.0)
    vae.train_steps.assign(50.0)
    assert float(vae.kl_weight()) == pytest.approx(2.0)


def test_weights_round_trip_gives_identical_outputs(tmp_path):
    config = tiny_config()
    vae = build_vae(config)
    path = tmp_path / "vae.weights.h5"
    save_weights_atomic(vae, path)
    other = build_vae(config)
    load_weights_checked(other, path)
    z = np.random.default_rng(2).standard_normal((4, config.latent_dim)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(vae.decoder(z)), np.asarray(other.decoder(z)))
    assert not list(tmp_path.glob("*.tmp*")), "the temp file of the atomic write must be gone"


def test_mismatched_weights_fail_with_one_clear_line(tmp_path):
    path = tmp_path / "vae.weights.h5"
    save_weights_atomic(build_vae(tiny_config()), path)
    with pytest.raises(UserError) as error:
        load_weights_checked(build_vae(tiny_config(latent_dim=16)), path)
    message = str(error.value)
    assert "does not match the model configuration" in message and "\n" not in message


def test_damaged_or_missing_weights_fail_clearly(tmp_path):
    damaged = tmp_path / "vae.weights.h5"
    damaged.write_bytes(b"not an hdf5 file")
    with pytest.raises(UserError, match="damaged"):
        load_weights_checked(build_vae(tiny_config()), damaged)
    with pytest.raises(UserError, match="not found"):
        load_weights_checked(build_vae(tiny_config()), tmp_path / "missing.weights.h5")


def test_load_without_model_json_says_what_is_missing(tmp_path):
    path = tmp_path / "vae.weights.h5"
    save_weights_atomic(build_vae(tiny_config()), path)
    with pytest.raises(UserError, match="model.json"):
        load_vae(path)


@pytest.mark.skipif(not Path(DEFAULT_WEIGHTS).is_file() or not model_json_path(DEFAULT_WEIGHTS).is_file(),
                    reason="committed weights data/vae.weights.h5 + data/model.json not present")
def test_committed_weights_decode_the_average_face():
    codec = Codec.load(DEFAULT_WEIGHTS)
    face = codec.decode(np.zeros(codec.latent_dim, np.float32))
    assert face.shape == (128, 128, 3)
    assert face.std() > 0.05, "the average face must not be a constant image"
