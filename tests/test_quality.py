"""The measures of `vae.py evaluate` beyond PSNR, on synthetic images: sharpness, checkerboard, identity (dlib),
face rate (dlib), and their keys in evaluate --json."""

import importlib.util
import json
import sys

import cv2
import numpy as np
import pytest

from latentlab.cli.main import main
from latentlab.eval.quality import FaceRecognizer, QualityMeter, checkerboard_ratios, sharpness_ratios

EVAL_PACKAGES = importlib.util.find_spec("dlib") is not None and importlib.util.find_spec(
    "face_recognition_models") is not None
needs_dlib = pytest.mark.skipif(not EVAL_PACKAGES, reason="dlib / face_recognition_models not installed: "
                                "pip install -r requirements-eval.txt")
QUALITY_KEYS = ("sharpness", "checkerboard", "periodic_excess", "identity_kept", "identity_distance_median",
                "face_rate", "face_rate_originals")


def natural_images(n: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """n RGB uint8 images with a natural image's 1/f amplitude spectrum (random phases)."""
    rng = np.random.default_rng(seed)
    fy, fx = np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij")
    amplitude = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / size)
    spectrum = amplitude[None, :, :, None] * np.exp(2j * np.pi * rng.random((n, size, size, 3)))
    images = np.fft.ifft2(spectrum, axes=(1, 2)).real
    low, high = images.min(axis=(1, 2, 3), keepdims=True), images.max(axis=(1, 2, 3), keepdims=True)
    return (255 * (images - low) / (high - low)).astype(np.uint8)


def blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    return np.stack([cv2.GaussianBlur(image, (0, 0), sigma) for image in images])


def test_sharpness_is_one_for_the_image_itself_and_below_half_when_blurred():
    images = natural_images(4)
    np.testing.assert_allclose(sharpness_ratios(images, images), 1.0, rtol=1e-6)
    assert (sharpness_ratios(images, blurred(images, 1.5)) < 0.5).all()


def test_checkerboard_is_one_for_the_image_itself_and_rises_with_a_2_pixel_checkerboard():
    images = natural_images(4)
    np.testing.assert_allclose(checkerboard_ratios(images, images), 1.0, rtol=1e-6)
    parity = np.indices(images.shape[1:3]).sum(axis=0) % 2
    with_checkerboard = np.clip(images / 255.0 + 0.02 * (2 * parity - 1)[..., None], 0, 1)
    assert (checkerboard_ratios(images, with_checkerboard) > 3).all()


def test_checkerboard_median_ignores_blur():
    images = natural_images(32)
    assert 0.8 < np.median(checkerboard_ratios(images, blurred(images, 2.0))) < 1.25


def test_periodic_excess_sees_a_coloured_pattern_under_a_slow_wave_that_the_grey_peaks_miss():
    images = natural_images(8)
    meter = QualityMeter()
    meter.add(images, images)
    assert meter.result()["periodic_excess"] == pytest.approx(1.0)
    rows, columns = np.indices(images.shape[1:3])
    # 2-pixel columns under one slow wave down the image: the power sits one bin beside (0, 32), in red and green only
    stripes = 0.03 * (-1.0) ** columns * np.cos(2 * np.pi * rows / images.shape[1])
    striped = np.clip(images / 255.0 + np.stack([stripes, -stripes, 0 * stripes], -1), 0, 1)
    meter = QualityMeter()
    meter.add(images, striped)
    result = meter.result()
    assert result["checkerboard"] < 1.5, "the grey peak measure misses it"
    assert result["periodic_excess"] > 5
    meter = QualityMeter()
    meter.add(images, blurred(images, 2.0))
    assert meter.result()["periodic_excess"] < 1.0


@needs_dlib
def test_identity_distance_of_an_image_to_itself_is_zero():
    images = natural_images(2, size=128)
    np.testing.assert_allclose(FaceRecognizer().distances(images, images.copy()), 0.0, atol=1e-6)


@pytest.mark.slow
@needs_dlib
def test_face_rate_of_noise_is_zero():
    noise = np.random.default_rng(0).integers(0, 256, (20, 128, 128, 3), dtype=np.uint8)
    meter = QualityMeter(FaceRecognizer())
    meter.add(noise, noise)
    result = meter.result(samples=noise)
    assert result["face_rate"] == 0.0 and result["face_rate_originals"] == 0.0
    assert result["identity_kept"] == 1.0 and result["identity_distance_median"] == pytest.approx(0.0, abs=1e-6)


def _evaluate_json(weights, folder, tmp_path, capsys, *extra) -> tuple[dict, str]:
    assert main(["evaluate", "--data", str(folder), "--weights", str(weights), "--limit", "16", "--json",
                 "--grid", str(tmp_path / "grid.png"), *extra]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out.strip().splitlines()[-1]), captured.err


def test_evaluate_reports_sharpness_and_checkerboard_without_quality(trained_tiny, image_folder, tmp_path, capsys):
    result, _ = _evaluate_json(trained_tiny, image_folder, tmp_path, capsys)
    assert 0.0 < result["sharpness"] < 2.0 and 0.0 < result["checkerboard"] < 50.0 and result["periodic_excess"] > 0
    assert all(result[key] is None for key in QUALITY_KEYS[3:]) and result["samples"] == 0


@needs_dlib
def test_evaluate_quality_json_keys_in_range(trained_tiny, image_folder, tmp_path, capsys):
    result, _ = _evaluate_json(trained_tiny, image_folder, tmp_path, capsys, "--quality", "--samples", "12",
                               "--prior", "normal")
    assert 0.0 < result["sharpness"] < 2.0 and 0.0 < result["checkerboard"] < 50.0
    assert 0.0 <= result["identity_kept"] <= 1.0 and 0.0 <= result["identity_distance_median"] < 2.0
    assert 0.0 <= result["face_rate"] <= 1.0 and 0.0 <= result["face_rate_originals"] <= 1.0
    assert result["samples"] == 12 and result["prior"] == "N(0, I)"


def test_evaluate_quality_without_dlib_reports_nulls_and_a_note(trained_tiny, image_folder, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)
    result, err = _evaluate_json(trained_tiny, image_folder, tmp_path, capsys, "--quality")
    assert all(result[key] is None for key in QUALITY_KEYS[3:]) and result["sharpness"] > 0
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "pip install -r requirements-eval.txt" in notes[0]


def test_evaluate_refuses_negative_samples(trained_tiny, image_folder, tmp_path, capsys):
    assert main(["evaluate", "--data", str(image_folder), "--weights", str(trained_tiny), "--samples", "-1",
                 "--grid", str(tmp_path / "grid.png")]) == 2
    assert "--samples" in capsys.readouterr().err
