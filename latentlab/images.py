"""Images in, uint8 arrays out: find image files, open any of them safely, crop, resize, split, batch.

Everything here is NumPy + Pillow; `latentlab.train.dataset` builds the tf.data training pipeline on top.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from latentlab.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
CELEBA_ALIGNED_SIZE = (178, 218)  # width, height of CelebA's aligned images
CELEBA_CROP_FRACTION = 148 / 178  # the centred 148 px square of CelebA VAE work
MAX_PIXELS = 64_000_000  # larger images are refused instead of exhausting memory
PARTITION_FILE = "list_eval_partition.txt"
PREPARED_MARKER = "latentlab_prepared.json"
DEFAULT_WORKERS = min(8, (os.cpu_count() or 2) * 2)

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class UnreadableImage(Exception):
    """An image file that cannot be decoded (truncated, not an image, too large)."""


def find_images(root: str | os.PathLike) -> list[Path]:
    """Every image file under `root`, searched recursively, sorted by path."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"{root} does not exist: point --data at a folder of images")
    if not root.is_dir():
        raise UserError(f"{root} is a file, not a folder: point --data at a folder of images")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not paths:
        raise UserError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    return paths


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB: alpha composited onto white, palette / grayscale / 16-bit / CMYK converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(values * (255.0 if values.max() <= 1 else 1.0), 0, 255).astype(np.uint8))
    if image.mode == "P" or (image.mode not in ("RGB", "RGBA", "LA", "L") and "transparency" in image.info):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def open_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to an RGB uint8 array (H, W, 3), EXIF rotation applied.

    Raises UnreadableImage for anything that is not a decodable image within MAX_PIXELS.
    """
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UnreadableImage(f"{image.width}x{image.height} is over the {MAX_PIXELS:,} pixel limit")
            image.load()
            image = ImageOps.exif_transpose(image)
            return np.asarray(to_rgb(image))
    except UnreadableImage:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        raise UnreadableImage(str(exc) or type(exc).__name__) from None


def crop_box(width: int, height: int, crop: str) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the region kept by `crop` ('celeba', 'center' or 'none')."""
    if crop == "none":
        return (0, 0, width, height)
    if crop == "celeba":
        side = min(round(width * CELEBA_CROP_FRACTION), height)
    elif crop == "center":
        side = min(width, height)
    else:
        raise UserError(f"unknown crop {crop!r}: use celeba, center or none")
    left, top = (width - side) // 2, (height - side) // 2
    return (left, top, left + side, top + side)


def dataset_original(path: str | os.PathLike, crop: str) -> np.ndarray:
    """A dataset photo cropped as the model saw it (RGB uint8, before the resize); UnreadableImage / OSError."""
    rgb = open_image(path)
    left, top, right, bottom = crop_box(rgb.shape[1], rgb.shape[0], crop)
    return rgb[top:bottom, left:right].copy()


def preprocess(rgb: np.ndarray, size: int, crop: str) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> cropped, anti-aliased resize to (size, size, 3) uint8."""
    image = Image.fromarray(rgb)
    box = crop_box(image.width, image.height, crop)
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0))


def default_crop(paths: Sequence[Path]) -> str:
    """'celeba' when the first image has CelebA's aligned size (178x218), otherwise 'center'."""
    for path in paths[:5]:
        try:
            with Image.open(path) as image:
                return "celeba" if image.size == CELEBA_ALIGNED_SIZE else "center"
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    return "center"


@dataclass
class SkipReport:
    """Files skipped while loading (unreadable ones, or what `what` names), reported once."""

    skipped: list[tuple[Path, str]] = field(default_factory=list)
    what: str = "unreadable image(s)"

    def add(self, path: Path, reason: str) -> None:
        self.skipped.append((Path(path), reason))

    def __len__(self) -> int:
        return len(self.skipped)

    def message(self) -> str:
        names = ", ".join(f"{p.name} ({reason[:60]})" for p, reason in self.skipped[:3])
        more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
        return f"skipped {len(self.skipped)} {self.what}: {names}{more}"

    def warn(self) -> None:
        if self.skipped:
            warnings.warn(self.message(), stacklevel=2)


def load_preprocessed(path: Path, size: int, crop: str) -> np.ndarray:
    """open_image + preprocess; raises UnreadableImage."""
    return preprocess(open_image(path), size, crop)


def iter_batches(
    paths: Sequence[Path], size: int, crop: str, batch_size: int = 64,
    report: SkipReport | None = None, workers: int = DEFAULT_WORKERS,
) -> Iterator[tuple[list[Path], np.ndarray]]:
    """Yield (paths, uint8 images (n, size, size, 3)) in order, decoding in a thread pool.

    Unreadable files are left out of the batch and recorded in `report`.
    """
    report = report if report is not None else SkipReport()

    def load(path):
        try:
            return path, load_preprocessed(path, size, crop)
        except UnreadableImage as exc:
            return path, str(exc)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(paths), batch_size):
            kept, images = [], []
            for path, result in pool.map(load, paths[start : start + batch_size]):
                if isinstance(result, str):
                    report.add(path, result)
                else:
                    kept.append(path)
                    images.append(result)
            if images:
                yield kept, np.stack(images)


def load_array(paths: Sequence[Path], size: int, crop: str,
               report: SkipReport | None = None) -> tuple[list[Path], np.ndarray]:
    """All readable images of `paths` as one uint8 array (N, size, size, 3)."""
    kept, chunks = [], []
    for batch_paths, images in iter_batches(paths, size, crop, batch_size=512, report=report):
        kept.extend(batch_paths)
        chunks.append(images)
    if not chunks:
        raise UserError(f"none of the {len(paths)} image file(s) could be read")
    return kept, np.concatenate(chunks)


def split_paths(paths: Sequence[Path], root: str | os.PathLike, val_fraction: float = 0.05,
                seed: int = 0) -> tuple[list[Path], list[Path]]:
    """(train, validation): CelebA's official partition when list_eval_partition.txt sits in or
    beside `root` (0 = train, 1 = validation; test images are left out), otherwise a seeded split."""
    partition = read_partition(root)
    if partition:
        train = [p for p in paths if partition.get(p.stem) == 0]
        val = [p for p in paths if partition.get(p.stem) == 1]
        if train and val:
            return train, val
    order = np.random.default_rng(seed).permutation(len(paths))
    n_val = max(1, int(round(len(paths) * val_fraction))) if len(paths) > 1 else 0
    val = sorted(paths[i] for i in order[:n_val])
    train = sorted(paths[i] for i in order[n_val:])
    return train, val


def read_partition(root: str | os.PathLike) -> dict[str, int]:
    """{file stem: partition} from list_eval_partition.txt in `root` or its parent; {} if absent."""
    root = Path(root)
    for candidate in (root / PARTITION_FILE, root.parent / PARTITION_FILE):
        if candidate.is_file():
            partition = {}
            for line in candidate.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    partition[Path(parts[0]).stem] = int(parts[1])
            return partition
    return {}


def find_split(root: str | os.PathLike, split: str = "all", limit: int | None = None) -> list[Path]:
    """The images under `root` of one split ('all', 'train' or 'val'), the first `limit` of them when given."""
    paths = select_split(find_images(root), root, split)
    return paths[:limit] if limit else paths


def select_split(paths: Sequence[Path], root, split: str) -> list[Path]:
    """'all', 'train' or 'val' of `paths` (see split_paths)."""
    if split == "all":
        return list(paths)
    train, val = split_paths(paths, root)
    return train if split == "train" else val


def prepared_crop(root: str | os.PathLike) -> str | None:
    """The crop already applied to a folder written by `prepare_folder`, else None."""
    marker = Path(root) / PREPARED_MARKER
    if not marker.is_file():
        return None
    try:
        return json.loads(marker.read_text())["crop"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UserError(f"{marker} is malformed: delete the folder and run `vae.py prepare` again") from None


def prepared_and_model_crop(root: str | os.PathLike, model_crop: str) -> str:
    """The crop to apply when reading `root` for a model trained with `model_crop`:
    'none' for a folder `prepare_folder` already cropped, else the model's own."""
    return "none" if prepared_crop(root) else model_crop


def prepare_folder(source, destination, size: int, crop: str, quality: int = 75,
                   report: SkipReport | None = None) -> int:
    """Write every readable image of `source`, cropped and resized, as WebP under `destination`.

    A compact copy for training elsewhere (a GPU machine): 22,000 CelebA faces at 128 px take
    about 50 MB. The partition file and a marker recording the crop come along, so training on
    the copy records the original crop. Returns the number of images written.
    """
    source, destination = Path(source), Path(destination)
    paths = find_images(source)
    written = 0
    for batch_paths, images in iter_batches(paths, size, crop, batch_size=256, report=report):
        for path, image in zip(batch_paths, images):
            target = destination / path.relative_to(source).with_suffix(".webp")
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(target, "WEBP", quality=quality)
            written += 1
    for candidate in (source / PARTITION_FILE, source.parent / PARTITION_FILE):
        if candidate.is_file():
            shutil.copyfile(candidate, destination / PARTITION_FILE)
            break
    marker = {"crop": crop, "size": size, "source": str(source), "images": written}
    (destination / PREPARED_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return written
