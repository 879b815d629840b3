"""What PSNR misses, for `vae.py evaluate`: sharpness, checkerboard artefacts, identity kept, and the face rate of
prior samples. Sharpness and checkerboard need only OpenCV and NumPy; identity and face rate need dlib and its
models (requirements-eval.txt), which training never uses."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

from latentlab.pictures import to_float, to_uint8

SAME_PERSON_DISTANCE = 0.6
# Where dlib's HOG detector puts the face in CelebA's aligned images under the 'celeba' crop: the median box over
# 1,000 training images at 128 px, (29, 45) to (101, 117) inclusive, as fractions of the side: left, top, right, bottom.
CELEBA_FACE_BOX = (29 / 128, 45 / 128, 102 / 128, 118 / 128)
DETECTOR_MIN_SIDE = 128
EVAL_INSTALL_HINT = "pip install -r requirements-eval.txt"
ARTEFACT_PERIOD = 8  # the largest period stacked stride-2 layers stamp: 2 ** 3


def artefact_bins(height: int, width: int, period: int = ARTEFACT_PERIOD) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the 2-D FFT bins of every pattern that repeats every `period` pixels along both axes
    (multiples of side / period cycles, DC left out: period ** 2 - 1 bins). With period 8: the periods of 8, 4 (and
    8/3) and 2 pixels that stacked stride-2 transposed convolutions stamp on their output, as rows, columns and
    checkerboards."""
    rows, columns = np.meshgrid(np.arange(0, height, height // period), np.arange(0, width, width // period),
                                indexing="ij")
    artefact = (rows + columns) > 0
    return rows[artefact], columns[artefact]


def grey(images: np.ndarray) -> np.ndarray:
    """RGB images (N, S, S, 3), uint8 or float -> grey float32 (N, S, S) in [0, 1] (ITU-R 601 weights, as OpenCV)."""
    return to_float(images) @ np.array([0.299, 0.587, 0.114], np.float32)


def laplacian_variance(images: np.ndarray) -> np.ndarray:
    """Variance of cv2.Laplacian (3x3, 4-neighbour kernel) of each grey image: (N,)."""
    return np.array([cv2.Laplacian(g, cv2.CV_32F).var() for g in grey(images)], np.float64)


def sharpness_ratios(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Laplacian variance of each reconstruction over its original's: 1 is as sharp, below 1 blurrier. (N,)"""
    return laplacian_variance(reconstructions) / np.maximum(laplacian_variance(originals), 1e-12)


def periodic_power(images: np.ndarray) -> np.ndarray:
    """|FFT2|^2 of the periodic component of each grey image (Moisan's periodic + smooth decomposition): the
    spectrum without the cross that the jump between opposite borders adds along both axes. (N, S, S)"""
    return plane_periodic_power(grey(images))


def plane_periodic_power(planes: np.ndarray) -> np.ndarray:
    """`periodic_power` of float image planes (..., H, W), one per leading index."""
    g = np.asarray(planes, np.float64)
    border = np.zeros_like(g)
    row_jump, column_jump = g[..., -1, :] - g[..., 0, :], g[..., :, -1] - g[..., :, 0]
    border[..., 0, :] += row_jump
    border[..., -1, :] -= row_jump
    border[..., :, 0] += column_jump
    border[..., :, -1] -= column_jump
    height, width = g.shape[-2:]
    laplacian = (2 * np.cos(2 * np.pi * np.arange(height) / height)[:, None]
                 + 2 * np.cos(2 * np.pi * np.arange(width) / width)[None, :] - 4)
    laplacian[0, 0] = 1.0
    smooth = np.fft.fft2(border) / laplacian
    smooth[..., 0, 0] = 0.0
    return np.abs(np.fft.fft2(g) - smooth) ** 2


def near_artefact_bins(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of every artefact bin and its 8 neighbours: where a periodic pattern, or one under a slow
    wave (which moves its power one bin aside), puts its power."""
    rows, columns = artefact_bins(height, width)
    near = np.array(sorted({((r + dy) % height, (c + dx) % width)
                            for r, c in zip(rows, columns) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}))
    return near[:, 0], near[:, 1]


def artefact_peak_ratio(images: np.ndarray) -> np.ndarray:
    """How much each grey image's spectrum peaks at the artefact bins: the mean over those bins of the bin's power over
    the mean power of its 8 neighbouring bins (`periodic_power`, no window: the artefact periods divide the side, so
    they fall exactly on bins). A smooth spectrum gives about 1 however blurred; a periodic pattern lifts it. (N,)"""
    power = periodic_power(images)
    height, width = power.shape[1:]
    rows, columns = artefact_bins(height, width)
    around = np.mean([power[:, (rows + dy) % height, (columns + dx) % width]
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx], axis=0)
    return np.mean(power[:, rows, columns] / np.maximum(around, 1e-20), axis=1)


def checkerboard_ratios(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """artefact_peak_ratio of each reconstruction over its original's: about 1 is natural, well above 1 is a
    checkerboard decoder. (N,)"""
    return artefact_peak_ratio(reconstructions) / np.maximum(artefact_peak_ratio(originals), 1e-20)


class EvalPackagesMissing(ImportError):
    """dlib or face_recognition_models is not installed."""


def _face_model_dir() -> Path:
    """face_recognition_models' folder of .dat files, found without importing the package (its __init__ needs the
    pkg_resources module that recent setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise EvalPackagesMissing(f"face_recognition_models is not installed: {EVAL_INSTALL_HINT}")
    return Path(spec.submodule_search_locations[0]) / "models"


class FaceRecognizer:
    """dlib's ResNet face descriptor (with its 5-point shape predictor) and its HOG frontal face detector."""

    def __init__(self):
        try:
            import dlib
        except ImportError:
            raise EvalPackagesMissing(f"dlib is not installed: {EVAL_INSTALL_HINT}") from None
        models = _face_model_dir()
        self._dlib = dlib
        self._shape_predictor = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._descriptor = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
        self._detector = dlib.get_frontal_face_detector()

    def descriptors(self, images: np.ndarray) -> np.ndarray:
        """128-d face descriptors of aligned face crops (N, S, S, 3): (N, 128) float32.

        No detection: the images are CelebA-aligned crops, so the face rectangle given to the shape predictor is the
        same for every image, CELEBA_FACE_BOX (where dlib's detector finds CelebA faces), and the predictor's 5
        landmarks place the descriptor's 150 px chip. The whole image as the rectangle would misplace the landmarks:
        on 60 validation identities it told same from different people at 0.6 for 68 % of pairs, this box for 92 %.
        """
        side = images.shape[1]
        left, top, right, bottom = (round(f * side) for f in CELEBA_FACE_BOX)
        box = self._dlib.rectangle(left, top, right - 1, bottom - 1)
        rows = []
        for image in to_uint8(images):
            image = np.ascontiguousarray(image)
            rows.append(np.array(self._descriptor.compute_face_descriptor(image, self._shape_predictor(image, box))))
        return np.array(rows, np.float32).reshape(len(rows), 128)

    def distances(self, originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
        """Euclidean descriptor distance of each reconstruction to its original (N,): at most 0.6 is the same person."""
        return np.linalg.norm(self.descriptors(originals) - self.descriptors(reconstructions), axis=1)

    def finds_face(self, images: np.ndarray) -> np.ndarray:
        """Whether the HOG frontal face detector finds a face in each image: (N,) bool. Images smaller than 128 px
        are upsampled (doubled) until they reach it, since the detector's window is 80 px; at 128 px, none."""
        upsample = max(0, math.ceil(math.log2(DETECTOR_MIN_SIDE / images.shape[1])))
        return np.array([len(self._detector(np.ascontiguousarray(im), upsample)) > 0 for im in to_uint8(images)], bool)


def load_face_recognizer() -> tuple[FaceRecognizer | None, str | None]:
    """(the recognizer, None), or (None, a one-line note saying what is missing and how to install it)."""
    try:
        return FaceRecognizer(), None
    except EvalPackagesMissing as exc:
        return None, f"identity_kept, identity_distance_median and face_rate need dlib: {exc}"


class QualityMeter:
    """Per-image measures gathered batch by batch; `result` gives the medians and shares for evaluate's report."""

    def __init__(self, faces: FaceRecognizer | None = None):
        self.faces = faces
        self.sharpness, self.checkerboard, self.identity_distances, self.originals_with_face = [], [], [], []
        self.near_power = {"originals": 0.0, "reconstructions": 0.0}

    def add(self, originals: np.ndarray, reconstructions: np.ndarray) -> None:
        self.sharpness.append(sharpness_ratios(originals, reconstructions))
        self.checkerboard.append(checkerboard_ratios(originals, reconstructions))
        rows, columns = near_artefact_bins(*originals.shape[1:3])
        for name, images in (("originals", originals), ("reconstructions", reconstructions)):
            planes = np.moveaxis(to_float(images), -1, 1)  # (N, C, H, W)
            self.near_power[name] = self.near_power[name] + plane_periodic_power(planes)[:, :, rows, columns].sum(0)
        if self.faces is not None:
            self.identity_distances.append(self.faces.distances(originals, reconstructions))
            self.originals_with_face.append(self.faces.finds_face(originals))

    def result(self, samples: np.ndarray | None = None) -> dict:
        """sharpness, checkerboard, periodic_excess, identity_kept, identity_distance_median, face_rate (of `samples`,
        prior draws) and face_rate_originals; None where not measured (no recognizer, or no samples).

        periodic_excess: over every colour channel and every bin at or beside the artefact frequencies, the largest
        ratio of the reconstructions' summed power to the originals'. About 1 or less for a faithful or blurred
        decoder; a pattern drawn in one colour, or under a slow wave, which the grey peak measure misses, lifts it."""
        excess = self.near_power["reconstructions"] / np.maximum(self.near_power["originals"], 1e-20)
        result = {
            "sharpness": round(float(np.median(np.concatenate(self.sharpness))), 4),
            "checkerboard": round(float(np.median(np.concatenate(self.checkerboard))), 4),
            "periodic_excess": round(float(np.max(excess)), 3),
            "identity_kept": None, "identity_distance_median": None, "face_rate": None, "face_rate_originals": None,
        }
        if self.faces is not None:
            distances = np.concatenate(self.identity_distances)
            result["identity_kept"] = round(float(np.mean(distances <= SAME_PERSON_DISTANCE)), 4)
            result["identity_distance_median"] = round(float(np.median(distances)), 4)
            result["face_rate_originals"] = round(float(np.mean(np.concatenate(self.originals_with_face))), 4)
            if samples is not None and len(samples):
                result["face_rate"] = round(float(np.mean(self.faces.finds_face(samples))), 4)
        return result
