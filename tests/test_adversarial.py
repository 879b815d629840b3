"""The adversarial loss term: which weights each of its losses moves, its warm-up, its settings, and fine-tuning
through the CLI with the discriminator kept out of the weights file."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.model.config import load_model_json
from latentlab.model.vae import build_vae
from latentlab.model.weights import load_vae
from latentlab.train.terms import adversarial
from latentlab.train.terms.adversarial import Settings, adversarial_losses, build_discriminator
from tests.helpers import tiny_config


@pytest.mark.parametrize("settings, message", [
    ({"feature_matching_weight": 1.0}, "adversarial weight"),
    ({"weight": -1.0}, "must be >= 0"),
    ({"weight": 1.0, "discriminator_warmup_steps": -1}, "warm-up"),
])
def test_impossible_settings_are_refused(settings, message):
    with pytest.raises(UserError, match=message):
        Settings(**settings)


def test_each_adversarial_term_moves_only_its_own_network():
    decoder = build_vae(tiny_config()).decoder
    discriminator = build_discriminator((32, 32, 3))
    images = tf.random.uniform((4, 32, 32, 3))
    z = tf.random.normal((4, 8))
    with tf.GradientTape(persistent=True) as tape:
        terms = adversarial_losses(discriminator, images, decoder(z))
    for name in ("adversarial", "matching"):
        assert all(g is None for g in tape.gradient(terms[name], discriminator.trainable_variables)), name
        decoder_grads = tape.gradient(terms[name], decoder.trainable_variables)
        assert sum(float(tf.reduce_sum(tf.abs(g))) for g in decoder_grads if g is not None) > 0, name
    assert all(g is None for g in tape.gradient(terms["critic"], decoder.trainable_variables))
    critic_grads = tape.gradient(terms["critic"], discriminator.trainable_variables)
    assert all(g is not None for g in critic_grads)
    assert float(terms["critic"]) >= 0 and float(terms["matching"]) > 0


@pytest.mark.slow
@pytest.mark.parametrize("warmup", [0, 1000])
def test_the_decoders_terms_wait_for_the_discriminators_warmup(warmup):
    from latentlab.train.loop import compile_for_training

    config = tiny_config()
    term = adversarial.build(Settings(0.01, feature_matching_weight=0.01, discriminator_warmup_steps=warmup), config)
    vae = build_vae(config, [term])
    compile_for_training(vae, 1e-3)
    images = np.random.default_rng(0).uniform(size=(16, 32, 32, 3)).astype(np.float32)
    history = {k: v[0] for k, v in vae.fit(images, batch_size=8, epochs=1, verbose=0).history.items()}
    without_decoder_terms = history["reconstruction"] + config.beta * history["kl"] + history["critic"]
    decoder_terms = 0.01 * (history["adversarial"] + history["matching"])
    if warmup:
        assert history["loss"] == pytest.approx(without_decoder_terms, rel=1e-4)
    else:
        assert history["loss"] == pytest.approx(without_decoder_terms + decoder_terms, rel=1e-4)
    assert float(term.steps.numpy()) == 2
    assert len(vae.trainable_variables) == len(build_vae(config).trainable_variables) + len(
        term.discriminator.trainable_variables), "one optimizer trains the discriminator too"


@pytest.mark.slow
def test_adversarial_fine_tuning_trains_the_decoder_only_and_ships_a_plain_weights_file(tmp_path, trained_tiny,
                                                                                        image_folder):
    weights = tmp_path / "vae.weights.h5"
    args = ["train", "--data", str(image_folder), "--init-from", str(trained_tiny),
            "--adversarial-weight", "0.01", "--feature-matching-weight", "0.01",
            "--discriminator-warmup", "2", "--freeze-encoder", "on",
            "--out", str(weights), "--runs-dir", str(tmp_path / "runs"), "--name", "gan"]
    assert main(args + ["--epochs", "1"]) == 0
    config, _ = load_model_json(weights.with_name("model.json"))
    assert config.terms == {"adversarial": {"weight": 0.01, "feature_matching_weight": 0.01,
                                            "discriminator_warmup_steps": 2}}
    assert config.freeze_encoder
    start, tuned = load_vae(trained_tiny)[0], load_vae(weights)[0]
    for before, after in zip(start.encoder.get_weights(), tuned.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    changed = [not np.array_equal(b, a) for b, a in zip(start.decoder.get_weights(), tuned.decoder.get_weights())]
    assert sum(changed) >= len(changed) - 2, "the decoder trains"
    assert len(tuned.weights) == len(build_vae(config).weights), "the discriminator stays out of the weights file"
    with open(tmp_path / "runs" / "gan" / "log.csv") as handle:
        row = next(csv.DictReader(handle))
    assert float(row["critic"]) > 0 and float(row["matching"]) > 0
    assert "val_adversarial" in row
    assert main(args + ["--epochs", "2", "--resume"]) == 0, "the checkpoint holds the discriminator for --resume"


def test_the_discriminator_sends_the_decoder_no_two_pixel_pattern():
    """On a smooth image, a strided convolution's input gradient peaks at the 2-pixel frequencies; the
    discriminator's, with its blurred downsampling, does not."""
    yy, xx = np.mgrid[0:64, 0:64] / 64
    smooth = np.stack([0.2 + 0.6 * xx, 0.3 + 0.4 * yy, 0.5 + 0.3 * np.sin(3 * xx + 2 * yy)], -1)[None]
    image = tf.Variable(smooth.astype(np.float32))
    two_pixel_bins = ((32, 32), (0, 32), (32, 0))  # the checkerboard, columns, rows

    def peak(network) -> float:
        with tf.GradientTape() as tape:
            score = tf.reduce_mean(network(image))
        power = np.abs(np.fft.fft2(tape.gradient(score, image).numpy()[0].sum(-1))) ** 2
        return max(power[bin_] for bin_ in two_pixel_bins) / power.mean()

    discriminator = build_discriminator((64, 64, 3))
    strided = keras.Sequential([keras.layers.Conv2D(8, 4, strides=2, padding="same"), keras.layers.LeakyReLU(0.2),
                                keras.layers.Conv2D(1, 4, strides=2, padding="same")])
    assert peak(lambda x: discriminator(x)[-1]) < 1.0
    assert peak(strided) > 10.0
