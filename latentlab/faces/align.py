"""Faces in photos: detection with 5 landmarks (mtcnn), CelebA-style alignment, and the encode pipeline.

A photo or a webcam frame becomes a 178x218 image laid out like CelebA's aligned images (the eyes
where CelebA has them), then goes through the model's own crop / resize and the encoder. No Qt here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from latentlab.images import CELEBA_ALIGNED_SIZE, crop_box

if TYPE_CHECKING:
    from latentlab.model.codec import Codec

# Where mtcnn finds the landmarks on CelebA's aligned 178x218 images (mean over 398 random images,
# pixels): left eye, right eye (as seen in the image), nose tip, left and right mouth corner.
CELEBA_LANDMARKS = np.array(
    [[69.5, 111.4], [107.7, 111.2], [88.2, 134.7], [71.3, 152.6], [105.7, 152.4]], np.float64
)
# Least-squares weights of the landmarks in the alignment: the eyes decide, nose and mouth only steady
# the scale when the eyes are poorly found (on 40 rotated and rescaled CelebA faces, one pass: eyes
# only 1.1 px mean eye error, these weights 1.3 px, all five points equal 2.2 px).
LANDMARK_WEIGHTS = np.array([1.0, 1.0, 0.1, 0.1, 0.1])
DETECTION_MAX_SIDE = 720  # photos are detected on a copy at most this large, landmarks scaled back
MIN_FACE_FRACTION = 0.05  # smallest face searched for, as a fraction of the image's shorter side
MIN_FACE_PIXELS = 20  # mtcnn's smallest face at the size it detects on
ONET_SIZE = 48  # mtcnn's last stage reads landmarks from a 48x48 crop of the face box
ONET_MIN_CONFIDENCE = 0.7  # ONet's face probability below this: no face in the box (mtcnn's own threshold is 0.8)
REFINE_RADIUS = 20.0  # pixels: a face found again on the aligned image must have its eyes this near
# Where a tightly cropped photo leaves the aligned frame uncovered, the gap is filled, never mirrored
# (reflection puts copies of the eyes and half-faces around the face): the photo's edge pixels are
# continued for FILL_FEATHER_PX and fade into its colours near the edge, blurred by FILL_BLUR_SIGMA px,
# which further out fade into the mean colour of that edge. Covered pixels are kept as they are.
# (Tight crops of 16 CelebA faces: z_mean landed 10.5 from the uncropped face's with this fill, 13.6 with
# reflection, medians; tests/test_faces.py.)
FILL_FEATHER_PX = 8.0
FILL_BLUR_SIGMA = 12.0
FILL_EDGE_PX = 8.0  # the edge colour is the mean of the covered pixels this near the gap
FILL_EDGE_WEIGHT = 0.05  # the edge colour's weight against the blurred coverage (0..1) in the fill
# A photo counts as cropped tightly when more than this part of the model's input was filled in: from
# there on the fill moves z_mean further than a 1 px misalignment does (40 CelebA faces with bands cut
# off: 5% filled moved it 1.55, 8.5% filled 2.9 (medians); a 1 px shift 2.45). Filled frame outside the
# model's crop does not count, as it never reaches the encoder.
TIGHT_CROP_FILLED = 0.08


class NoFaceFound(Exception):
    """The detector found no face in the image."""


@dataclass(frozen=True)
class Face:
    """One detected face: box (x1, y1, x2, y2), detector confidence, landmarks (5, 2) as in
    CELEBA_LANDMARKS (left eye, right eye, nose, mouth left, mouth right), in image pixels."""

    box: np.ndarray
    confidence: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))

    @property
    def eyes(self) -> np.ndarray:
        return self.landmarks[:2]


class FaceDetector:
    """mtcnn's MTCNN, created on first use (importing it loads TensorFlow and its weights);
    thread-safe: one detection at a time.

    Large photos are searched on a reduced copy (at most DETECTION_MAX_SIDE px, and small enough that
    a face of MIN_FACE_FRACTION of the shorter side is mtcnn's smallest): landmarks come from a 48 px
    crop of each face either way, so only the time changes.
    """

    def __init__(self):
        self._mtcnn = None
        self._onet = None
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Every face in an RGB uint8 image, largest first."""
        rgb = np.ascontiguousarray(rgb[..., :3], np.uint8)
        height, width = rgb.shape[:2]
        scale = min(1.0, DETECTION_MAX_SIDE / max(height, width),
                    MIN_FACE_PIXELS / (MIN_FACE_FRACTION * min(height, width)))
        small = rgb if scale == 1.0 else cv2.resize(
            rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
        to_photo = np.array([width / small.shape[1], height / small.shape[0]])
        if min(small.shape[:2]) < MIN_FACE_PIXELS:
            return []
        with self._lock:
            if self._mtcnn is None:
                from mtcnn import MTCNN

                self._mtcnn = MTCNN()
            rows = self._mtcnn.detect_faces(small, box_format="xyxy", output_type="numpy",
                                            min_face_size=MIN_FACE_PIXELS)
        rows = np.asarray(rows, np.float64).reshape(-1, 16)
        faces = [
            Face(box=row[1:5] * np.tile(to_photo, 2), confidence=float(row[5]),
                 landmarks=row[6:16].reshape(2, 5).T * to_photo)
            for row in rows
        ]
        return sorted(faces, key=lambda face: face.area, reverse=True)

    def landmarks_in_box(self, rgb: np.ndarray, box: np.ndarray) -> Face | None:
        """mtcnn's last stage (ONet) alone on one box (x1, y1, x2, y2) of an RGB uint8 image: the face there, its
        box refined and its 5 landmarks, or None when ONet's face probability is below ONET_MIN_CONFIDENCE. About
        2 ms instead of a full detection's 75 ms or more: the live mirror follows a face with it between detections."""
        x1, y1, x2, y2 = square_box(box)
        side = x2 - x1
        if side < MIN_FACE_PIXELS / 2:
            return None
        scale = (ONET_SIZE - 1) / side  # sample 0 on x1, sample 47 on x2, as tf.image.crop_and_resize does
        to_patch = np.array([[scale, 0.0, -x1 * scale], [0.0, scale, -y1 * scale]])
        patch = cv2.warpAffine(np.ascontiguousarray(rgb[..., :3], np.uint8), to_patch, (ONET_SIZE, ONET_SIZE),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        patch = (patch.astype(np.float32) - 127.5) / 128.0  # mtcnn's normalisation
        with self._lock:
            if self._onet is None:
                self._onet = self._compile_onet()
            offsets, landmarks, scores = self._onet(patch[None])
        confidence = float(scores[0, 1])
        if confidence < ONET_MIN_CONFIDENCE:
            return None
        width = height = side + 1.0  # mtcnn's box width convention
        points = np.stack([width * landmarks[0, :5] + x1 - 1.0, height * landmarks[0, 5:] + y1 - 1.0], axis=1)
        refined = np.array([x1, y1, x2, y2]) + offsets[0] * np.array([width, height, width, height])
        return Face(box=refined, confidence=confidence, landmarks=points.astype(np.float64))

    def _compile_onet(self):
        """mtcnn's ONet as a tf.function of a fixed signature (eager calls cost 10 ms, this 2 ms)."""
        import tensorflow as tf

        if self._mtcnn is None:
            from mtcnn import MTCNN

            self._mtcnn = MTCNN()
        onet = self._mtcnn.get_stage(stage_id=3)._model
        function = tf.function(lambda x: onet(x), input_signature=[tf.TensorSpec((None, ONET_SIZE, ONET_SIZE, 3),
                                                                                  tf.float32)])
        return lambda patches: [output.numpy() for output in function(tf.constant(patches))]


def square_box(box: np.ndarray) -> np.ndarray:
    """The square (x1, y1, x2, y2) with the same centre as `box` and its longer side (as mtcnn squares boxes)."""
    x1, y1, x2, y2 = np.asarray(box, np.float64)
    side = max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return np.array([cx - side / 2.0, cy - side / 2.0, cx + side / 2.0, cy + side / 2.0])


_detector = FaceDetector()


def detect_faces(rgb: np.ndarray) -> list[Face]:
    """Every face in an RGB uint8 image, largest first (the shared, lazily created detector)."""
    return _detector.detect(rgb)


def shared_detector() -> FaceDetector:
    """The detector every caller shares (one mtcnn in memory)."""
    return _detector


def largest_face(rgb: np.ndarray) -> Face:
    """The largest face of the image; NoFaceFound when there is none."""
    faces = detect_faces(rgb)
    if not faces:
        raise NoFaceFound("no face found")
    return faces[0]


def similarity_transform(source: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The 2x3 rotation + uniform scale + translation that maps `source` points onto `target` points
    with the least weighted squared error (exact for two points)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    weights = np.ones(len(source)) if weights is None else np.asarray(weights, np.float64)
    x, y = source[:, 0], source[:, 1]
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    # x' = a x - b y + tx,  y' = b x + a y + ty
    rows = np.concatenate([np.stack([x, -y, ones, zeros], 1), np.stack([y, x, zeros, ones], 1)])
    values = np.concatenate([target[:, 0], target[:, 1]])
    root_weights = np.sqrt(np.concatenate([weights, weights]))
    (a, b, tx, ty), *_ = np.linalg.lstsq(rows * root_weights[:, None], values * root_weights, rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]])


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    points = np.asarray(points, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class AlignedFace:
    """A CelebA-style 178x218 RGB uint8 image of one face, the face it came from, the 2x3 matrix
    that maps photo pixels to aligned pixels, and the coverage (218, 178) float32: 1 where the photo
    covers the pixel, 0 where it was filled in (`fill_uncovered`), in between on the photo's edge."""

    image: np.ndarray
    face: Face
    matrix: np.ndarray
    coverage: np.ndarray

    @property
    def missing_fraction(self) -> float:
        """The part of the aligned frame the photo did not cover (0.0 when it covers it all)."""
        return float(1.0 - self.coverage.mean())


def align_face(rgb: np.ndarray, face: Face | None = None, refine: bool = True) -> AlignedFace:
    """Rotate, scale and shift the photo so the face sits like in CelebA's aligned images.

    `face` defaults to the largest detected one (NoFaceFound when there is none). With `refine`,
    the landmarks are found again on the aligned face, now upright and at CelebA's scale where the
    detector is most precise, and the transform corrected once. Strong shrinking first resizes the
    photo with area averaging, so small outputs of large photos do not alias. Parts of the frame the
    photo does not reach are filled in (`fill_uncovered`).
    """
    rgb = np.ascontiguousarray(rgb[..., :3], np.uint8)
    face = face or largest_face(rgb)
    matrix = similarity_transform(face.landmarks, CELEBA_LANDMARKS, LANDMARK_WEIGHTS)
    image, coverage = _warp(rgb, matrix)
    if refine:
        upright = _face_near_template(detect_faces(image))
        if upright is not None:
            correction = similarity_transform(upright.landmarks, CELEBA_LANDMARKS, LANDMARK_WEIGHTS)
            matrix = correction @ np.vstack([matrix, [0.0, 0.0, 1.0]])
            image, coverage = _warp(rgb, matrix)
    return AlignedFace(image=image, face=face, matrix=matrix, coverage=coverage)


def _face_near_template(faces: list[Face]) -> Face | None:
    """The face whose eyes are within REFINE_RADIUS of CelebA's, closest first; None if there is none."""
    target = CELEBA_LANDMARKS[:2].mean(axis=0)
    distances = [float(np.linalg.norm(face.eyes.mean(axis=0) - target)) for face in faces]
    if not distances or min(distances) > REFINE_RADIUS:
        return None
    return faces[int(np.argmin(distances))]


def _warp(rgb: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 178x218 output of the 2x3 `matrix` applied to the photo, uncovered parts filled in, and its
    coverage (as in AlignedFace)."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    source, source_matrix = rgb, matrix
    if scale < 0.75:
        height, width = rgb.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        source = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        shrink = np.array([[size[0] / width, 0.0, 0.0], [0.0, size[1] / height, 0.0]])
        source_matrix = matrix @ np.linalg.inv(np.vstack([shrink, [0.0, 0.0, 1.0]]))
    image = cv2.warpAffine(source, source_matrix, CELEBA_ALIGNED_SIZE, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    coverage = cv2.warpAffine(np.ones(source.shape[:2], np.float32), source_matrix, CELEBA_ALIGNED_SIZE,
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return fill_uncovered(image, coverage), coverage


def fill_uncovered(image: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """`image` (H, W, 3) uint8, warped with replicated borders, with the pixels its `coverage` (H, W, 0..1)
    does not fully cover filled in: the replicated edge fading over FILL_FEATHER_PX into the covered
    colours nearby, heavily blurred, and those into the edge's mean colour. Full coverage: `image` itself."""
    covered = coverage > 1.0 - 1e-4
    if covered.all() or not covered.any():
        return image
    pixels = image.astype(np.float32)
    weight = covered.astype(np.float32)
    inside = cv2.distanceTransform(covered.astype(np.uint8), cv2.DIST_L2, 5)
    edge_colour = pixels[covered & (inside <= FILL_EDGE_PX)].mean(axis=0)
    blur = dict(ksize=(0, 0), sigmaX=FILL_BLUR_SIGMA, borderType=cv2.BORDER_REPLICATE)
    near_sum = cv2.GaussianBlur(pixels * weight[..., None], **blur)
    near_weight = cv2.GaussianBlur(weight, **blur)[..., None]
    smooth = (near_sum + FILL_EDGE_WEIGHT * edge_colour) / (near_weight + FILL_EDGE_WEIGHT)
    outside = cv2.distanceTransform((~covered).astype(np.uint8), cv2.DIST_L2, 5)
    keep = np.clip(1.0 - outside / FILL_FEATHER_PX, 0.0, 1.0)[..., None]
    return np.clip(np.rint(keep * pixels + (1.0 - keep) * smooth), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class EncodedPhoto:
    """A photo through the whole pipeline: the face used (None without alignment), the CelebA-style
    aligned image (None without alignment), the model's input (S, S, 3) uint8, its z_mean (D,) and the
    part of the model's input that the photo did not cover and was filled in (0.0 without alignment)."""

    face: Face | None
    aligned: np.ndarray | None
    model_input: np.ndarray
    z: np.ndarray
    filled_fraction: float

    @property
    def cropped_tightly(self) -> bool:
        """More than TIGHT_CROP_FILLED of the model's input was filled in."""
        return self.filled_fraction > TIGHT_CROP_FILLED

    def crop_note(self) -> str:
        """One sentence for the user when the photo was cropped tightly, else ''."""
        if not self.cropped_tightly:
            return ""
        return (f"Photo cropped tightly: {self.filled_fraction:.0%} of what the model sees was filled in; "
                "a wider photo gives a truer face.")


def whole_image_crop(rgb: np.ndarray, model_crop: str) -> str:
    """The crop for an unaligned image: the model's own, except that a model trained on CelebA's
    crop takes the centred square of pictures that are not CelebA-sized."""
    height, width = rgb.shape[:2]
    if model_crop == "celeba" and (width, height) != CELEBA_ALIGNED_SIZE:
        return "center"
    return model_crop


def encode_photo(codec: Codec, rgb: np.ndarray, align: bool = True) -> EncodedPhoto:
    """Detect and align the largest face (NoFaceFound when none) or, with align=False, take the whole
    image; then the model's crop / resize and z_mean."""
    rgb = np.ascontiguousarray(rgb[..., :3], np.uint8)
    if align:
        aligned = align_face(rgb)
        model_input = codec.preprocess(aligned.image)
        left, top, right, bottom = crop_box(*CELEBA_ALIGNED_SIZE, codec.config.crop)
        filled = float(1.0 - aligned.coverage[top:bottom, left:right].mean())
        face, aligned_image = aligned.face, aligned.image
    else:
        model_input = codec.preprocess(rgb, whole_image_crop(rgb, codec.config.crop))
        face, aligned_image, filled = None, None, 0.0
    return EncodedPhoto(face=face, aligned=aligned_image, model_input=model_input,
                        z=np.asarray(codec.encode(model_input), np.float32), filled_fraction=filled)
