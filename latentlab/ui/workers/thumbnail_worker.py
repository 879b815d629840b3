"""Thumbnails of dataset faces off the UI thread, latest wins: the Atlas asks for the faces in view (a few hundred at a
time) and for the face under the mouse; the worker makes them in chunks and sends each chunk back as it is done.
A newer request replaces the one waiting and cuts the running one short after its current chunk.

A thumbnail is the original photo (cropped as the model saw it) when `load_original(index)` gives one, else the
model's reconstruction (`decode` of the dataset latent), resized to `size` px.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Signal

from latentlab.pictures import to_uint8
from latentlab.ui.workers.latest_wins import LatestWinsWorker, WorkerThread

CHUNK = 32


def shrink(image: np.ndarray, size: int) -> np.ndarray:
    """A uint8 (H, W, 3) picture resized to (size, size, 3)."""
    return np.asarray(Image.fromarray(to_uint8(image)).resize((size, size), Image.Resampling.BILINEAR))


class ThumbnailWorker(LatestWinsWorker):
    """Makes the thumbnails of the newest list of dataset indices."""

    ready = Signal(object, object)  # the indices (list of int), their thumbnails (list of (S, S, 3) uint8)
    failed = Signal(str)

    def __init__(self, latents: np.ndarray, decode: Callable[[np.ndarray], np.ndarray], size: int,
                 load_original: Callable[[int], np.ndarray | None] | None = None):
        super().__init__()
        self._latents = latents
        self._decode = decode
        self._size = size
        self.load_original = load_original
        self.made = 0

    def request(self, indices) -> None:
        self.submit_job([int(i) for i in indices])

    def _superseded(self) -> bool:
        with self._lock:
            return self._pending is not None

    def process(self, indices: list[int]) -> None:
        for start in range(0, len(indices), CHUNK):
            if start and self._superseded():
                return
            chunk = indices[start:start + CHUNK]
            try:
                pictures: list[np.ndarray | None] = [None] * len(chunk)
                if self.load_original is not None:
                    pictures = [self.load_original(i) for i in chunk]
                missing = [k for k, p in enumerate(pictures) if p is None]
                if missing:
                    decoded = to_uint8(self._decode(self._latents[[chunk[k] for k in missing]].astype(np.float32)))
                    for k, image in zip(missing, decoded):
                        pictures[k] = image
                thumbs = [shrink(p, self._size) for p in pictures]
            except Exception as exc:  # reported in the panel, never fatal
                self.failed.emit(f"thumbnails failed: {exc}")
                return
            self.made += len(chunk)
            self.ready.emit(chunk, thumbs)


class AsyncThumbnails(WorkerThread):
    """The thumbnail worker's thread: `request(indices)` from the UI thread, results arrive as `ready`."""

    ready = Signal(object, object)
    failed = Signal(str)

    def __init__(self, latents: np.ndarray, decode: Callable[[np.ndarray], np.ndarray], size: int,
                 load_original: Callable[[int], np.ndarray | None] | None = None, name: str = "latentlab-thumbnails",
                 parent: QObject | None = None):
        super().__init__(ThumbnailWorker(latents, decode, size, load_original), name, parent)
        self.worker.ready.connect(self.ready)
        self.worker.failed.connect(self.failed)

    def request(self, indices) -> None:
        self.worker.request(indices)

    def set_original_loader(self, load_original: Callable[[int], np.ndarray | None] | None) -> None:
        self.worker.load_original = load_original
