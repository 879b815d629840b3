"""The window's dataset and interpolation wiring: dataset image #i (with its original), previous / next / random /
nearest, the dataset folder, and endpoints A and B (from the current face or a dataset image).

A mixin of MainWindow: every change of face goes through the window's `set_latent`; thumbnails and originals
never make the UI thread wait for the model (`decode_then`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog, QInputDialog

from latentlab.images import UnreadableImage, dataset_original
from latentlab.ui.window.files import STATUS_MESSAGE_MS

SETTINGS_DATA_DIR = "data_dir"


class WindowDataset:
    """Dataset and interpolation slots of MainWindow."""

    # ----------------------------------------------------------------------------- the dataset

    @Slot(int)
    def show_dataset_image(self, index: int) -> bool:
        """Show the reconstruction of dataset image `index` (and its original when the folder is known)."""
        if not self.space.has_dataset or not 0 <= index < len(self.space):
            self.statusBar().showMessage(f"no dataset image #{index}", STATUS_MESSAGE_MS)
            return False
        original, caption = self._original(index)
        self.set_latent(self.space.latent(index), f"dataset #{index} ({self.space.names[index]})", original, caption,
                        dataset_index=index)
        return True

    def _original(self, index: int) -> tuple[np.ndarray | None, str]:
        """The dataset photo `index`, cropped as the model saw it, or (None, '') when unavailable."""
        if self.data_dir is None:
            return None, ""
        path = self.data_dir / self.space.names[index]
        try:
            rgb = dataset_original(path, self.space.crop or self.codec.config.crop)
        except (UnreadableImage, OSError) as exc:
            self.statusBar().showMessage(f"original {path} unavailable: {exc}", STATUS_MESSAGE_MS)
            return None, ""
        return rgb, f"Original · {path.name}"

    @Slot()
    def _previous_image(self) -> None:
        self.indexer.previous()

    @Slot()
    def _next_image(self) -> None:
        self.indexer.next()

    @Slot()
    def random_dataset_image(self) -> None:
        if self.space.has_dataset:
            self.indexer.choose(int(self.rng.integers(len(self.space))))

    @Slot()
    def nearest_dataset_image(self) -> None:
        """Jump to the dataset image whose latent is closest to the current face."""
        if not self.space.has_dataset:
            return
        indices, distances = self.space.nearest(self._state.z, 1)
        self.indexer.choose(int(indices[0]))
        self.statusBar().showMessage(f"nearest dataset image: #{indices[0]} at distance {distances[0]:.2f} "
                                     f"(nearest by {self.space.metric_label})", STATUS_MESSAGE_MS)

    def set_data_dir(self, path: str | Path, remember: bool = True) -> bool:
        """Use `path` as the dataset folder for originals; False (with a message) when it is not a folder."""
        path = Path(path).expanduser()
        if not path.is_dir():
            self.statusBar().showMessage(f"dataset folder {path} not found: originals are not shown", STATUS_MESSAGE_MS)
            return False
        self.data_dir = path
        self.face_panel.set_data_dir(path)
        if remember and self.settings is not None:
            self.settings.setValue(SETTINGS_DATA_DIR, str(path.resolve()))
        return True

    @Slot()
    def choose_data_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", str(self.data_dir or Path.cwd()))
        if folder and self.set_data_dir(folder):
            self.statusBar().showMessage(f"originals from {folder}", STATUS_MESSAGE_MS)

    # ------------------------------------------------------------------------- interpolation

    @Slot(str)
    def capture_endpoint(self, which: str) -> None:
        """Make the current face endpoint 'A' or 'B' (its thumbnail follows from the decoded face)."""
        z = self._state.z
        self.interpolation.set_endpoint(which, z, self._state.source)
        self.decode_then(z, lambda image: self._endpoint_thumbnail(which, z, image))

    def _endpoint_thumbnail(self, which: str, z: np.ndarray, image: np.ndarray) -> None:
        endpoint = self.interpolation.endpoint(which)
        if endpoint is not None and np.array_equal(endpoint, z):
            self.interpolation.set_thumbnail(which, image)

    def set_endpoint_from_index(self, which: str, index: int) -> bool:
        """Make dataset image `index` endpoint 'A' or 'B'."""
        if not self.space.has_dataset or not 0 <= index < len(self.space):
            self.statusBar().showMessage(f"no dataset image #{index}", STATUS_MESSAGE_MS)
            return False
        z = self.space.latent(index)
        self.interpolation.set_endpoint(which, z, f"dataset #{index} ({self.space.names[index]})",
                                        current=np.array_equal(z, self._state.z))
        self.decode_then(z, lambda image: self._endpoint_thumbnail(which, z, image))
        return True

    @Slot(str)
    def _ask_endpoint_index(self, which: str) -> None:
        index, ok = QInputDialog.getInt(self, f"Set {which}", f"Dataset image (0 to {len(self.space) - 1:,}):",
                                        self.indexer.last_index, 0, len(self.space) - 1)
        if ok:
            self.set_endpoint_from_index(which, index)

    @Slot(object, str)
    def _on_blend_changed(self, z: np.ndarray, description: str) -> None:
        self.set_latent(z, description, merge_key=f"blend:{self._gesture}")

    @Slot()
    def _toggle_play(self) -> None:
        if not self.interpolation.ready:
            self.statusBar().showMessage("set A and B first (Latent menu or the Interpolation group)", STATUS_MESSAGE_MS)
            return
        self.interpolation.toggle_play()

    @Slot()
    def _pause_animation(self) -> None:
        self.interpolation.pause()
