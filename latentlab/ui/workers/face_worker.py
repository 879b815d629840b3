"""Face encoding off the UI thread: detect, align, encode, reconstruct, find and render the nearest faces.

One job at a time, latest-wins: a photo submitted while another is being encoded replaces any
still waiting. Results and failures come back as signals carrying the request's source label.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Signal

from latentlab.errors import UserError
from latentlab.faces.align import EncodedPhoto, NoFaceFound, encode_photo
from latentlab.images import UnreadableImage, dataset_original, open_image
from latentlab.latent.space import LatentSpace
from latentlab.model.codec import Codec
from latentlab.pictures import to_uint8
from latentlab.ui.workers.latest_wins import LatestWinsWorker, WorkerThread

NEIGHBOURS = 5
THUMBNAIL_SIZE = 80


@dataclass(frozen=True)
class Neighbour:
    """A dataset face near the query: its row, file name, distance, reconstruction and original
    (cropped as the model saw it; None without the dataset folder), thumbnails as uint8."""

    index: int
    name: str
    distance: float
    reconstruction: np.ndarray
    original: np.ndarray | None


@dataclass(frozen=True)
class FaceMatch:
    """Everything the face panel shows for one photo or frame."""

    source: str
    encoded: EncodedPhoto
    reconstruction: np.ndarray
    neighbours: list[Neighbour]
    milliseconds: float


def thumbnail(rgb: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A square uint8 thumbnail (LANCZOS)."""
    return np.asarray(Image.fromarray(to_uint8(rgb)).resize((size, size), Image.Resampling.LANCZOS))


def original_thumbnail(data_dir: Path | None, name: str, crop: str) -> np.ndarray | None:
    """A thumbnail of dataset photo `name` cropped like the model saw it, or None when it cannot be read."""
    if data_dir is None:
        return None
    try:
        return thumbnail(dataset_original(Path(data_dir) / name, crop))
    except (UnreadableImage, OSError):
        return None


def match_face(codec: Codec, space: LatentSpace | None, rgb: np.ndarray, source: str, align: bool,
               data_dir: Path | None = None, k: int = NEIGHBOURS) -> FaceMatch:
    """The whole pipeline for one image; raises NoFaceFound when aligning finds no face."""
    started = time.perf_counter()
    encoded = encode_photo(codec, rgb, align=align)
    neighbours = []
    if space is not None and space.has_dataset and k > 0:
        indices, distances = space.nearest(encoded.z, k)
        latents = np.stack([encoded.z] + [space.latent(int(i)) for i in indices])
        images = to_uint8(codec.decode(latents))
        reconstruction = images[0]
        crop = space.crop or codec.config.crop
        for index, distance, image in zip(indices, distances, images[1:]):
            name = space.names[int(index)]
            neighbours.append(Neighbour(int(index), name, float(distance), thumbnail(image),
                                        original_thumbnail(data_dir, name, crop)))
    else:
        reconstruction = to_uint8(codec.decode(encoded.z))
    return FaceMatch(source, encoded, reconstruction, neighbours, (time.perf_counter() - started) * 1000.0)


class FaceMatchWorker(LatestWinsWorker):
    """Lives in a worker thread; runs match_face on the newest submitted image."""

    matched = Signal(object)  # FaceMatch
    no_face = Signal(str)  # the source label
    failed = Signal(str, str)  # source label, one-line reason

    def __init__(self, codec: Codec, space: LatentSpace | None, data_dir: Path | None):
        super().__init__()
        self.codec = codec
        self.space = space
        self.data_dir = data_dir

    def submit(self, image: np.ndarray | Path, source: str, align: bool) -> None:
        """Queue an RGB image or an image file (thread-safe), replacing any job not yet started."""
        self.submit_job((image, source, align))

    def process(self, job: tuple) -> None:
        image, source, align = job
        try:
            rgb = open_image(image) if isinstance(image, Path) else image
            self.matched.emit(match_face(self.codec, self.space, rgb, source, align, self.data_dir))
        except NoFaceFound:
            self.no_face.emit(source)
        except UnreadableImage as exc:
            self.failed.emit(source, f"cannot read {Path(image).name}: {exc}")
        except UserError as exc:
            self.failed.emit(source, str(exc))
        except Exception as exc:  # a failing photo is reported in the panel, never fatal
            self.failed.emit(source, f"encoding failed: {exc}")


class AsyncFaceMatcher(WorkerThread):
    """The face matcher's thread: `submit(...)` from the UI thread, results arrive as signals."""

    matched = Signal(object)
    no_face = Signal(str)
    failed = Signal(str, str)

    def __init__(self, codec: Codec, space: LatentSpace | None, data_dir: Path | None, parent: QObject | None = None):
        super().__init__(FaceMatchWorker(codec, space, data_dir), "latentlab-faces", parent)
        self.worker.matched.connect(self.matched)
        self.worker.no_face.connect(self.no_face)
        self.worker.failed.connect(self.failed)

    def submit(self, image: np.ndarray | Path, source: str, align: bool) -> None:
        self.worker.submit(image, source, align)

    def set_data_dir(self, data_dir: Path | None) -> None:
        self.worker.data_dir = data_dir
