"""The tf.data pipeline that training reads: parallel decoding of an image folder, an on-disk cache of the
preprocessed images, shuffling, flips and batches (TensorFlow is imported inside the functions)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentlab.errors import UserError
from latentlab.images import SkipReport, UnreadableImage, load_preprocessed


def cache_key(paths: Sequence[Path], size: int, crop: str) -> str:
    """A short hash naming the preprocessed cache of these files at this size and crop."""
    digest = hashlib.sha1(f"{size}|{crop}".encode())
    for path in paths:
        digest.update(str(Path(path).resolve()).encode())
    return digest.hexdigest()[:12]


def decoded_images(paths: Sequence[Path], size: int, crop: str, report: SkipReport,
                   cache_dir: str | os.PathLike | None, targets: np.ndarray | None = None, cache_name: str = "images"):
    """tf.data of the readable images (size, size, 3) uint8, paired with their rows of `targets` when given;
    returns (dataset, n_images) with the length known.

    Parallel decode (Pillow, skipping unreadable files into `report`) and an on-disk cache of the preprocessed
    images (`cache_name` + the cache key), filled by one counting pass here so that every epoch, the first
    included, reads the cache.
    """
    import tensorflow as tf

    def load(path_tensor):
        path = Path(path_tensor.numpy().decode())
        try:
            return load_preprocessed(path, size, crop), True
        except UnreadableImage as exc:
            report.add(path, str(exc))
            return np.zeros((size, size, 3), np.uint8), False

    def load_tf(path, *target):
        image, ok = tf.py_function(load, [path], [tf.uint8, tf.bool])
        image.set_shape((size, size, 3))
        ok.set_shape(())
        return (image, *target, ok)

    def is_readable(*element):
        return element[-1]

    def drop_flag(*element):
        return element[0] if len(element) == 2 else element[:-1]

    names = [str(p) for p in paths]
    slices = names if targets is None else (names, np.asarray(targets, np.float32))
    ds = tf.data.Dataset.from_tensor_slices(slices)
    ds = ds.map(load_tf, num_parallel_calls=tf.data.AUTOTUNE).filter(is_readable).map(drop_flag)
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"{cache_name}-{cache_key(paths, size, crop)}"
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        for stale_lock in cache_file.parent.glob(f"{cache_file.name}*.lockfile"):
            stale_lock.unlink()  # left by an interrupted run: the partial cache is rewritten
        ds = ds.cache(str(cache_file))
    n_images = int(ds.reduce(np.int64(0), lambda total, element: total + 1))
    return ds.apply(tf.data.experimental.assert_cardinality(n_images)), n_images


def tf_dataset(paths: Sequence[Path], size: int, crop: str, batch_size: int, *, shuffle: bool,
               flip: bool, cache_dir: str | os.PathLike | None, report: SkipReport, seed: int = 0,
               full_batches: bool | None = None):
    """tf.data pipeline of float32 batches (B, size, size, 3) in [0, 1]; returns (dataset, n_images).

    The `decoded_images`, then shuffle, random horizontal flips, batches (exactly `batch_size` when shuffling, or
    when `full_batches`), prefetch.
    """
    import tensorflow as tf

    def to_float(images):
        images = tf.cast(images, tf.float32) / 255.0
        return tf.image.random_flip_left_right(images, seed=seed) if flip else images

    ds, n_images = decoded_images(paths, size, crop, report, cache_dir)
    if n_images == 0:
        raise UserError(f"none of the {len(paths)} image file(s) could be read ({report.message()})")
    if shuffle:
        ds = ds.shuffle(min(n_images, 10_000), seed=seed, reshuffle_each_iteration=True)
    full_batches = shuffle if full_batches is None else full_batches
    ds = ds.batch(batch_size, drop_remainder=full_batches).map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), n_images
