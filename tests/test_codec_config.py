"""The Codec every caller uses (shapes, batching, uint8/float input, reconstruct) and ModelConfig / model.json."""

import json

import numpy as np
import pytest

from latentlab.errors import UserError
from latentlab.model.codec import MAX_BATCH, Codec
from latentlab.model.config import DEFAULT_REFINE_STEPS, ModelConfig, load_model_json, require_weights, save_model_json
from latentlab.paths import DEFAULT_WEIGHTS, model_json_path
from tests.helpers import CELEBA_DIR, LATENT_DIM, needs_celeba, tiny_config


def test_encode_and_decode_keep_the_batchness_of_their_input(tiny_codec):
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    z = tiny_codec.encode(images)
    assert z.shape == (3, LATENT_DIM) and z.dtype == np.float32
    np.testing.assert_allclose(tiny_codec.encode(images[1]), z[1], atol=1e-5)
    decoded = tiny_codec.decode(z)
    assert decoded.shape == (3, 32, 32, 3) and decoded.dtype == np.float32
    assert 0.0 <= decoded.min() and decoded.max() <= 1.0
    np.testing.assert_allclose(tiny_codec.decode(z[2]), decoded[2], atol=1e-5)


def test_uint8_and_float_images_encode_alike(tiny_codec):
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(tiny_codec.encode(images), tiny_codec.encode(images / 255.0), atol=1e-5)


def test_batches_larger_than_one_call_are_split_and_joined_in_order(tiny_codec):
    z = np.random.default_rng(2).standard_normal((MAX_BATCH + 5, LATENT_DIM)).astype(np.float32)
    decoded = tiny_codec.decode(z)
    assert decoded.shape[0] == MAX_BATCH + 5
    np.testing.assert_allclose(decoded[MAX_BATCH + 3], tiny_codec.decode(z[MAX_BATCH + 3]), atol=1e-5)
    mean, log_var = tiny_codec.encode_distribution(decoded)
    assert mean.shape == log_var.shape == (MAX_BATCH + 5, LATENT_DIM)


def test_reconstruct_is_decode_of_encode(tiny_codec):
    images = np.random.default_rng(3).random((4, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(tiny_codec.reconstruct(images), tiny_codec.decode(tiny_codec.encode(images)), atol=1e-6)


def test_preprocess_brings_any_photo_to_the_model_size(tiny_codec):
    photo = np.random.default_rng(4).integers(0, 256, (218, 178, 3), dtype=np.uint8)
    assert tiny_codec.preprocess(photo, "center").shape == (32, 32, 3)


def test_load_reads_the_config_beside_the_weights(tmp_path, tiny_codec):
    from latentlab.model.weights import save_weights_atomic

    weights = tmp_path / "small.weights.h5"
    save_weights_atomic(tiny_codec.vae, weights)
    save_model_json(model_json_path(weights), tiny_codec.config, {"epochs": 3})
    loaded = Codec.load(weights)
    assert loaded.config == tiny_codec.config and loaded.summary == {"epochs": 3}
    z = np.random.default_rng(5).standard_normal((2, LATENT_DIM)).astype(np.float32)
    np.testing.assert_allclose(loaded.decode(z), tiny_codec.decode(z), atol=1e-6)


def test_config_round_trips_through_model_json(tmp_path):
    config = tiny_config(beta=0.25, crop="center")
    path = tmp_path / "m.json"
    save_model_json(path, config, {"val_psnr": 20.5})
    assert load_model_json(path) == (config, {"val_psnr": 20.5})
    assert json.loads(path.read_text())["config"]["widths"] == [8, 16]


@pytest.mark.parametrize("changes, message", [
    (dict(image_size=34), "image size 34 is not supported: use a multiple of 4"),
    (dict(encoder_kernel=5), "encoder kernel must be 3 or 4"),
    (dict(latent_dim=0), "latent dim must be positive"),
    (dict(crop="square"), "crop must be one of"),
    (dict(widths=()), "widths must name at least one"),
])
def test_an_impossible_config_names_the_setting(changes, message):
    with pytest.raises(UserError, match=message):
        tiny_config(**changes)


def test_replace_ignores_none_and_from_dict_ignores_unknown_keys():
    config = tiny_config()
    assert config.replace(latent_dim=None, beta=0.5) == tiny_config(beta=0.5)
    assert ModelConfig.from_dict({**config.to_dict(), "from_the_future": 1}) == config


def test_an_old_model_json_loads_and_its_loss_terms_round_trip(tmp_path):
    old = {**tiny_config().to_dict(), "detail_width": 0, "decoder_head": "transpose", "perceptual_weight": 0.0,
           "perceptual_net": "data/perceptual.weights.h5", "spectral_weight": 0.0, "adversarial_weight": 0.0,
           "feature_matching_weight": 0.0, "discriminator_warmup_steps": 0, "freeze_decoder_base": False}
    del old["terms"]
    assert ModelConfig.from_dict(old) == tiny_config()
    config = tiny_config(terms={"adversarial": {"weight": 0.01, "feature_matching_weight": 0.0,
                                                "discriminator_warmup_steps": 5}})
    save_model_json(tmp_path / "model.json", config)
    assert load_model_json(tmp_path / "model.json")[0] == config


@pytest.mark.parametrize("removed, message", [
    ({"detail_width": 16}, "detail stage .* that experiment was removed"),
    ({"decoder_head": "resize"}, '"resize" decoder head: that experiment was removed'),
])
def test_a_model_json_of_a_removed_experiment_is_one_clear_error(tmp_path, removed, message):
    (tmp_path / "model.json").write_text(json.dumps({"config": {**tiny_config().to_dict(), **removed}}))
    with pytest.raises(UserError, match=message):
        load_model_json(tmp_path / "model.json")


def test_model_json_names_and_missing_files(tmp_path):
    assert model_json_path(tmp_path / "vae.weights.h5").name == "model.json"
    assert model_json_path(tmp_path / "pokemon.weights.h5").name == "pokemon.json"
    with pytest.raises(UserError, match="weights file .* not found"):
        require_weights(tmp_path / "vae.weights.h5")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="not a valid model.json"):
        load_model_json(tmp_path / "bad.json")


def model_loss(codec: Codec, images: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Each image's reconstruction error + beta * |z|^2 / 2: what refinement descends (N,)."""
    errors = np.square(images - codec.decode(z)).sum(axis=(1, 2, 3))
    return errors + 0.5 * codec.config.beta * np.square(z).sum(axis=1)


def test_refinement_lowers_every_images_loss_and_zero_steps_is_the_encoder_alone(tiny_codec):
    images = np.random.default_rng(5).random((5, 32, 32, 3)).astype(np.float32)
    encoder_mean = tiny_codec.vae.encoder(images, training=False)[0].numpy()
    unrefined = tiny_codec.encode(images, refine_steps=0)
    np.testing.assert_allclose(unrefined, encoder_mean, atol=1e-5)
    refined = tiny_codec.encode(images, refine_steps=20)
    assert np.all(model_loss(tiny_codec, images, refined) < model_loss(tiny_codec, images, unrefined))
    assert np.all(np.linalg.norm(refined - unrefined, axis=1) > 0.1), "every latent moved"


def test_refinement_moves_each_image_on_its_own(tiny_codec):
    images = np.random.default_rng(6).random((3, 32, 32, 3)).astype(np.float32)
    together = tiny_codec.encode(images, refine_steps=10)
    for image, z in zip(images, together):
        np.testing.assert_allclose(tiny_codec.encode(image, refine_steps=10), z, atol=1e-4)


def test_refine_steps_default_to_the_models_and_are_checked():
    from latentlab.model.vae import build_vae

    vae = build_vae(tiny_config(refine_steps=3))
    assert Codec(vae).config.refine_steps == 3
    assert Codec(vae, refine_steps=0).config.refine_steps == 0 and vae.config.refine_steps == 3
    assert ModelConfig.from_dict({}).refine_steps == DEFAULT_REFINE_STEPS, "model.json without the key: the default"
    with pytest.raises(UserError, match="refine steps"):
        Codec(vae, refine_steps=-1)


@needs_celeba
@pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason=f"no committed model at {DEFAULT_WEIGHTS}")
def test_the_shipped_model_reconstructs_validation_faces_more_closely_when_refined():
    from latentlab.eval.metrics import mse_per_image, psnr
    from latentlab.images import find_split, load_array

    codec = Codec.load(DEFAULT_WEIGHTS)
    assert codec.config.refine_steps == 20, "data/model.json asks for the shipped refinement"
    _, images = load_array(find_split(CELEBA_DIR, "val", 16), codec.image_size, codec.config.crop)
    originals = images / 255.0
    alone, refined = codec.encode(images, refine_steps=0), codec.encode(images)
    gain = psnr(mse_per_image(originals, codec.decode(refined))) - psnr(mse_per_image(originals, codec.decode(alone)))
    assert np.all(gain > 0), "every face is drawn more closely"
    assert gain.mean() > 0.4, f"mean gain {gain.mean():.2f} dB (0.8 dB over 2,000 validation faces)"
