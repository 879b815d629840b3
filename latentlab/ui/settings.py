"""What the window remembers between runs, in one place: the window's geometry and dock layout, and the last folder
of each file dialog. Every file dialog of the window goes through `ask_save_path`, `ask_open_path` or `ask_folder`,
which open in the folder last used for that kind of file and offer a default name (`face-dataset-123.png`,
`blend-12-345.gif`; see `file_stem`).

`install(QSettings)` is called once by the app (latentlab.ui.app); without it (tests, `--screenshot`) everything is
remembered for this process only and nothing touches the user's settings.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QFileDialog, QMainWindow, QWidget

LAYOUT_VERSION = 1  # bump when the docks change so much that an old saved layout would confuse
GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
FOLDER_KEY = "folders/{}"
STEM_LIMIT = 48  # characters of a default file name before its suffix

_store: QSettings | None = None
_memory: dict[str, object] = {}


def install(settings: QSettings | None) -> None:
    """Remember in `settings` from now on (None: in this process only)."""
    global _store
    _store = settings
    _memory.clear()


def installed() -> QSettings | None:
    return _store


def value(key: str, default: object = None) -> object:
    if _store is None:
        return _memory.get(key, default)
    return _store.value(key, default)


def set_value(key: str, data: object) -> None:
    if _store is None:
        _memory[key] = data
    else:
        _store.setValue(key, data)


# ------------------------------------------------------------------------------------------ folders and names

def last_folder(kind: str) -> Path:
    """The folder a dialog for `kind` ("image", "latent", "animation", "photo", "video", "recording", ...) last
    used; the working directory at first or when that folder is gone."""
    remembered = value(FOLDER_KEY.format(kind))
    if remembered:
        folder = Path(str(remembered))
        if folder.is_dir():
            return folder
    return Path.cwd()


def remember_folder(kind: str, path: str | Path) -> None:
    """Remember the folder of `path` (a file, or a folder itself) for the next `kind` dialog."""
    path = Path(path).expanduser()
    folder = path if path.is_dir() else path.parent
    set_value(FOLDER_KEY.format(kind), str(folder.resolve()))


def file_stem(text: str) -> str:
    """`text` as a short, safe file name part: 'dataset #123 (000124.jpg)' -> 'dataset-123', 'photo: me.jpg' ->
    'me', 'random (range 1.00)' -> 'random'."""
    text = re.sub(r"\s*\(.*?\)", "", text)  # what is in brackets repeats the rest
    text = re.sub(r"\.(jpe?g|png|bmp|webp|npy|mp4|gif)\b", "", text, flags=re.IGNORECASE)
    text = text.removeprefix("photo:").removeprefix("file ")
    stem = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return stem[:STEM_LIMIT].rstrip("-") or "face"


def _suffix(filters: str, chosen: str = "") -> str:
    found = re.search(r"\*(\.\w+)", chosen or filters)
    return found.group(1) if found else ""


def ask_save_path(parent: QWidget | None, kind: str, title: str, filters: str, default_name: str = "") -> Path | None:
    """A save dialog in `kind`'s last folder, offering `default_name` (it gets the first filter's suffix when it has
    none); a typed name without suffix gets the chosen filter's. None: cancelled."""
    name = default_name
    if name and not Path(name).suffix:
        name += _suffix(filters)
    start = last_folder(kind) / name if name else last_folder(kind)
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(start), filters)
    if not path:
        return None
    path = Path(path)
    suffix = _suffix(filters, chosen)
    if not path.suffix and suffix:
        path = path.with_name(path.name + suffix)
    remember_folder(kind, path)
    return path


def ask_open_path(parent: QWidget | None, kind: str, title: str, filters: str) -> Path | None:
    """An open dialog in `kind`'s last folder; None: cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, title, str(last_folder(kind)), filters)
    if not path:
        return None
    remember_folder(kind, path)
    return Path(path)


def ask_folder(parent: QWidget | None, kind: str, title: str, start: str | Path | None = None) -> Path | None:
    """A folder dialog starting at `start` (else `kind`'s last folder); None: cancelled."""
    folder = QFileDialog.getExistingDirectory(parent, title, str(start or last_folder(kind)))
    if not folder:
        return None
    remember_folder(kind, folder)
    return Path(folder)


# ------------------------------------------------------------------------------------------ the window

def save_layout(window: QMainWindow) -> None:
    """Remember the window's geometry (position, size, maximised) and its docks (which are open, where, how wide)."""
    set_value(GEOMETRY_KEY, window.saveGeometry())
    set_value(STATE_KEY, window.saveState(LAYOUT_VERSION))


def restore_layout(window: QMainWindow) -> bool:
    """Put the window and its docks back as `save_layout` left them (Qt moves a window that would be off every
    screen back onto one); False when nothing was saved or it does not apply, the window then unchanged."""
    geometry, state = value(GEOMETRY_KEY), value(STATE_KEY)
    if not isinstance(geometry, (QByteArray, bytes)) or not geometry:
        return False
    if not window.restoreGeometry(QByteArray(geometry)):
        return False
    if isinstance(state, (QByteArray, bytes)) and state:
        window.restoreState(QByteArray(state), LAYOUT_VERSION)
    return True
