"""AtlasPanel: the Atlas dock: the map of every dataset face (latent/atlas.py), to look at, click, walk across and
make directions from.

- the map (widgets/atlas_view.py), coloured by a CelebA label, a principal component, an attribute direction's score,
  the attribute judge's reading (when the latents file holds it, 0..1),
  or plain, with a legend; zooming in draws decoded thumbnails at the points (a worker, latest wins, cached);
- hover: the face's thumbnail (the original photo when the dataset folder is known, else the reconstruction, made in
  a worker) and its file name; click: `face_chosen(index)` (the window shows it like the Dataset box, undoable);
- the current face as a red marker with a short trail, placed lazily: `show_latent` only stores the latent, and a
  timer places the newest one at most every PLACE_INTERVAL_MS while the dock is shown; A, B and the interpolation
  path (`set_endpoints`), your photo (`set_photo`);
- Shift+drag walks: `walked(z, source)` for each position, `walk_finished()` at the release;
- Ctrl+drag lassoes points; "Group 1" / "Group 2" take the lasso (or "by label" takes a label's faces without / with
  it); "Make direction" emits `direction_made(UserDirection)` (a problem is one line in the panel, nothing changed).

Without a map the panel says how to add one, and can compute it in the background (written into the latents file).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import UserError
from latentlab.images import dataset_original
from latentlab.latent.atlas import (
    PLAIN,
    Atlas,
    UserDirection,
    colour_keys,
    colour_values,
    direction_from_groups,
)
from latentlab.latent.space import LatentSpace
from latentlab.ui.widgets.atlas_view import AtlasView, argb
from latentlab.ui.widgets.image_view import to_qimage
from latentlab.ui.workers.thumbnail_worker import AsyncThumbnails

PLACE_INTERVAL_MS = 30
THUMBNAIL_DELAY_MS = 150
THUMBNAIL_LIMIT = 600  # thumbnails are drawn once no more than this many points are in view
THUMBNAIL_PX = 48
HOVER_PX = 72
CACHE_LIMIT = 5000
TRAIL = 16
PATH_STEPS = 12
LABEL_COLOURS = np.array([[31, 119, 180], [255, 127, 14]], np.uint8)
PLAIN_COLOUR = (80, 80, 80)
ERROR_STYLE = "color: #c0392b;"
MUTED_STYLE = "color: palette(mid);"
DEFAULT_COLOUR = "Male"


def scale_colours(values: np.ndarray, limit: float = 2.5) -> np.ndarray:
    """Continuous values -> (N, 3) uint8 on a blue - light grey - red scale over -limit .. +limit."""
    t = np.clip(np.asarray(values, np.float64) / limit, -1, 1)[:, None]
    blue, grey, red = np.array([40, 90, 200.0]), np.array([215, 215, 215.0]), np.array([210, 40, 40.0])
    return np.where(t < 0, grey + (blue - grey) * -t, grey + (red - grey) * t).astype(np.uint8)


def probability_colours(values: np.ndarray) -> np.ndarray:
    """Probabilities 0..1 -> (N, 3) uint8 on the same blue (0) - light grey (0.5) - red (1) scale."""
    return scale_colours((np.asarray(values, np.float64) - 0.5) * 2.0, 1.0)


def swatch(rgb, text: str) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"<span style='color: rgb({r},{g},{b});'>■</span> {text}"


class AtlasPanel(QWidget):
    """The Atlas over `space` (its `atlas_xy`); `decode` makes thumbnails (latents (N, D) -> images)."""

    face_chosen = Signal(int)  # a point was clicked: show dataset image i
    walked = Signal(object, str)  # the latent at the walked map position, its description
    walk_finished = Signal()
    direction_made = Signal(object)  # a UserDirection from group 1 to group 2
    map_added = Signal()  # a map was computed in the background

    def __init__(self, space: LatentSpace, decode, data_dir: str | Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.space = space
        self._decode = decode
        self.data_dir = Path(data_dir) if data_dir else None
        self.atlas: Atlas | None = None
        self._z: np.ndarray | None = None
        self._placed_z: np.ndarray | None = None
        self._walk: tuple[np.ndarray, np.ndarray] | None = None  # (latent, map position) of the last walk step
        self.trail: deque[np.ndarray] = deque(maxlen=TRAIL)
        self.selection = np.zeros(0, np.int64)
        self.groups: list[np.ndarray] = [np.zeros(0, np.int64), np.zeros(0, np.int64)]
        self._group_names = ["", ""]
        self._thumbs: OrderedDict[int, object] = OrderedDict()
        self._hover_thumbs: OrderedDict[int, object] = OrderedDict()
        self._workers: list[AsyncThumbnails] = []
        self._map_task = None

        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.compute_button = QPushButton("Compute the map now")
        self.compute_button.setToolTip("UMAP of the dataset latents in the background (a minute or two for 22,000 "
                                       "faces); the map is written into the latents file")
        self.compute_button.clicked.connect(self.compute_map)
        self.view = AtlasView()
        self.colour_box = QComboBox()
        self.colour_box.setToolTip("Colour the points by a CelebA label, a principal component, an attribute "
                                   "direction's score, or plain")
        self.colour_box.currentTextChanged.connect(self.colour_by)
        self.legend_label = QLabel()
        self.legend_label.setStyleSheet(MUTED_STYLE)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole map")
        self.fit_button.clicked.connect(self.view.fit_all)
        self.hover_image = QLabel()
        self.hover_image.setFixedSize(HOVER_PX, HOVER_PX)
        self.hover_image.setStyleSheet("background: palette(base);")
        self.hover_caption = QLabel("Hover a point: its face. Click: show it. Shift+drag: walk the map. Ctrl+drag: "
                                    "lasso points")
        self.hover_caption.setWordWrap(True)
        self.hover_caption.setStyleSheet(MUTED_STYLE)
        self.group_buttons = [QPushButton("Group 1 ← lasso"), QPushButton("Group 2 ← lasso")]
        self.group_labels = [QLabel("group 1: –"), QLabel("group 2: –")]
        for which, button in enumerate(self.group_buttons):
            button.setToolTip(f"Make the lassoed points (Ctrl+drag on the map) group {which + 1}")
            button.clicked.connect(lambda _=False, w=which: self.set_group(w))
        self.label_box = QComboBox()
        self.label_box.setToolTip("Pick the groups by a CelebA label: group 1 the faces without it, group 2 with it")
        self.label_button = QPushButton("by label")
        self.label_button.clicked.connect(lambda: self.pick_by_label(self.label_box.currentText()))
        self.name_box = QLineEdit()
        self.name_box.setPlaceholderText("name of the direction")
        self.make_button = QPushButton("Make direction 1 → 2")
        self.make_button.setToolTip("A slider in the Attributes panel that moves the face from group 1 towards "
                                    "group 2")
        self.make_button.clicked.connect(lambda: self.make_direction(self.name_box.text()))
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        self._lay_out()

        self._place_timer = QTimer(self)
        self._place_timer.setSingleShot(True)
        self._place_timer.setInterval(PLACE_INTERVAL_MS)
        self._place_timer.timeout.connect(self.place_marker_now)
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(THUMBNAIL_DELAY_MS)
        self._thumb_timer.timeout.connect(self.request_thumbnails)
        self.view.hovered.connect(self._on_hovered)
        self.view.clicked.connect(self.choose_point)
        self.view.walked.connect(self.walk_to)
        self.view.walk_finished.connect(self.walk_finished)
        self.view.lasso_finished.connect(self.select_polygon)
        self.view.view_changed.connect(self._thumb_timer.start)
        self._set_map(space.atlas_xy if space.has_dataset else None)

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("colour"))
        top.addWidget(self.colour_box, 1)
        top.addWidget(self.fit_button)
        hover = QHBoxLayout()
        hover.addWidget(self.hover_image)
        hover.addWidget(self.hover_caption, 1)
        groups = QHBoxLayout()
        for button, label in zip(self.group_buttons, self.group_labels):
            groups.addWidget(button)
            groups.addWidget(label)
        by_label = QHBoxLayout()
        by_label.addWidget(self.label_box, 1)
        by_label.addWidget(self.label_button)
        make = QHBoxLayout()
        make.addWidget(self.name_box, 1)
        make.addWidget(self.make_button)
        self.content = QWidget()
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        content.addLayout(top)
        content.addWidget(self.legend_label)
        content.addWidget(self.view, 1)
        content.addLayout(hover)
        content.addLayout(groups)
        content.addLayout(by_label)
        content.addLayout(make)
        content.addWidget(self.message_label)
        self.content.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note_label)
        layout.addWidget(self.compute_button)
        layout.addWidget(self.content, 1)

    # ----------------------------------------------------------------------------------- the map

    @property
    def available(self) -> bool:
        return self.atlas is not None

    def _set_map(self, xy: np.ndarray | None) -> None:
        if xy is None:
            note = self.space.note if not self.space.has_dataset else (
                getattr(self.space, "atlas_note", "") or "these latents hold no map")
            self.note_label.setText(f"Atlas off: {note}.")
            self.note_label.show()
            self.compute_button.setVisible(self.space.has_dataset)
            self.content.hide()
            return
        self.atlas = Atlas(self.space, xy)
        self.note_label.hide()
        self.compute_button.hide()
        self.content.show()
        keys = colour_keys(self.space)
        self.colour_box.blockSignals(True)
        self.colour_box.clear()
        self.colour_box.addItems(keys)
        self.colour_box.setCurrentText(DEFAULT_COLOUR if DEFAULT_COLOUR in keys else PLAIN)
        self.colour_box.blockSignals(False)
        self.label_box.clear()
        self.label_box.addItems(self.space.attribute_names)
        self.label_box.setEnabled(bool(self.space.attribute_names))
        self.label_button.setEnabled(bool(self.space.attribute_names))
        self.view.set_points(self.atlas.xy, self._colours(self.colour_box.currentText()))
        if not self._workers:
            grid = AsyncThumbnails(self.space.z_mean, self._decode, THUMBNAIL_PX, name="latentlab-atlas-thumbs",
                                   parent=self)
            hover = AsyncThumbnails(self.space.z_mean, self._decode, HOVER_PX, self._original_loader(),
                                    name="latentlab-atlas-hover", parent=self)
            grid.ready.connect(self._on_thumbnails)
            hover.ready.connect(self._on_hover_thumbnail)
            for worker in (grid, hover):
                worker.failed.connect(self.show_message)
            self._workers = [grid, hover]
        self._placed_z = None
        if self._z is not None:
            self._schedule_place()

    def _colours(self, key: str) -> np.ndarray:
        values, kind = colour_values(self.space, key)
        if kind == "label":
            counts = int(values.sum()), int(len(values) - values.sum())
            self.legend_label.setText(f"{swatch(LABEL_COLOURS[1], f'{key} ({counts[0]:,})')} &nbsp; "
                                      f"{swatch(LABEL_COLOURS[0], f'not {key} ({counts[1]:,})')}")
            return argb(LABEL_COLOURS[values.astype(int)])
        if kind == "scale":
            self.legend_label.setText(f"{key}: {swatch((40, 90, 200), '−2.5')} … {swatch((215, 215, 215), '0')} … "
                                      f"{swatch((210, 40, 40), '+2.5')} sd")
            return argb(scale_colours(values))
        if kind == "probability":
            self.legend_label.setText(f"{key}: {swatch((40, 90, 200), '0')} … {swatch((215, 215, 215), '0.5')} … "
                                      f"{swatch((210, 40, 40), '1')} probability")
            return argb(probability_colours(values))
        self.legend_label.setText(f"{len(self.space):,} dataset faces")
        return argb(np.tile(np.array(PLAIN_COLOUR, np.uint8), (len(self.space), 1)))

    @Slot(str)
    def colour_by(self, key: str) -> None:
        """Colour the points by `key` (see latent.atlas.colour_keys); a bad key is a message, nothing changed."""
        if self.atlas is None or not key:
            return
        try:
            colours = self._colours(key)
        except UserError as exc:
            self.show_message(str(exc), error=True)
            return
        if self.colour_box.currentText() != key:
            self.colour_box.blockSignals(True)
            self.colour_box.setCurrentText(key)
            self.colour_box.blockSignals(False)
        self.view.set_colours(colours)

    @Slot()
    def compute_map(self) -> None:
        """UMAP of the dataset latents in the background; written into the latents file, then shown."""
        if self._map_task is not None or not self.space.has_dataset:
            return
        from latentlab.ui.workers.background import BackgroundTask

        source = self.space.source

        def work(progress, cancelled):
            from latentlab.latent.atlas import fit_map, map_features, write_map

            xy = fit_map(map_features(self.space))
            if source is not None and Path(source).is_file():
                write_map(source, xy, metric=self.space.metric)
            return xy

        self.compute_button.setEnabled(False)
        self.compute_button.setText("Computing the map… (a minute or two)")
        self._map_task = BackgroundTask(work, self)
        self._map_task.finished.connect(self._on_map_computed)
        self._map_task.failed.connect(self._on_map_failed)
        self._map_task.start()

    @Slot(object)
    def _on_map_computed(self, xy: np.ndarray) -> None:
        self._map_task = None
        self.space.atlas_xy = xy
        self._set_map(xy)
        self.map_added.emit()

    @Slot(str)
    def _on_map_failed(self, message: str) -> None:
        self._map_task = None
        self.compute_button.setEnabled(True)
        self.compute_button.setText("Compute the map now")
        self.note_label.setText(f"Atlas off: the map could not be computed: {message}")

    # --------------------------------------------------------------------------- the current face

    @Slot(object)
    def show_latent(self, z: np.ndarray) -> None:
        """The window's face changed: remember it; the marker moves within PLACE_INTERVAL_MS (while shown)."""
        self._z = z
        if self.atlas is not None and self.isVisible() and not self._place_timer.isActive():
            self._place_timer.start()

    def _schedule_place(self) -> None:
        if self.atlas is not None and self.isVisible() and not self._place_timer.isActive():
            self._place_timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._schedule_place()

    @Slot()
    def place_marker_now(self) -> None:
        """Place the newest face on the map (the walked position when the face came from a walk)."""
        if self.atlas is None or self._z is None or (self._placed_z is not None and
                                                     np.array_equal(self._placed_z, self._z)):
            return
        z = np.asarray(self._z, np.float32)
        if self._walk is not None and np.array_equal(self._walk[0], z):
            position = self._walk[1]
        else:
            position = self.atlas.place(z)
        self._placed_z = z.copy()
        if not self.trail or not np.allclose(self.trail[-1], position):
            self.trail.append(position)
        self.view.marker = position
        self.view.trail = list(self.trail)
        self.view.update()

    def marker_position(self) -> np.ndarray | None:
        return None if self.view.marker is None else np.asarray(self.view.marker).copy()

    def set_endpoints(self, a: np.ndarray | None, b: np.ndarray | None, method: str = "linear") -> None:
        """Mark endpoints A and B and the interpolation path between them."""
        if self.atlas is None:
            return
        self.view.endpoints = {name: self.atlas.place(z) for name, z in (("A", a), ("B", b)) if z is not None}
        if a is not None and b is not None:
            blends = [self.space.interpolate(a, b, t, method) for t in np.linspace(0, 1, PATH_STEPS)]
            self.view.path = self.atlas.place_many(np.stack(blends))
        else:
            self.view.path = None
        self.view.update()

    def set_photo(self, z: np.ndarray | None) -> None:
        """Mark where your photo's (or camera frame's) face lands."""
        if self.atlas is not None:
            self.view.photo = None if z is None else self.atlas.place(z)
            self.view.update()

    # ------------------------------------------------------------------------- hover, click, walk

    @Slot(int)
    def choose_point(self, index: int) -> None:
        if self.atlas is not None and 0 <= index < len(self.atlas):
            self.face_chosen.emit(int(index))

    @Slot(object)
    def walk_to(self, position) -> np.ndarray | None:
        """The latent at map `position` (emitted as `walked`); the marker goes to the position itself."""
        if self.atlas is None:
            return None
        position = np.asarray(position, np.float32)
        z, faces = self.atlas.walk(position)
        self._walk = (z, position)
        self.walked.emit(z, f"atlas walk near #{int(faces[0])} ({self.space.names[int(faces[0])]})")
        return z

    @Slot(int)
    def _on_hovered(self, index: int) -> None:
        self.hover(index)

    def hover(self, index: int) -> None:
        """Show face `index`'s thumbnail and file name (made in a worker when not cached); -1 clears."""
        if index < 0 or self.atlas is None:
            self.hover_image.clear()
            return
        self.view.hover_index = index
        self.hover_caption.setText(f"#{index} · {self.space.names[index]}")
        cached = self._hover_thumbs.get(index)
        if cached is not None:
            self.hover_image.setPixmap(cached)
        else:
            self.hover_image.clear()
            self._workers[1].request([index])

    @Slot(object, object)
    def _on_hover_thumbnail(self, indices, images) -> None:
        for index, image in zip(indices, images):
            pixmap = QPixmap.fromImage(to_qimage(image))
            self._remember(self._hover_thumbs, index, pixmap)
            if index == self.view.hover_index:
                self.hover_image.setPixmap(pixmap)

    def set_data_dir(self, data_dir: str | Path | None) -> None:
        """Hover thumbnails show the original photos of this folder (reconstructions without one)."""
        self.data_dir = Path(data_dir) if data_dir else None
        self._hover_thumbs.clear()
        if self._workers:
            self._workers[1].set_original_loader(self._original_loader())

    def _original_loader(self):
        if self.data_dir is None:
            return None
        folder, names, crop = self.data_dir, list(self.space.names), self.space.crop or "none"

        def load(index: int):
            try:
                return dataset_original(folder / names[index], crop)
            except Exception:  # a missing photo: the reconstruction instead
                return None

        return load

    # --------------------------------------------------------------------------------- thumbnails

    def points_in_view(self) -> np.ndarray:
        if self.atlas is None:
            return np.zeros(0, np.int64)
        view = self.view
        low = view.to_map(view.rect().bottomLeft().toPointF())
        high = view.to_map(view.rect().topRight().toPointF())
        return np.flatnonzero(((self.atlas.xy >= low) & (self.atlas.xy <= high)).all(axis=1))

    @Slot()
    def request_thumbnails(self) -> None:
        """Once few enough points are in view, draw their decoded faces (the missing ones made in the worker)."""
        if self.atlas is None:
            return
        visible = self.points_in_view()
        show = 0 < len(visible) <= THUMBNAIL_LIMIT
        self.view.show_thumbnails = show
        if show:
            spacing = np.sqrt(max(np.prod(np.ptp(self.atlas.xy[visible], axis=0)), 1e-12) / len(visible))
            self.view.thumbnail_px = int(np.clip(spacing * self.view.scale * 0.9, 18, THUMBNAIL_PX))
            missing = [int(i) for i in visible if int(i) not in self._thumbs]
            if missing:
                self._workers[0].request(missing)
        self.view.update()

    @Slot(object, object)
    def _on_thumbnails(self, indices, images) -> None:
        for index, image in zip(indices, images):
            self._remember(self._thumbs, index, to_qimage(image).copy())
        self.view.thumbnails = self._thumbs
        self.view.update()

    @staticmethod
    def _remember(cache: OrderedDict, key: int, value) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > CACHE_LIMIT:
            cache.popitem(last=False)

    # --------------------------------------------------------------------------- groups, direction

    @Slot(object)
    def select_polygon(self, polygon) -> np.ndarray:
        """The points inside the lasso `polygon` (M, 2) become the selection."""
        if self.atlas is None:
            return np.zeros(0, np.int64)
        self.selection = self.atlas.points_in_polygon(polygon)
        self.view.selection = self.selection
        self.view.update()
        self.show_message(f"{len(self.selection):,} faces lassoed: make them group 1 or group 2")
        return self.selection

    def set_group(self, which: int, indices=None, name: str = "") -> None:
        """Group 1 (which 0) or 2 (which 1) := `indices` (default: the lasso's selection); an empty one is refused
        with a message and the group kept."""
        indices = self.selection if indices is None else np.asarray(indices, np.int64)
        if len(indices) == 0:
            self.show_message(f"nothing lassoed for group {which + 1}: Ctrl+drag around some points first",
                              error=True)
            return
        self.groups[which] = np.asarray(indices, np.int64).copy()
        self._group_names[which] = name
        self.group_labels[which].setText(f"group {which + 1}: {len(indices):,}")
        self.view.groups = list(self.groups)
        self.view.update()
        self.show_message("")

    def pick_by_label(self, label: str) -> None:
        """Group 1: the faces without CelebA label `label`, group 2: those with it; the name box suggests it."""
        if self.atlas is None:
            return
        try:
            without, with_label = self.atlas.label_groups(label)
        except UserError as exc:
            self.show_message(str(exc), error=True)
            return
        self.set_group(0, without, f"not {label}")
        self.set_group(1, with_label, label)
        if not self.name_box.text().strip():
            self.name_box.setText(f"{label} (atlas)")

    def make_direction(self, name: str) -> UserDirection | None:
        """Emit `direction_made` with the direction from group 1 to group 2 named `name`; a problem (an empty group, a
        group of one, no name) is one line in the panel, and nothing changes."""
        if self.atlas is None:
            return None
        try:
            direction = direction_from_groups(self.space, self.groups[0], self.groups[1], name)
        except UserError as exc:
            self.show_message(str(exc), error=True)
            return None
        self.direction_made.emit(direction)
        self.show_message(f"made the direction {direction.name!r}: it is a slider in the Attributes panel")
        return direction

    @Slot(str)
    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(ERROR_STYLE if error else MUTED_STYLE)
        self.message_label.setVisible(bool(text))

    def message(self) -> str:
        return self.message_label.text() if self.message_label.isVisibleTo(self) else ""

    def shutdown(self) -> None:
        """Stop the timers and end the thumbnail threads (idempotent)."""
        self._place_timer.stop()
        self._thumb_timer.stop()
        for worker in self._workers:
            worker.stop()
        if self._map_task is not None:
            self._map_task.cancel()
