"""DatasetCommands: dataset image #i (with its original), previous / next / random / nearest, the dataset folder, and
the interpolation endpoints A and B (from the current face or a dataset image) with the blend and playback.

A part of MainWindow: it wires the Dataset box (DatasetIndexer) and the Interpolation box to a FaceHost. Every change
of face goes through the host's `set_latent`; thumbnails and originals never make the UI thread wait for the model
(`decode_then`). A new dataset folder is announced (`data_dir_changed`) for the Your face panel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QInputDialog

from latentlab.images import UnreadableImage, dataset_original
from latentlab.ui import settings
from latentlab.ui.panels.indexer import DatasetIndexer
from latentlab.ui.panels.interpolation import InterpolationPanel
from latentlab.ui.window.host import FaceHost

SETTINGS_DATA_DIR = "data_dir"


class DatasetCommands(QObject):
    """Dataset and interpolation commands of the window.

    `rng` draws the random dataset image; `settings` (optional) remembers the dataset folder; `data_dir` is the folder
    of dataset photos shown as originals (None: only reconstructions).
    """

    data_dir_changed = Signal(object)  # the new dataset folder (a Path)

    def __init__(self, host: FaceHost, indexer: DatasetIndexer, interpolation: InterpolationPanel,
                 rng: np.random.Generator, settings: QSettings | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._host = host
        self._space = host.space
        self._indexer = indexer
        self._interpolation = interpolation
        self._rng = rng
        self._settings = settings
        self.data_dir: Path | None = None
        indexer.index_chosen.connect(self.show_dataset_image)
        indexer.random_requested.connect(self.random_dataset_image)
        indexer.nearest_requested.connect(self.nearest_dataset_image)
        indexer.refused.connect(host.status)
        interpolation.blend_changed.connect(self._on_blend_changed)
        interpolation.capture_requested.connect(self.capture_endpoint)
        interpolation.index_requested.connect(self._ask_endpoint_index)

    # ----------------------------------------------------------------------------- the dataset

    @Slot(int)
    def show_dataset_image(self, index: int) -> bool:
        """Show the reconstruction of dataset image `index` (and its original when the folder is known)."""
        space = self._space
        if not space.has_dataset or not 0 <= index < len(space):
            self._host.status(f"no dataset image #{index}")
            return False
        original, caption = self._original(index)
        self._host.set_latent(space.latent(index), f"dataset #{index} ({space.names[index]})", original, caption,
                              dataset_index=index)
        return True

    def _original(self, index: int) -> tuple[np.ndarray | None, str]:
        """The dataset photo `index` (H, W, 3) uint8, cropped as the model saw it, or (None, '') when unavailable."""
        if self.data_dir is None:
            return None, ""
        path = self.data_dir / self._space.names[index]
        try:
            rgb = dataset_original(path, self._space.crop or self._host.codec.config.crop)
        except (UnreadableImage, OSError) as exc:
            self._host.status(f"original {path} unavailable: {exc}")
            return None, ""
        return rgb, f"Original · {path.name}"

    @Slot(int)
    def show_neighbour(self, index: int) -> bool:
        """A most similar face clicked in Your face: dataset image `index`, so the Image box shows its number and
        Previous / Next go on from it."""
        return self.show_dataset_image(index)

    @Slot()
    def previous_image(self) -> None:
        self._indexer.previous()

    @Slot()
    def next_image(self) -> None:
        self._indexer.next()

    @Slot()
    def random_dataset_image(self) -> None:
        if self._space.has_dataset:
            self._indexer.choose(int(self._rng.integers(len(self._space))))

    @Slot()
    def nearest_dataset_image(self) -> None:
        """Jump to the dataset image whose latent is closest to the current face."""
        if not self._space.has_dataset:
            return
        indices, distances = self._space.nearest(self._host.state.z, 1)
        self._indexer.choose(int(indices[0]))
        self._host.status(f"nearest dataset image: #{indices[0]} at distance {distances[0]:.2f} "
                          f"(nearest by {self._space.metric_label})")

    def set_data_dir(self, path: str | Path, remember: bool = True) -> bool:
        """Use `path` as the dataset folder for originals; False (with a message) when it is not a folder."""
        path = Path(path).expanduser()
        if not path.is_dir():
            self._host.status(f"dataset folder {path} not found: originals are not shown")
            return False
        self.data_dir = path
        self.data_dir_changed.emit(path)
        if remember and self._settings is not None:
            self._settings.setValue(SETTINGS_DATA_DIR, str(path.resolve()))
        return True

    @Slot()
    def choose_data_dir(self) -> None:
        folder = settings.ask_folder(self._host.window(), "dataset", "Dataset folder", self.data_dir)
        if folder is not None and self.set_data_dir(folder):
            self._host.status(f"originals from {folder}")

    # ------------------------------------------------------------------------- interpolation

    @Slot(str)
    def capture_endpoint(self, which: str) -> None:
        """Make the current face endpoint 'A' or 'B' (its thumbnail follows from the decoded face)."""
        state = self._host.state
        self._interpolation.set_endpoint(which, state.z, state.source)
        self._host.decode_then(state.z, lambda image: self._endpoint_thumbnail(which, state.z, image))

    def _endpoint_thumbnail(self, which: str, z: np.ndarray, image: np.ndarray) -> None:
        endpoint = self._interpolation.endpoint(which)
        if endpoint is not None and np.array_equal(endpoint, z):
            self._interpolation.set_thumbnail(which, image)

    def set_endpoint_from_index(self, which: str, index: int) -> bool:
        """Make dataset image `index` endpoint 'A' or 'B'."""
        space = self._space
        if not space.has_dataset or not 0 <= index < len(space):
            self._host.status(f"no dataset image #{index}")
            return False
        z = space.latent(index)
        self._interpolation.set_endpoint(which, z, f"dataset #{index} ({space.names[index]})",
                                         current=np.array_equal(z, self._host.state.z))
        self._host.decode_then(z, lambda image: self._endpoint_thumbnail(which, z, image))
        return True

    @Slot(str)
    def _ask_endpoint_index(self, which: str) -> None:
        last = len(self._space) - 1
        index, ok = QInputDialog.getInt(self._host.window(), f"Set {which}", f"Dataset image (0 to {last:,}):",
                                        self._indexer.last_index, 0, last)
        if ok:
            self.set_endpoint_from_index(which, index)

    @Slot(object, str)
    def _on_blend_changed(self, z: np.ndarray, description: str) -> None:
        self._host.set_latent(z, description, merge_key=self._host.gesture_key("blend"))

    @Slot()
    def toggle_play(self) -> None:
        """Play or pause A → B → A (a hint when A or B is not set)."""
        if not self._interpolation.ready:
            self._host.status("set A and B first (Latent menu or the Interpolation group)")
            return
        self._interpolation.toggle_play()

    @Slot()
    def pause_animation(self) -> None:
        self._interpolation.pause()
