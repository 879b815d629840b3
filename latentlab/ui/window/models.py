"""ModelCommands: File > Open Model… and File > Recent Models: switch the running window to another model.

A part of MainWindow over a FaceHost. A weights file comes with its model.json, and with the latents, attribute
directions and judge that latentlab.paths.ModelFiles finds for it, each used only when it was made for those
weights: otherwise the window has raw-dimension sliders and a note saying why (LatentSpace.open). Everything slow
(building the model, reading its weights and latents, fitting nothing, tracing the decoder) runs in the background;
the UI thread then builds a new MainWindow for the new model in the same process, at the old one's place and size
with its docks as they were, and closes the old one, which stops its workers, timers and camera (and is deleted
when it was itself opened by a switch). So whatever depends
on the model (codec, latent space, sliders, attributes, judge, bookmarks, every worker) is made afresh, and nothing
of the old model is left behind. The undo history belongs to the old model and goes with it.

Recent models are kept in QSettings (`recent_models`, newest first); without settings, for the window's lifetime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QMainWindow, QMenu

from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.paths import PROJECT_ROOT, shown
from latentlab.ui import settings as remembered
from latentlab.ui.window.host import FaceHost
from latentlab.ui.workers.background import BackgroundTask

SETTINGS_RECENT = "recent_models"
SETTINGS_DATA_DIR = "data_dir"
RECENT_LIMIT = 8
WEIGHTS_FILTER = "Keras weights (*.weights.h5 *.h5);;All files (*)"
SWITCH_MESSAGE_MS = 16000

_open_windows: set[QMainWindow] = set()  # the windows opened by a switch (the first one is app.py's)


@dataclass
class LoadedModel:
    """What a window needs of a model, loaded off the UI thread."""

    weights: Path
    codec: object
    space: object
    attributes: object | None
    attributes_note: str
    judge: object | None

    @property
    def note(self) -> str:
        """Why the dataset features are off ("" when the latents were found and fit)."""
        return "" if self.space.has_dataset else self.space.note


def load_model(weights: str | Path) -> LoadedModel:
    """The model behind `weights` with its latents, attributes and judge (as `gui.py --weights` loads them), its
    decoder traced; UserError when the weights or their model.json are missing or unusable."""
    from latentlab.ui.app import load_attributes, load_codec, load_judge, load_latent_space

    weights = Path(weights)
    if weights.is_dir():
        raise UserError(f"{shown(weights)} is a folder: choose a weights file (vae.weights.h5)")
    codec = load_codec(weights)
    sha = weights_fingerprint(weights)
    space = load_latent_space(weights, codec.latent_dim, sha)
    attributes, attributes_note = load_attributes(weights, codec.latent_dim, sha)
    judge = load_judge(weights, codec.config.crop) if attributes is not None else None
    codec.decode(np.zeros(codec.latent_dim, np.float32))  # trace the compiled decoder before the first frame
    return LoadedModel(weights, codec, space, attributes, attributes_note, judge)


def dataset_folder_for(space, remembered: str | None) -> Path | None:
    """The folder of the dataset photos for a new model: the one its latents were indexed from when it exists, else
    the remembered dataset folder when the model has dataset latents (None otherwise)."""
    candidates = [space.data_root] if space.has_dataset else []
    if space.has_dataset and remembered:
        candidates.append(remembered)
    for candidate in candidates:
        if candidate:
            for path in (Path(candidate), PROJECT_ROOT / candidate):
                if path.is_dir():
                    return path
    return None


def open_in_place(old: QMainWindow, loaded: LoadedModel, settings: QSettings | None) -> QMainWindow:
    """A new MainWindow for `loaded` where `old` is (same place, size, docks), shown; `old` closed and deleted."""
    from latentlab.ui.window.main_window import MainWindow

    remembered = settings.value(SETTINGS_DATA_DIR) if settings is not None else None
    window = MainWindow(loaded.codec, loaded.space, data_dir=dataset_folder_for(loaded.space, remembered),
                        settings=settings, attributes=loaded.attributes, attributes_note=loaded.attributes_note,
                        judge=loaded.judge)
    _open_windows.add(window)
    window.setGeometry(old.geometry())
    window.restoreState(old.saveState())
    if not window.attributes_panel.available:  # as at start-up: the sliders in front when there are no attributes
        window.sliders_dock.raise_()
    window.showMaximized() if old.isMaximized() else window.show()
    old.close()  # stops its workers, timers and camera
    if old in _open_windows:  # opened by an earlier switch: nothing else holds it, so its model is freed
        _open_windows.discard(old)
        old.deleteLater()
    return window


class ModelCommands(QObject):
    """Open Model… and the Recent Models menu of one window.

    `settings` keeps the recent models (and gives the new window the dataset folder); `busy()` returns why the
    window cannot switch now ("" when it can: e.g. an export is running). `loading` is the running load (None
    when there is none); `window_opened(window)` follows a switch (the old window is then closed).
    """

    window_opened = Signal(object)

    def __init__(self, host: FaceHost, settings: QSettings | None = None,
                 busy: Callable[[], str] = lambda: "", parent: QObject | None = None):
        super().__init__(parent)
        self._host = host
        self._settings = settings
        self._busy = busy
        self._recent: list[str] = []  # without settings
        self.loading: BackgroundTask | None = None
        self._closing = False
        self.recent_menu = QMenu("Recent &Models")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        if host.codec.weights_path is not None:
            self.remember(host.codec.weights_path)
        self.fill_recent_menu()

    # ---------------------------------------------------------------------------- recent list

    def recent_models(self) -> list[Path]:
        """The recent weights files that still exist, newest first."""
        if self._settings is not None:
            value = self._settings.value(SETTINGS_RECENT) or []
            names = [value] if isinstance(value, str) else [str(v) for v in value]
        else:
            names = self._recent
        return [Path(name) for name in names if Path(name).is_file()]

    def remember(self, weights: str | Path) -> None:
        """Put `weights` first in the recent list (at most RECENT_LIMIT entries)."""
        name = str(Path(weights).resolve())
        names = [name] + [str(p) for p in self.recent_models() if str(p) != name]
        self._set_recent(names[:RECENT_LIMIT])

    def _set_recent(self, names: list[str]) -> None:
        if self._settings is not None:
            self._settings.setValue(SETTINGS_RECENT, names)
        else:
            self._recent = names

    @Slot()
    def clear_recent(self) -> None:
        self._set_recent([])
        self.fill_recent_menu()

    @Slot()
    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        current = self._host.codec.weights_path
        current = current.resolve() if current is not None else None
        recent = self.recent_models()
        for number, path in enumerate(recent, start=1):
            act = menu.addAction(f"&{number} {shown(path)}")
            act.setToolTip(str(path))
            act.setCheckable(True)
            act.setChecked(path == current)
            act.triggered.connect(lambda _checked=False, p=path: self.open_model(p))
        if not recent:
            menu.addAction("(none yet)").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Clear Recent Models", self.clear_recent).setEnabled(bool(recent))

    # ---------------------------------------------------------------------------- opening

    @Slot()
    def open_model(self, path: str | Path | None = None) -> BackgroundTask | None:
        """Load the weights file `path` (asked for when not given) in the background, then switch the window to it;
        the running load (None when nothing was started: cancelled, busy, or refused with a message)."""
        host = self._host
        reason = self._busy()
        if self.loading is not None:
            reason = "a model is already being opened"
        if reason:
            host.show_error("Open model", f"cannot switch the model now: {reason}")
            return None
        if not path:
            path = remembered.ask_open_path(host.window(), "model", "Open model (weights with model.json beside them)",
                                            WEIGHTS_FILTER)
            if path is None:
                return None
        path = Path(path)
        host.status(f"opening the model {shown(path)}…")
        task = BackgroundTask(lambda progress, cancelled: load_model(path), self)
        task.finished.connect(self._on_loaded)
        task.failed.connect(lambda message: host.show_error("Open model", f"{message} (the model in use is kept)"))
        for ended in (task.finished, task.failed, task.cancelled_done):
            ended.connect(self._load_ended)
        self.loading = task
        return task.start()

    @Slot()
    def _load_ended(self) -> None:
        self.loading = None

    @Slot(object)
    def _on_loaded(self, loaded: LoadedModel) -> None:
        self.loading = None
        if self._closing:
            return
        reason = self._busy()
        if reason:
            self._host.show_error("Open model", f"cannot switch the model now: {reason}")
            return
        self.remember(loaded.weights)
        window = open_in_place(self._host.window(), loaded, self._settings)
        codec = loaded.codec
        message = f"opened {shown(loaded.weights)}: {codec.image_size} px, latent {codec.latent_dim}"
        if loaded.note:
            message += f"; raw latent sliders: {loaded.note}"
        window.last_model_message = message
        window.statusBar().showMessage(message, SWITCH_MESSAGE_MS)
        self.window_opened.emit(window)

    def shutdown(self) -> None:
        """Ignore a load still running (the window is closing) and wait for it briefly."""
        self._closing = True
        if self.loading is not None:
            self.loading.wait(30.0)
