"""The detail stage, the spectral-excess term and adversarial fine-tuning: which weights each loss term moves, and
training through the CLI."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.model.config import load_model_json
from latentlab.model.vae import BinomialBlur, BorderTaper, build_vae, load_vae, spectral_excess, transfer_weights
from latentlab.train.resize_fit import can_fit, fit_resize_decoder
from latentlab.train.terms.adversarial import adversarial_losses, build_discriminator
from tests.helpers import tiny_config


def test_a_detail_stage_joins_a_trained_decoder_without_changing_its_faces():
    plain = build_vae(tiny_config())
    detailed = build_vae(tiny_config(detail_width=8))
    left = transfer_weights(plain, detailed)
    assert set(left) == {"detail", "detail_out"}
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    before, after = np.asarray(plain.decoder(z)), np.asarray(detailed.decoder(z))
    assert after.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(after, before, atol=1e-6)
    assert not any("transpose" in type(layer).__name__.lower() for layer in detailed.decoder.layers
                   if layer.name.startswith("detail")), "the detail stage upsamples without a transposed convolution"


def test_the_detail_stage_reads_its_inputs_through_a_blur_that_stops_two_pixel_patterns():
    yy, xx = np.mgrid[0:16, 0:16]
    checkerboard = ((yy + xx) % 2).astype(np.float32)
    stripes = (xx % 2).astype(np.float32)
    ramp = (0.1 * xx + 0.05 * yy).astype(np.float32)
    images = np.stack([checkerboard, stripes, ramp], -1)[None]
    blurred = np.asarray(BinomialBlur()(images))[0]
    inner = (slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(blurred[..., 0][inner], 0.5, atol=1e-6)
    np.testing.assert_allclose(blurred[..., 1][inner], 0.5, atol=1e-6)
    np.testing.assert_allclose(blurred[..., 2][inner], ramp[inner], atol=1e-6)  # linear content passes unchanged
    decoder = build_vae(tiny_config(detail_width=8)).decoder
    assert {"detail_blur", "detail_features_blur"} <= {layer.name for layer in decoder.layers}


def test_the_detail_correction_is_one_grey_channel_faded_out_at_the_border():
    vae = build_vae(tiny_config(detail_width=8))
    kernel, bias = vae.decoder.get_layer("detail_out").get_weights()
    vae.decoder.get_layer("detail_out").set_weights([kernel, bias + 1.0])  # a correction of +1 everywhere
    logits = keras.Model(vae.decoder.input, vae.decoder.get_layer("image").output)
    z = np.random.default_rng(2).standard_normal((2, 8)).astype(np.float32)
    images = np.asarray(vae.decoder(z))
    correction = np.log(images) - np.log1p(-images) - np.asarray(logits(z))  # the sigmoid undone, minus the head
    np.testing.assert_allclose(correction[..., 0], correction[..., 2], atol=1e-3)  # the same in every colour
    np.testing.assert_allclose(correction[:, 0, :], 0.0, atol=1e-3)  # nothing at the edge
    np.testing.assert_allclose(correction[:, 16, 16], 1.0, atol=1e-3)  # all of it inside the margin
    assert 0.1 < correction[0, 4, 16, 0] < 0.9
    taper = np.asarray(BorderTaper(margin=4)(np.ones((1, 12, 12, 1), np.float32)))[0, :, 6, 0]
    np.testing.assert_allclose(taper, [0, 0.25, 0.5, 0.75, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0], atol=1e-6)


@pytest.mark.parametrize("changes, message", [
    ({"detail_width": 8, "decoder_head": "conv"}, "transpose decoder head"),
    ({"feature_matching_weight": 1.0}, "adversarial weight"),
    ({"adversarial_weight": -1.0}, "must be >= 0"),
    ({"spectral_weight": -1.0}, "must be >= 0"),
    ({"detail_width": 500}, "detail width"),
    ({"detail_width": 8, "freeze_decoder_base": True}, "detail stage alone"),
    ({"freeze_encoder": True, "freeze_decoder_base": True}, "detail stage alone"),
])
def test_impossible_settings_are_refused(changes, message):
    with pytest.raises(UserError, match=message):
        tiny_config(**changes)


def test_the_spectral_excess_counts_what_the_photos_do_not_hold_and_spares_blur():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:32, 0:32]
    waves = [0.5 + 0.2 * np.sin(2 * np.pi * (a * xx + b * yy) / 32 + c) for a, b, c in rng.uniform(-2, 2, (12, 3))]
    photos = np.moveaxis(np.reshape(waves, (4, 3, 32, 32)), 1, -1) + rng.normal(0, 0.02, (4, 32, 32, 3))
    photos = photos.astype(np.float32)
    blurred = (photos + np.roll(photos, 1, 1) + np.roll(photos, 1, 2) + np.roll(photos, (1, 1), (1, 2))) / 4
    for faithful_or_soft in (photos, blurred, 0.5 + 1.3 * (photos - 0.5)):
        assert float(spectral_excess(photos, faithful_or_soft)) == pytest.approx(0.0, abs=1e-3)
    slow_wave = np.cos(2 * np.pi * xx / 32)  # a diagonal 2-pixel pattern drifting one bin off the checkerboard
    stripes = [blurred + (amplitude * (-1.0) ** (yy + xx) * slow_wave)[..., None] * np.array([1.0, -1.0, 1.0])
               for amplitude in (0.005, 0.02)]
    faint, strong = (float(spectral_excess(photos, s.astype(np.float32))) for s in stripes)
    assert 1.0 < faint < strong, (faint, strong)  # a faint pattern costs too, however little energy it holds
    grain = blurred + rng.normal(0, 0.05, photos.shape).astype(np.float32)
    assert float(spectral_excess(photos, grain)) > strong


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


@pytest.mark.parametrize("warmup", [0, 1000])
def test_the_decoders_terms_wait_for_the_discriminators_warmup(warmup):
    from latentlab.train.loop import compile_for_training

    config = tiny_config(adversarial_weight=0.01, feature_matching_weight=0.01, discriminator_warmup_steps=warmup)
    vae = build_vae(config, with_discriminator=True)
    compile_for_training(vae, 1e-3)
    images = np.random.default_rng(0).uniform(size=(16, 32, 32, 3)).astype(np.float32)
    history = {k: v[0] for k, v in vae.fit(images, batch_size=8, epochs=1, verbose=0).history.items()}
    without_decoder_terms = history["reconstruction"] + config.beta * history["kl"] + history["critic"]
    decoder_terms = 0.01 * (history["adversarial"] + history["matching"])
    if warmup:
        assert history["loss"] == pytest.approx(without_decoder_terms, rel=1e-4)
    else:
        assert history["loss"] == pytest.approx(without_decoder_terms + decoder_terms, rel=1e-4)
    assert float(vae.adversarial_steps.numpy()) == 2


def test_adversarial_fine_tuning_trains_the_decoder_only_and_ships_a_plain_weights_file(tmp_path, trained_tiny,
                                                                                        image_folder):
    weights = tmp_path / "vae.weights.h5"
    args = ["train", "--data", str(image_folder), "--init-from", str(trained_tiny), "--detail-width", "8",
            "--adversarial-weight", "0.01", "--feature-matching-weight", "0.01", "--spectral-weight", "5",
            "--discriminator-warmup", "2", "--freeze-encoder", "on",
            "--out", str(weights), "--runs-dir", str(tmp_path / "runs"), "--name", "gan"]
    assert main(args + ["--epochs", "1"]) == 0
    config, _ = load_model_json(weights.with_name("model.json"))
    assert (config.detail_width, config.adversarial_weight, config.freeze_encoder) == (8, 0.01, True)
    start, tuned = load_vae(trained_tiny)[0], load_vae(weights)[0]
    for before, after in zip(start.encoder.get_weights(), tuned.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    changed = [not np.array_equal(b, a) for b, a in zip(start.decoder.get_weights(), tuned.decoder.get_weights())]
    assert sum(changed) >= len(changed) - 2, "the decoder trains"
    assert len(tuned.weights) == len(build_vae(config).weights), "the discriminator stays out of the weights file"
    with open(tmp_path / "runs" / "gan" / "log.csv") as handle:
        row = next(csv.DictReader(handle))
    assert float(row["critic"]) > 0 and float(row["matching"]) > 0 and float(row["spectral"]) >= 0
    assert "val_adversarial" in row
    assert main(args + ["--epochs", "2", "--resume"]) == 0, "the checkpoint holds the discriminator for --resume"


def test_freezing_the_decoder_base_trains_the_detail_stage_alone(tmp_path, trained_tiny, image_folder):
    weights = tmp_path / "vae.weights.h5"
    assert main(["train", "--data", str(image_folder), "--init-from", str(trained_tiny), "--detail-width", "8",
                 "--adversarial-weight", "0.01", "--discriminator-warmup", "0", "--freeze-encoder", "on",
                 "--freeze-decoder-base", "on", "--epochs", "1", "--out", str(weights),
                 "--runs-dir", str(tmp_path / "runs"), "--name", "detail"]) == 0
    assert load_model_json(weights.with_name("model.json"))[0].freeze_decoder_base
    start, tuned = load_vae(trained_tiny)[0], load_vae(weights)[0]
    for before, after in zip(start.encoder.get_weights(), tuned.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    start_layers = {layer.name: layer for layer in start.decoder.layers}
    for layer in tuned.decoder.layers:
        if layer.name.startswith("detail"):
            continue
        for before, after in zip(start_layers[layer.name].get_weights(), layer.get_weights()):
            np.testing.assert_array_equal(before, after)
    detail_out = tuned.decoder.get_layer("detail_out").get_weights()[0]
    assert np.abs(detail_out).max() > 0, "the detail stage (its last convolution starts at zero) trains"


def test_a_resize_decoder_grows_on_a_trained_encoder_that_stays_as_it_was(tmp_path, trained_tiny, image_folder,
                                                                          capsys):
    weights = tmp_path / "vae.weights.h5"
    assert main(["train", "--data", str(image_folder), "--init-from", str(trained_tiny), "--decoder-head", "resize",
                 "--freeze-encoder", "on", "--epochs", "1", "--out", str(weights),
                 "--runs-dir", str(tmp_path / "runs"), "--name", "resize"]) == 0
    assert "the resize decoder's up0, up1, image start as the least-squares fit" in capsys.readouterr().out
    config, _ = load_model_json(weights.with_name("model.json"))
    assert config.decoder_head == "resize"
    start, grown = load_vae(trained_tiny)[0], load_vae(weights)[0]
    for before, after in zip(start.encoder.get_weights(), grown.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert np.asarray(grown.decoder(np.zeros((2, 8), np.float32))).shape == (2, 32, 32, 3)
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in grown.decoder.layers)


def test_a_resize_decoder_starts_as_the_least_squares_fit_of_the_transposed_one(trained_tiny):
    source = load_vae(trained_tiny)[0]
    target = build_vae(source.config.replace(decoder_head="resize"))
    transfer_weights(source, target)
    z = np.random.default_rng(5).standard_normal((32, 8)).astype(np.float32)
    teacher = np.asarray(source.decoder(z))
    error = lambda: float(np.mean(np.square(np.asarray(target.decoder(z)) - teacher)))  # noqa: E731
    copied_only = error()
    fitted, psnr = fit_resize_decoder(source.decoder, target.decoder)
    assert fitted == ["up0", "up1", "image"]
    assert error() < 0.2 * copied_only
    assert psnr > 10 * np.log10(1 / copied_only) + 7
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in target.decoder.layers)


@pytest.mark.parametrize("source_changes,target_changes,fits", [
    ({}, {"decoder_head": "resize"}, True),
    ({}, {"decoder_head": "conv"}, False),
    ({"decoder_head": "resize"}, {"decoder_head": "resize"}, False),
    ({"batch_norm": True}, {"decoder_head": "resize", "batch_norm": True}, False),
    ({}, {"decoder_head": "resize", "widths": (8, 8)}, False),
])
def test_only_a_transposed_decoder_without_batch_norm_is_fitted(source_changes, target_changes, fits):
    base = tiny_config(decoder_head="transpose", batch_norm=False)
    assert can_fit(base.replace(**source_changes), base.replace(**target_changes)) == fits


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
