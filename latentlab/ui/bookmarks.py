"""BookmarkStore: the faces a user starred, kept per model across sessions (no widgets).

A bookmark is a latent, a small thumbnail of its decoding, where it came from (the window's source line), a name and
when it was made. The bookmarks of one model live in one file, `FOLDER/<fingerprint>/bookmarks.npz`, where FOLDER is
the user's application-data folder (`default_folder`, QStandardPaths.AppDataLocation) and the fingerprint is the
weights' (latentlab.files.weights_fingerprint). The file also records that fingerprint and the latent size, and a
file made for other weights is refused: its bookmarks are never offered for this model, and the file is kept (moved
aside, never overwritten) when this model's bookmarks are first saved. Every change rewrites the file atomically.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from latentlab.errors import UserError
from latentlab.files import atomic_write_bytes, read_npz
from latentlab.latent.space import save_latent_file
from latentlab.pictures import save_png

BOOKMARKS_FILE = "bookmarks.npz"
THUMBNAIL_SIZE = 64
FORMAT_VERSION = 1
NAME_LIMIT = 80
STORE_HINT = "bookmarks are kept per model; star faces again for this model"


@dataclass(frozen=True)
class Bookmark:
    """One starred face: `z` (D,) float32, `thumbnail` (T, T, 3) uint8, `source` (where the face came from),
    `name` (what the gallery shows), `created` (seconds since the epoch), `key` (unique within its store)."""

    key: str
    name: str
    z: np.ndarray
    thumbnail: np.ndarray
    source: str
    created: float
    dataset_index: int | None = None


def default_folder() -> Path:
    """The user's application-data folder for bookmarks (QStandardPaths.AppDataLocation / bookmarks)."""
    from PySide6.QtCore import QStandardPaths

    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "bookmarks"


def thumbnail(image: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A decoded face (H, W, 3) uint8 as a size x size thumbnail."""
    image = np.asarray(image, np.uint8)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise UserError(f"a thumbnail needs an (H, W, 3) picture, got shape {image.shape}")
    if image.shape[:2] == (size, size):
        return image.copy()
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS))


def short_name(source: str) -> str:
    """A default name from a source line: 'dataset #17 (000018.jpg)' -> 'dataset #17', 'random (range 1.00)' ->
    'random'."""
    name = source.split(" (")[0].strip() or "face"
    return name[:NAME_LIMIT]


def file_stem(index: int, name: str) -> str:
    """`03-dataset-17`: a safe file name for the index-th bookmark called `name`."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:40] or "face"
    return f"{index:02d}-{slug}"


class BookmarkStore:
    """The bookmarks of the model with weights fingerprint `fingerprint` and latent size `latent_dim`.

    `folder` is the root of every model's bookmarks (None: kept in memory only, for a model without a weights
    file). `bookmarks` is the list, oldest first; `note` says why a file found there was not used ("" when none).
    Each change is written at once; a failed write raises UserError and leaves the list as it was.
    """

    def __init__(self, folder: str | os.PathLike | None, fingerprint: str, latent_dim: int):
        self.fingerprint = str(fingerprint)
        self.latent_dim = int(latent_dim)
        self.path = None if folder is None else Path(folder) / self.fingerprint / BOOKMARKS_FILE
        self.note = ""
        self._foreign = False  # the file there was made for other weights: move it aside before the first write
        self.bookmarks: list[Bookmark] = []
        if self.path is not None and self.path.is_file():
            try:
                self.bookmarks = self._read(self.path)
            except UserError as exc:
                self.note = str(exc)
                self._foreign = True

    @property
    def persistent(self) -> bool:
        return self.path is not None

    def __len__(self) -> int:
        return len(self.bookmarks)

    def get(self, key: str) -> Bookmark:
        for bookmark in self.bookmarks:
            if bookmark.key == key:
                return bookmark
        raise UserError(f"no bookmark {key!r}")

    # --------------------------------------------------------------------------------- changes

    def add(self, z: np.ndarray, image: np.ndarray, source: str, name: str = "",
            dataset_index: int | None = None) -> Bookmark:
        """Star latent `z` whose decoding is `image` (any size; kept as a thumbnail); the new bookmark."""
        z = np.asarray(z, np.float32).reshape(-1)
        if z.shape != (self.latent_dim,) or not np.isfinite(z).all():
            raise UserError(f"a bookmark needs {self.latent_dim} finite latent values, got shape {z.shape}")
        created = time.time()
        key = f"{int(created * 1000):x}-{len(self.bookmarks)}"
        while any(b.key == key for b in self.bookmarks):
            key += "x"
        bookmark = Bookmark(key, (name.strip() or short_name(source))[:NAME_LIMIT], z.copy(), thumbnail(image),
                            source, created, dataset_index)
        self._commit([*self.bookmarks, bookmark])
        return bookmark

    def rename(self, key: str, name: str) -> Bookmark:
        name = name.strip()[:NAME_LIMIT]
        if not name:
            raise UserError("a bookmark needs a name")
        renamed = replace(self.get(key), name=name)
        self._commit([renamed if b.key == key else b for b in self.bookmarks])
        return renamed

    def remove(self, key: str) -> Bookmark:
        removed = self.get(key)
        self._commit([b for b in self.bookmarks if b.key != key])
        return removed

    def _commit(self, bookmarks: list[Bookmark]) -> None:
        """Write `bookmarks` (the file first, then the list: a failed write changes nothing)."""
        if self.path is not None:
            if self._foreign and self.path.is_file():
                aside = self.path.with_name(f"bookmarks-refused-{int(time.time())}.npz")
                try:
                    os.replace(self.path, aside)
                except OSError as exc:
                    raise UserError(f"could not move the refused bookmarks file aside: {exc}") from None
                self.note = f"{self.note} (kept as {aside.name})"
            self._foreign = False
            try:
                atomic_write_bytes(self.path, self._payload(bookmarks))
            except OSError as exc:
                raise UserError(f"could not save the bookmarks: {exc}") from None
        self.bookmarks = bookmarks

    # ---------------------------------------------------------------------------- the file

    def _payload(self, bookmarks: list[Bookmark]) -> bytes:
        meta = [{"key": b.key, "name": b.name, "source": b.source, "created": b.created,
                 "dataset_index": b.dataset_index} for b in bookmarks]
        size = THUMBNAIL_SIZE
        arrays = {
            "version": np.array(FORMAT_VERSION),
            "weights_sha": np.array(self.fingerprint),
            "latent_dim": np.array(self.latent_dim),
            "z": np.stack([b.z for b in bookmarks]) if bookmarks else np.zeros((0, self.latent_dim), np.float32),
            "thumbnails": (np.stack([b.thumbnail for b in bookmarks]) if bookmarks
                           else np.zeros((0, size, size, 3), np.uint8)),
            "meta": np.array(json.dumps(meta)),
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    def _read(self, path: Path) -> list[Bookmark]:
        arrays = read_npz(path, "a bookmarks file", STORE_HINT)
        missing = [k for k in ("weights_sha", "latent_dim", "z", "thumbnails", "meta") if k not in arrays]
        if missing:
            raise UserError(f"{path.name} lacks {', '.join(missing)}: {STORE_HINT}")
        sha, dim = str(arrays["weights_sha"]), int(arrays["latent_dim"])
        if sha != self.fingerprint:
            raise UserError(f"bookmarks were made for other weights ({sha}, this model is {self.fingerprint}): "
                            "they are not offered for this model")
        z, thumbs = arrays["z"], arrays["thumbnails"]
        try:
            meta = json.loads(str(arrays["meta"]))
        except ValueError:
            raise UserError(f"{path.name} holds unreadable bookmark names: {STORE_HINT}") from None
        if (dim != self.latent_dim or z.ndim != 2 or z.shape[1] != self.latent_dim or len(z) != len(meta)
                or len(thumbs) != len(meta) or not np.isfinite(z).all()):
            raise UserError(f"{path.name} holds bookmarks of another shape (latent {dim}, {len(meta)} entries) than "
                            f"this model's latent {self.latent_dim}: {STORE_HINT}")
        return [Bookmark(str(m["key"]), str(m["name"]), z[i].astype(np.float32), thumbs[i].astype(np.uint8),
                         str(m.get("source", "")), float(m.get("created", 0.0)), m.get("dataset_index"))
                for i, m in enumerate(meta)]


def export_bookmarks(bookmarks: list[Bookmark], images: list[np.ndarray], folder: str | os.PathLike) -> list[Path]:
    """Write each bookmark as `NN-name.png` (its decoding, `images[i]`, at the model's resolution) and `NN-name.npy`
    (its latent, which File > Open Latent reads) into `folder`; the paths written (each file atomically)."""
    if not bookmarks:
        raise UserError("no bookmarks to export: star a face first")
    if len(images) != len(bookmarks):
        raise UserError(f"{len(images)} pictures for {len(bookmarks)} bookmarks")
    folder = Path(folder)
    written = []
    try:
        for i, (bookmark, image) in enumerate(zip(bookmarks, images), start=1):
            stem = file_stem(i, bookmark.name)
            written.append(save_png(folder / f"{stem}.png", image))
            written.append(save_latent_file(folder / f"{stem}.npy", bookmark.z))
    except OSError as exc:
        raise UserError(f"could not write the bookmarks to {folder}: {exc}") from None
    return written
