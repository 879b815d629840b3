"""AtlasCommands: a part of MainWindow that wires the Atlas dock (panels/atlas_panel.py) to the window.

It gives the panel the current face (the window's `latent_changed`), the endpoints A / B (the interpolation panel),
your photo's face (the Your face panel) and the dataset folder; a click shows that dataset image through the
DatasetCommands (one undo step, like the Dataset box); a walk is one undo step per drag; a direction made from two
groups becomes a named slider in the Attributes panel and is kept in QSettings per model (by the weights'
fingerprint), and removing its row forgets it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QSettings, QTimer, Slot

from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.ui.panels.atlas_panel import AtlasPanel
from latentlab.ui.panels.attributes_panel import AttributesPanel
from latentlab.ui.panels.face_panel import FacePanel
from latentlab.ui.panels.interpolation import InterpolationPanel
from latentlab.ui.panels.user_directions import load_directions, save_directions
from latentlab.ui.window.dataset import DatasetCommands
from latentlab.ui.window.host import FaceHost

WALK_SOURCE_KEY = "atlas-walk"


class AtlasCommands(QObject):
    """Owns the AtlasPanel (`panel`) and its wiring; `settings` (optional) keeps the user's directions."""

    def __init__(self, host: FaceHost, dataset: DatasetCommands, interpolation: InterpolationPanel,
                 attributes: AttributesPanel, face_panel: FacePanel, settings: QSettings | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._host = host
        self._dataset = dataset
        self._interpolation = interpolation
        self._attributes = attributes
        self._settings = settings
        self.panel = AtlasPanel(host.space, host.codec.decode)
        self.panel.face_chosen.connect(dataset.show_dataset_image)
        self.panel.walked.connect(self._on_walked)
        self.panel.walk_finished.connect(self._on_walk_finished)
        self.panel.direction_made.connect(self.add_direction)
        dataset.data_dir_changed.connect(self.panel.set_data_dir)
        interpolation.endpoints_changed.connect(self._on_endpoints_changed)
        face_panel.latent_chosen.connect(self._on_photo)
        self._sha: str | None = None
        QTimer.singleShot(0, self._restore)  # after the window is up: the fingerprint reads the weights (0.1 s)
        attributes.user_directions.changed.connect(self._save)

    def _weights_sha(self) -> str | None:
        weights = self._host.codec.weights_path
        if self._sha is None and weights is not None and weights.is_file():
            self._sha = weights_fingerprint(weights)
        return self._sha

    @Slot()
    def _restore(self) -> None:
        sha = self._weights_sha() if self._settings is not None else None
        if sha is None:
            return
        directions, note = load_directions(self._settings, sha, self._host.codec.latent_dim)
        for direction in directions:
            self._attributes.add_user_direction(direction)
        if note:
            self._host.status(note)

    @Slot()
    def _save(self) -> None:
        sha = self._weights_sha() if self._settings is not None else None
        if sha is not None:
            save_directions(self._settings, sha, self._attributes.user_directions.directions())

    @Slot(object)
    def add_direction(self, direction) -> None:
        """A direction from the Atlas becomes a slider in the Attributes panel (kept in the settings)."""
        try:
            self._attributes.add_user_direction(direction)
        except UserError as exc:
            self.panel.show_message(str(exc), error=True)
            return
        self._host.status(f"new direction {direction.name!r} in the Attributes panel")

    @Slot(object, str)
    def _on_walked(self, z: np.ndarray, source: str) -> None:
        self._host.set_latent(z, source, merge_key=self._host.gesture_key(WALK_SOURCE_KEY))

    @Slot()
    def _on_walk_finished(self) -> None:
        end = getattr(self._host, "end_gesture", None)
        if callable(end):
            end()

    @Slot()
    def _on_endpoints_changed(self) -> None:
        self.panel.set_endpoints(self._interpolation.endpoint("A"), self._interpolation.endpoint("B"),
                                 self._interpolation.method)

    @Slot(object, str, object, str)
    def _on_photo(self, z: np.ndarray, source: str, original, caption: str) -> None:
        self.panel.set_photo(z)

    def shutdown(self) -> None:
        self.panel.shutdown()
