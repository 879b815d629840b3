"""Files written whole or not at all, and the fingerprint that ties derived files to their weights. No Qt, no Keras.

Every writer of the project (weights, model.json, latents, attributes, PNGs, animations) goes through
`atomic_path`: the content is written to a temporary file beside the target and renamed over it, so a crash,
Ctrl-C or a cancelled export never leaves half a file.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from latentlab.errors import UserError
from latentlab.paths import shown


class Cancelled(Exception):
    """The caller asked to stop before the file was put in place: nothing was written."""


@contextmanager
def atomic_path(path: str | os.PathLike, cancelled: Callable[[], bool] = lambda: False) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix, so writers pick the right format) for the body to write;
    renamed over `path` when the body succeeds, removed otherwise or when `cancelled()` is true by then."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".weights.h5") else path.suffix
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        if cancelled():
            raise Cancelled()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write a file so that readers see either the old or the new content, never half of it."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def weights_fingerprint(path: str | os.PathLike) -> str:
    """First 16 hex digits of a weights file's SHA-256: ties latents.npz / attributes.npz to their model."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def read_npz(path: str | os.PathLike, kind: str, hint: str) -> dict[str, np.ndarray]:
    """Every array of an .npz file (pickles refused); UserError ending with `hint` when the file is missing or is not
    a readable .npz (`kind` names what it should have been)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{shown(path)} not found: {hint}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{shown(path)} is not {kind} ({exc}): {hint}") from None
