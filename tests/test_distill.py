"""Architecture choices, old model.json files, weight transfer with BatchNorm folding, `train --init-from` into
another architecture, and `vae.py distill`."""

import json

import keras
import numpy as np
import pytest

from latentlab.cli.main import main
from latentlab.errors import UserError
from latentlab.model.config import LEGACY_ARCHITECTURE, ModelConfig, load_model_json
from latentlab.model.vae import build_vae
from latentlab.model.weights import load_vae, transfer_weights
from latentlab.paths import model_json_path
from tests.helpers import TINY, tiny_config


def randomise_batch_norm(vae, seed: int = 0) -> None:
    """Give every BatchNormalization non-trivial statistics, as training would."""
    rng = np.random.default_rng(seed)
    for model in (vae.encoder, vae.decoder):
        for layer in model.layers:
            if layer.name.endswith("_bn"):
                gamma, beta, mean, variance = layer.get_weights()
                layer.set_weights([rng.uniform(0.5, 2.0, gamma.shape), rng.normal(0, 0.3, beta.shape),
                                   rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2.0, variance.shape)])


def test_model_json_without_architecture_fields_means_the_first_architecture():
    config = ModelConfig.from_dict({k: v for k, v in TINY.items()})
    assert (config.encoder_kernel, config.batch_norm, config.decoder_head) == (4, True, "conv")
    assert {k: getattr(config, k) for k in LEGACY_ARCHITECTURE} == LEGACY_ARCHITECTURE
    assert ModelConfig.from_dict(config.to_dict()) == config
    layer_names = {layer.name for layer in build_vae(config).decoder.layers}
    assert {"up0_bn", "up1", "image"} <= layer_names


@pytest.mark.parametrize("kernel,batch_norm,head", [(3, False, "transpose"), (4, True, "conv"), (3, True, "conv")])
def test_every_architecture_choice_builds_the_right_shapes(kernel, batch_norm, head):
    config = tiny_config(encoder_kernel=kernel, batch_norm=batch_norm, decoder_head=head)
    vae = build_vae(config)
    z_mean, _ = vae.encoder(np.zeros((2, 32, 32, 3), np.float32))
    assert z_mean.shape == (2, 8)
    assert np.asarray(vae.decoder(np.zeros((2, 8), np.float32))).shape == (2, 32, 32, 3)
    assert any(layer.name.endswith("_bn") for layer in vae.encoder.layers) == batch_norm
    assert vae.encoder.get_layer("down0").kernel.shape[:2] == (kernel, kernel)
    assert ("up1" in {layer.name for layer in vae.decoder.layers}) == (head == "conv")
    assert isinstance(vae.decoder.get_layer("image"), keras.layers.Conv2DTranspose) == (head == "transpose")


@pytest.mark.parametrize("changes", [{"encoder_kernel": 5}, {"decoder_head": "pixelshuffle"},
                                     {"decoder_head": "resize"}, {"encoder_blocks": 5}, {"decoder_blocks": -1}])
def test_unknown_architecture_choices_are_refused(changes):
    with pytest.raises(UserError):
        tiny_config(**changes)


def test_transfer_folds_batch_norm_into_the_convolutions_exactly():
    source = build_vae(tiny_config(batch_norm=True, decoder_head="conv"))
    randomise_batch_norm(source)
    source.train_steps.assign(123.0)
    target = build_vae(tiny_config(batch_norm=False, decoder_head="conv"))
    assert transfer_weights(source, target) == []
    images = np.random.default_rng(1).random((3, 32, 32, 3), dtype=np.float32)
    for expected, got in zip(source.encoder(images, training=False), target.encoder(images, training=False)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-4)
    z = np.random.default_rng(2).standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(target.decoder(z)), np.asarray(source.decoder(z)), atol=1e-5)
    assert float(target.train_steps) == 123.0


def test_transfer_leaves_layers_whose_shapes_changed():
    source = build_vae(tiny_config(encoder_kernel=4, batch_norm=True, decoder_head="conv"))
    target = build_vae(tiny_config())
    left = transfer_weights(source, target)
    assert left == ["down0", "down1", "image"]
    np.testing.assert_array_equal(target.decoder.get_layer("expand").kernel, source.decoder.get_layer("expand").kernel)


def test_residual_blocks_sit_at_low_resolutions_and_start_as_pass_throughs():
    plain = build_vae(tiny_config(widths=(8, 16, 16)))  # encoder outputs 16, 8, 4 px; decoder 4 (unsqueeze), 8, 16
    deep = build_vae(tiny_config(widths=(8, 16, 16), encoder_blocks=2, decoder_blocks=1))
    new_layers = transfer_weights(plain, deep)
    assert sorted(new_layers) == sorted(
        [f"down{i}_res{j}{part}" for i in (1, 2) for j in (0, 1) for part in "ab"]  # 8 and 4 px: <= 32 / 4
        + ["unsqueeze_res0a", "unsqueeze_res0b"])  # 4 px only: <= 32 / 8
    assert deep.count_params() > plain.count_params()
    images = np.random.default_rng(1).random((3, 32, 32, 3), dtype=np.float32)
    for expected, got in zip(plain.encoder(images), deep.encoder(images)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-6)
    z = np.random.default_rng(2).standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(deep.decoder(z)), np.asarray(plain.decoder(z)), atol=1e-6)


@pytest.mark.slow
def test_train_init_from_adds_residual_blocks_to_a_trained_model(trained_tiny, image_folder, tmp_path, capsys):
    deeper = tmp_path / "deeper.weights.h5"
    assert main(["train", "--init-from", str(trained_tiny), "--encoder-blocks", "1", "--data", str(image_folder),
                 "--epochs", "1", "--lr-warmup", "2", "--out", str(deeper), "--runs-dir", str(tmp_path / "runs"),
                 "--name", "deeper"]) == 0
    assert "2 layer(s) not in it start as initialised (down1_res0a, down1_res0b)" in capsys.readouterr().out
    config, summary = load_model_json(model_json_path(deeper))
    assert (config.encoder_blocks, config.decoder_blocks) == (1, 0)
    trained, _ = load_vae(deeper)
    assert np.any(np.asarray(trained.encoder.get_layer("down1_res0b").kernel) != 0)  # the block learnt
    assert summary["images_seen"] > load_model_json(model_json_path(trained_tiny))[1]["images_seen"]


@pytest.mark.slow
def test_distill_writes_a_student_that_learnt_the_teachers_latents(trained_tiny, image_folder, tmp_path, capsys):
    out = tmp_path / "student.weights.h5"
    code = main(["distill", "--teacher", str(trained_tiny), "--data", str(image_folder), "--out", str(out),
                 "--epochs", "6", "--lr", "3e-3", "--encoder-kernel", "4", "--decoder-head", "conv",
                 "--batch-size", "8", "--runs-dir", str(tmp_path / "runs")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    config, saved = load_model_json(model_json_path(out))
    assert (config.encoder_kernel, config.decoder_head, config.latent_dim) == (4, "conv", 8)
    assert saved["distilled_from"] == str(trained_tiny) and saved["distill_epochs"] == 6
    assert saved["images_seen"] > saved["teacher_images_seen"] > 0
    assert np.isfinite(summary["val_psnr"]) and np.isfinite(summary["teacher_val_psnr"])

    teacher, _ = load_vae(trained_tiny)
    student, _ = load_vae(out)
    untrained = build_vae(config)
    transfer_weights(teacher, untrained)
    images = np.random.default_rng(3).random((16, 32, 32, 3), dtype=np.float32)
    target = np.asarray(teacher.encoder(images)[0])
    distance = lambda vae: float(np.mean(np.square(np.asarray(vae.encoder(images)[0]) - target)))  # noqa: E731
    assert distance(student) < 0.5 * distance(untrained)


@pytest.mark.slow
def test_train_init_from_takes_the_architecture_from_its_model_json(trained_tiny, image_folder, tmp_path):
    student = tmp_path / "student.weights.h5"
    assert main(["distill", "--teacher", str(trained_tiny), "--data", str(image_folder), "--out", str(student),
                 "--epochs", "1", "--batch-norm", "on", "--batch-size", "8",
                 "--runs-dir", str(tmp_path / "runs")]) == 0
    tuned = tmp_path / "tuned.weights.h5"
    assert main(["train", "--init-from", str(student), "--data", str(image_folder), "--epochs", "1",
                 "--out", str(tuned), "--runs-dir", str(tmp_path / "runs"), "--name", "tune"]) == 0
    config, summary = load_model_json(model_json_path(tuned))
    assert config.batch_norm and config.latent_dim == 8 and config.batch_size == 8
    assert summary["images_seen"] > load_model_json(model_json_path(student))[1]["images_seen"]
    assert summary["init_from"] == str(student)


def test_distill_refuses_a_student_of_another_latent_size(trained_tiny, image_folder, tmp_path):
    from latentlab.train.distill import distill
    from latentlab.train.loop import TrainOptions

    options = TrainOptions(data=image_folder, out=tmp_path / "s.weights.h5", runs_dir=tmp_path / "runs")
    with pytest.raises(UserError, match="latent size"):
        distill(trained_tiny, tiny_config(latent_dim=4), options)


def test_learning_rate_warms_up_then_decays(tmp_path):
    from latentlab.train.loop import TrainOptions, learning_rate_schedule

    config = tiny_config(learning_rate=2e-4)

    def rates(steps, **options):
        schedule = learning_rate_schedule(config, TrainOptions(data=tmp_path, out=tmp_path, epochs=4, **options), 25)
        return [float(schedule(step)) if callable(schedule) else schedule for step in steps]

    warm = rates((0, 10, 20, 100), lr_warmup_steps=20)
    assert warm[0] == 0.0 and warm[1] == pytest.approx(1e-4) and warm[2] == pytest.approx(2e-4)
    assert warm[3] == pytest.approx(0.05 * 2e-4, rel=1e-3)
    assert rates((0, 5, 10), lr_warmup_steps=None) == pytest.approx([0.0, 1e-4, 2e-4])  # a tenth of 100 steps
    assert rates((0, 100), lr_warmup_steps=0) == pytest.approx([2e-4, 1e-5])
    assert rates((0, 5, 10, 100), lr_schedule="constant", lr_warmup_steps=10) == pytest.approx([0, 1e-4, 2e-4, 2e-4])
    assert rates((0, 100), lr_schedule="constant", lr_warmup_steps=0) == [2e-4, 2e-4]
