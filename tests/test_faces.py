"""Face detection and CelebA-style alignment: exact geometry on synthetic points, the no-face path, and
real CelebA faces (from ../shared, skipped when absent) rotated and rescaled, then aligned back."""

import cv2
import numpy as np
import pytest

from latentlab.config import PROJECT_ROOT
from latentlab.data import CELEBA_ALIGNED_SIZE, open_image
from latentlab.faces import (
    CELEBA_LANDMARKS, Face, NoFaceFound, align_face, detect_faces, largest_face, similarity_transform,
    transform_points, whole_image_crop,
)

CELEBA_DIR = PROJECT_ROOT.parent / "shared" / "datasets" / "celeba" / "img_align_celeba"
needs_celeba = pytest.mark.skipif(not CELEBA_DIR.is_dir(), reason=f"CelebA images not found in {CELEBA_DIR}")
EYE_TOLERANCE_PX = 5.0  # per eye; CelebA's own eyes spread about 2 px around these positions


def distort(rgb: np.ndarray, angle: float, scale: float, canvas=(480, 420)) -> np.ndarray:
    """The image rotated by `angle` degrees and scaled, centred on a grey canvas (width, height)."""
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[:, 2] += np.array(canvas) / 2 - np.array([width / 2, height / 2])
    return cv2.warpAffine(rgb, matrix, canvas, borderMode=cv2.BORDER_CONSTANT, borderValue=(128, 128, 128))


def test_similarity_transform_recovers_rotation_scale_and_shift():
    angle, scale, shift = np.deg2rad(23.0), 1.7, np.array([12.0, -40.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = np.random.default_rng(0).uniform(0, 200, (5, 2))
    moved = points @ rotation.T + shift
    matrix = similarity_transform(points, moved, np.array([1.0, 1.0, 0.1, 0.1, 0.1]))
    np.testing.assert_allclose(matrix[:, :2], rotation, atol=1e-9)
    np.testing.assert_allclose(transform_points(matrix, points), moved, atol=1e-8)


def test_align_face_puts_given_landmarks_on_celeba_positions():
    """Dots drawn at a tilted, shrunken face's eyes land on CelebA's eye positions."""
    photo = np.full((600, 800, 3), 90, np.uint8)
    angle, scale = np.deg2rad(-30.0), 2.6
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = CELEBA_LANDMARKS @ rotation.T + np.array([300.0, 20.0])
    for x, y in landmarks[:2]:
        cv2.circle(photo, (round(x), round(y)), 6, (255, 255, 255), -1)
    face = Face(box=np.array([200.0, 150.0, 600.0, 550.0]), confidence=1.0, landmarks=landmarks)
    aligned = align_face(photo, face, refine=False)
    assert aligned.image.shape == (CELEBA_ALIGNED_SIZE[1], CELEBA_ALIGNED_SIZE[0], 3)
    assert aligned.image.dtype == np.uint8
    for x, y in CELEBA_LANDMARKS[:2]:
        assert aligned.image[round(y), round(x)].min() > 200
    np.testing.assert_allclose(transform_points(aligned.matrix, landmarks), CELEBA_LANDMARKS, atol=1e-6)


@pytest.mark.parametrize("kind", ["noise", "gradient"])
def test_pictures_without_a_face_raise_no_face_found(kind):
    rng = np.random.default_rng(3)
    if kind == "noise":
        picture = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    else:
        ramp = np.linspace(0, 255, 320, dtype=np.float32)
        picture = np.stack([np.tile(ramp, (240, 1)), np.tile(ramp[::-1], (240, 1)), np.full((240, 320), 90.0)], -1)
        picture = picture.astype(np.uint8)
    assert detect_faces(picture) == []
    with pytest.raises(NoFaceFound):
        largest_face(picture)
    with pytest.raises(NoFaceFound):
        align_face(picture)


def test_whole_image_crop_keeps_the_model_crop_only_for_celeba_sized_pictures():
    assert whole_image_crop(np.zeros((218, 178, 3), np.uint8), "celeba") == "celeba"
    assert whole_image_crop(np.zeros((480, 640, 3), np.uint8), "celeba") == "center"
    assert whole_image_crop(np.zeros((480, 640, 3), np.uint8), "none") == "none"


@needs_celeba
@pytest.mark.parametrize("name, angle, scale", [
    ("000004.jpg", 24.0, 1.6),
    ("000034.jpg", -28.0, 0.75),
    ("000054.jpg", 12.0, 2.3),
])
def test_aligning_a_rotated_rescaled_celeba_face_puts_its_eyes_back(name, angle, scale):
    photo = distort(open_image(CELEBA_DIR / name), angle, scale)
    aligned = align_face(photo)
    again = detect_faces(aligned.image)
    assert again, "the aligned face is found again"
    errors = np.linalg.norm(again[0].eyes - CELEBA_LANDMARKS[:2], axis=1)
    assert errors.max() < EYE_TOLERANCE_PX, errors


@needs_celeba
def test_large_photos_are_detected_at_a_reduced_size_and_mapped_back():
    face = open_image(CELEBA_DIR / "000004.jpg")
    small = largest_face(face)
    large = largest_face(cv2.resize(face, None, fx=5, fy=5, interpolation=cv2.INTER_CUBIC))
    np.testing.assert_allclose(large.eyes / 5, small.eyes, atol=3.0)
