"""MainWindow: sliders on the left, the decoded face in the centre, the controls on the right.

The left column holds two tabbed docks, "Latent sliders" and "Attributes" (named directions with
hold ticks); "Your face" (webcam, photos, most similar faces) is a dock on the right, shown on demand.

The window is made of:
- the current face and its undo history, owned here: every control changes the face through
  `set_latent(z, source, ...)`, which records one undo step on `undo_stack`; the sliders, the status bar and the
  picture then follow the new latent (`state`). Decoding runs in a worker thread (latest wins), so dragging never
  queues stale frames or freezes the window; panels move only their rows in view, so a face change costs the UI
  thread about a millisecond;
- the panels (latentlab.ui.panels) and the stage (widgets/stage.py), laid out here: `slider_panel`,
  `attributes_panel`, `face_panel`, `indexer` (Dataset box), `interpolation`, `stage`;
- three parts, each given in its constructor only what it may use (the window as a FaceHost, window/host.py, and
  the panels it wires): `files` (FileCommands, window/files.py: save, copy, open, export), `dataset`
  (DatasetCommands, window/dataset.py: dataset images, the dataset folder, endpoints A and B, playback) and
  `commands` (WindowCommands, window/actions.py: every QAction with its shortcut, the menus, the toolbar, help).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import UserError
from latentlab.eval.judge import Judge
from latentlab.faces.camera import CameraInfo, FrameSource
from latentlab.latent.directions import AttributeDirections
from latentlab.latent.explore import new_seed, seeded_latent
from latentlab.latent.prior import GaussianPrior, standard_normal
from latentlab.latent.space import LatentSpace
from latentlab.model.codec import Codec
from latentlab.pictures import to_uint8
from latentlab.ui import settings as remembered
from latentlab.ui.panels.attributes_panel import AttributesPanel
from latentlab.ui.panels.face_panel import FacePanel
from latentlab.ui.panels.gallery import GalleryPanel
from latentlab.ui.panels.indexer import DatasetIndexer
from latentlab.ui.panels.interpolation import InterpolationPanel
from latentlab.ui.panels.slider_panel import SliderPanel
from latentlab.ui.undo import LatentCommand, LatentState
from latentlab.ui.widgets.seed_box import SeedBox
from latentlab.ui.widgets.stage import Stage
from latentlab.ui.window.actions import WindowCommands, action_button
from latentlab.ui.window.atlas_part import AtlasCommands
from latentlab.ui.window.bookmarking import BookmarkCommands
from latentlab.ui.window.dataset import DatasetCommands
from latentlab.ui.window.explore_docks import ExploreDocks
from latentlab.ui.window.files import FileCommands
from latentlab.ui.window.models import ModelCommands
from latentlab.ui.workers.background import BackgroundTask
from latentlab.ui.workers.decode_worker import AsyncDecoder

UNDO_LIMIT = 1000
RANDOM_RANGE_DEFAULT = 1.0
INVERSE_PREFIX = "inverse of "
EDITED_SUFFIX = ", edited"
SHUTDOWN_WAIT_MS = 10_000
STATUS_MESSAGE_MS = 8000


def vertical_scroll(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless scroll area that scrolls only vertically (its width: see `fit_width`)."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


def fit_width(scroll: QScrollArea) -> QScrollArea:
    """At least as wide as its widget needs, scroll bar included: nothing is cut off on the right."""
    bar = scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    scroll.setMinimumWidth(scroll.widget().minimumSizeHint().width() + bar)
    return scroll


class MainWindow(QMainWindow):
    """The latent-space explorer for one Codec and its LatentSpace.

    `data_dir` is the dataset folder for originals (optional); `rng` a numpy Generator or seed used
    by Randomize and the random dataset image; `settings` (optional) remembers the dataset folder.
    `attributes` are the attribute directions for the Attributes dock (None: the dock shows
    `attributes_note` instead), `judge` the attribute judge whose probabilities it shows (optional); `cameras` and
    `frame_source_factory` go to the Your face panel (default: the cameras found on this machine, opened with OpenCV).
    `last_error` is the message of the last command that failed.
    """

    latent_changed = Signal(object)
    frame_shown = Signal(object)

    def __init__(self, codec: Codec, space: LatentSpace, data_dir: str | Path | None = None,
                 rng: np.random.Generator | int | None = None, settings: QSettings | None = None,
                 attributes: AttributeDirections | None = None, attributes_note: str = "",
                 cameras: list[CameraInfo] | None = None,
                 frame_source_factory: Callable[[int], FrameSource] | None = None, parent: QWidget | None = None,
                 judge: Judge | None = None):
        super().__init__(parent)
        if space.latent_dim != codec.latent_dim:
            raise UserError(f"latent space has {space.latent_dim} dimensions, the model {codec.latent_dim}")
        self.codec = codec
        self.space = space
        self._rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.last_error = ""
        self._state = LatentState(space.reset(), "average face")
        self._shown_latent: np.ndarray | None = None
        self._shown_image: np.ndarray | None = None
        self._frame_times: deque[float] = deque(maxlen=240)
        self._last_decode_ms = 0.0
        self._gesture = 0

        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.decoder = AsyncDecoder(codec.decode, self)
        self.decoder.decoded.connect(self._on_decoded)
        self.decoder.failed.connect(self.status)
        self.distribution_window = None

        self.setWindowTitle("latentlab — latent space explorer")
        self._create_panels(attributes, attributes_note, cameras, frame_source_factory, judge)
        # the parts: each gets the window (as a FaceHost or CommandHost) and the panels it wires, nothing else
        self.files = FileCommands(self, self.interpolation, self)
        self.dataset = DatasetCommands(self, self.indexer, self.interpolation, self._rng, settings, self)
        self.dataset.data_dir_changed.connect(self.face_panel.set_data_dir)
        self.face_panel.neighbour_chosen.connect(self.dataset.show_neighbour)  # the Image box follows the click
        # bookmarks (the Gallery dock) and other models (Open Model, Recent Models): window/bookmarking.py, models.py
        self.gallery_panel = GalleryPanel()
        self.bookmarks = BookmarkCommands(self, self.gallery_panel, parent=self)
        self.models = ModelCommands(self, settings, parent=self,
                                    busy=lambda: "an animation export is running" if self.files.export_task else "")
        # exploring by sight: the Children grid, Strips and Mixing docks (window/explore_docks.py)
        self.explore = ExploreDocks(self, self.slider_panel, self.attributes_panel, self.interpolation,
                                    self.seed_box, self.random_prior, self.random_range_box.value, self._rng,
                                    self.decoder.worker.thread(), self)
        self.latent_changed.connect(self.explore.show_latent)
        self.random_range_box.valueChanged.connect(self.explore.children.random_settings_changed)
        self.normal_prior_box.toggled.connect(self.explore.children.random_settings_changed)
        # the Atlas dock: the map of the dataset faces (window/atlas_part.py, panels/atlas_panel.py)
        self.atlas = AtlasCommands(self, self.dataset, self.interpolation, self.attributes_panel, self.face_panel,
                                   settings, self)
        self.latent_changed.connect(self.atlas.panel.show_latent)
        self.commands = WindowCommands(self, self.files, self.dataset)
        self._lay_out()
        self.commands.fill_menus(self.menuBar(), [dock.toggleViewAction() for dock in
                                                  (self.sliders_dock, self.attributes_dock, self.face_dock,
                                                   self.gallery_dock, *self.explore.docks, self.atlas_dock)])
        self.commands.fill_toolbar(self.addToolBar("Main"))
        self._create_status_bar()
        if data_dir is not None:
            self.dataset.set_data_dir(data_dir, remember=False)
        self._apply_state(self._state)
        if space.note:
            self.statusBar().showMessage(space.note, STATUS_MESSAGE_MS * 2)

    # ----------------------------------------------------------------------------------- building

    def _create_panels(self, attributes: AttributeDirections | None, attributes_note: str,
                       cameras: list[CameraInfo] | None,
                       frame_source_factory: Callable[[int], FrameSource] | None, judge: Judge | None) -> None:
        """The panels and the stage; the window's own slots take their edits (the parts wire the rest)."""
        self.slider_panel = SliderPanel(
            self.codec.latent_dim, self.space.sigma, self.space.raw_sigma, self.space.has_dataset, self.space.note
        )
        self.slider_panel.coordinate_changed.connect(self._on_coordinate_changed)
        self.slider_panel.mode_changed.connect(self._on_mode_changed)
        self.slider_panel.gesture_finished.connect(self.end_gesture)
        self.stage = Stage(self.codec.image_size)

        self.random_range_box = QDoubleSpinBox()
        self.random_range_box.setRange(0.0, 3.0)
        self.random_range_box.setSingleStep(0.1)
        self.random_range_box.setDecimals(2)
        self.random_range_box.setValue(RANDOM_RANGE_DEFAULT)
        self.random_range_box.setToolTip("Temperature of the random draw: 1 is the prior itself, 0 its mean; "
                                         "larger gives stranger faces")
        self.normal_prior_box = QCheckBox("N(0, I)")
        self.normal_prior_box.setEnabled(self.space.has_dataset)
        self.normal_prior_box.setToolTip(
            "Randomize draws from N(0, I), the prior the VAE was trained towards, instead of the Gaussian fitted "
            "to the dataset latents (which gives whole faces far more often)" if self.space.has_dataset
            else "No dataset latents: Randomize draws from N(0, I)")
        self.seed_box = SeedBox()
        self.seed_box.seed_entered.connect(self.show_seed)

        self.indexer = DatasetIndexer(self.space.names, self.space.note)
        self.interpolation = InterpolationPanel(self.space)
        self.interpolation.gesture_finished.connect(self.end_gesture)

        self.attributes_panel = AttributesPanel(attributes, attributes_note, judge=judge)
        self.attributes_panel.latent_edited.connect(self._on_attribute_edited)
        self.attributes_panel.gesture_finished.connect(self.end_gesture)
        self.decoder.decoded.connect(self.attributes_panel.judge_face)
        self.latent_changed.connect(self.attributes_panel.show_latent)
        self.face_panel = FacePanel(self.codec, self.space, data_dir=None, cameras=cameras,
                                    frame_source_factory=frame_source_factory)
        self.face_panel.latent_chosen.connect(self._on_face_chosen)

    def _lay_out(self) -> None:
        """The stage in the centre with the control groups on its right; the docks (Latent sliders and Attributes
        tabbed on the left, Attributes in front when loaded; Your face on the right, hidden until asked for: it costs
        the centre its width)."""
        commands = self.commands
        commands.raw_action.setChecked(self.slider_panel.mode == "raw")
        self.interpolation.export_button.setDefaultAction(commands.export_action)
        explore = QWidget()
        explore_layout = QGridLayout(explore)
        explore_layout.setContentsMargins(0, 0, 0, 0)
        explore_layout.addWidget(action_button(commands.randomize_action), 0, 0)
        range_row = QHBoxLayout()
        range_row.addWidget(QLabel("range"))
        range_row.addWidget(self.random_range_box, 1)
        range_row.addWidget(self.normal_prior_box)
        explore_layout.addLayout(range_row, 0, 1)
        explore_layout.addWidget(action_button(commands.invert_action), 1, 0)
        explore_layout.addWidget(action_button(commands.reset_action), 1, 1)
        seed_row = QHBoxLayout()
        seed_row.addWidget(QLabel("seed"))
        seed_row.addWidget(self.seed_box, 1)
        explore_layout.addLayout(seed_row, 2, 0, 1, 2)

        self.model_label = QLabel(self.model_summary())
        self.model_label.setWordWrap(True)
        self.model_label.setStyleSheet("color: palette(mid);")
        controls = QWidget()
        self._control_widgets: list[QWidget] = []
        self._controls_layout = QVBoxLayout(controls)
        self._controls_layout.addStretch(1)
        self._controls_layout.addWidget(self.model_label)
        self._controls = vertical_scroll(controls)
        self.add_control_group("Explore", explore)
        self.add_control_group("Dataset", self.indexer)
        self.add_control_group("Interpolation", self.interpolation)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.stage)
        splitter.addWidget(self._controls)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([4 * self._controls.minimumWidth(), self._controls.minimumWidth()])
        self.setCentralWidget(splitter)

        sliders_box = QWidget()
        QVBoxLayout(sliders_box).addWidget(self.slider_panel)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        self.setTabPosition(left, QTabWidget.TabPosition.North)
        self.sliders_dock = self._dock("Latent sliders", "sliders-dock", sliders_box, left)
        self.attributes_dock = self._dock("Attributes", "attributes-dock", self.attributes_panel, left)
        self.tabifyDockWidget(self.sliders_dock, self.attributes_dock)
        self.atlas_dock = self._dock("Atlas", "atlas-dock", self.atlas.panel, left)
        self.tabifyDockWidget(self.attributes_dock, self.atlas_dock)
        (self.attributes_dock if self.attributes_panel.available else self.sliders_dock).raise_()
        self.face_dock = self._dock("Your face", "face-dock", self.face_panel, Qt.DockWidgetArea.RightDockWidgetArea,
                                    scrolling=True)
        self.face_dock.hide()
        self.gallery_dock = self._dock("Gallery", "gallery-dock", self.gallery_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.face_dock, self.gallery_dock)
        self.gallery_dock.hide()
        self.gallery_panel.star_button.setDefaultAction(commands.bookmark_action)
        self.gallery_panel.export_button.setDefaultAction(commands.export_bookmarks_action)
        commands.bookmark_action.triggered.connect(self.show_gallery)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.explore.set_docks(self._dock("Children", "children-dock", self.explore.children, right),
                               self._dock("Strips", "strips-dock", self.explore.strips, right),
                               self._dock("Mixing", "mixing-dock", self.explore.mixing, right))
        for dock in self.explore.docks:
            self.tabifyDockWidget(self.face_dock, dock)
            dock.hide()
        self.setAcceptDrops(True)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea,
              scrolling: bool = False) -> QDockWidget:
        """A dock holding `widget`; `scrolling`: inside a vertical scroll area, so that a tall panel scrolls instead
        of growing the window."""
        widget.layout().setContentsMargins(6, 4, 6, 6)
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(fit_width(vertical_scroll(widget)) if scrolling else widget)
        self.addDockWidget(area, dock)
        return dock

    def add_control_group(self, title: str, widget: QWidget) -> QGroupBox:
        """Add a titled group of controls to the right-hand column (below the existing ones).

        A widget with a `shutdown()` method (worker threads, a camera) has it called when the window closes.
        """
        self._control_widgets.append(widget)
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        layout.addWidget(widget)
        self._controls_layout.insertWidget(self._controls_layout.count() - 2, box)
        fit_width(self._controls)
        return box

    def _create_status_bar(self) -> None:
        self.source_label = QLabel()
        self.timing_label = QLabel("decode – ms · 0 fps")
        self.statusBar().addPermanentWidget(self.source_label)
        self.statusBar().addPermanentWidget(self.timing_label)
        self._fps_timer = QTimer(self)
        self._fps_timer.setInterval(500)
        self._fps_timer.timeout.connect(self.update_timing_label)
        self._fps_timer.start()

    def model_summary(self) -> str:
        """The model and the dataset latents, in two lines (the right-hand column and About show it)."""
        weights = self.codec.weights_path.name if self.codec.weights_path else "in-memory model"
        lines = [f"Model: {weights}, {self.codec.image_size} px, latent {self.codec.latent_dim}"]
        if self.space.has_dataset:
            where = self.space.source.name if self.space.source else "in memory"
            lines.append(f"Dataset latents: {len(self.space):,} faces ({where})")
        else:
            lines.append(self.space.note or "No dataset latents")
        return "\n".join(lines)

    # ---------------------------------------------------------------------- reporting (FaceHost)

    @Slot(str)
    def status(self, message: str) -> None:
        """Show `message` in the status bar for a while."""
        self.statusBar().showMessage(message, STATUS_MESSAGE_MS)

    def show_error(self, title: str, message: str) -> None:
        """A warning box that does not block the event loop (and the message kept in `last_error`)."""
        self.last_error = message
        self.status(message)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ------------------------------------------------------------------------------ the latent

    @property
    def latent(self) -> np.ndarray:
        """The current latent (D,) (a copy)."""
        return self._state.z.copy()

    @property
    def source(self) -> str:
        return self._state.source

    @property
    def state(self) -> LatentState:
        """The current face: latent, source, original photo, dataset index (what an undo step restores)."""
        return self._state

    def set_latent(self, z: np.ndarray, source: str, original: np.ndarray | None = None,
                   original_caption: str = "", merge_key: str | None = None, dataset_index: int | None = None) -> None:
        """Show latent `z` (D,) (described by `source`) as one undo step; the single entry point of every control.

        `original` is a photo shown beside the decoded face; `merge_key` merges consecutive changes
        with the same key (one slider drag, one sweep of t: see `gesture_key`) into one undo step; `dataset_index`
        says that `z` is dataset image #i (the Dataset box shows it).
        """
        z = np.asarray(z, np.float32).reshape(-1)
        if z.shape != (self.codec.latent_dim,) or not np.isfinite(z).all():
            raise UserError(f"a latent must be {self.codec.latent_dim} finite numbers, got shape {z.shape}")
        if merge_key is None or not merge_key.startswith("blend"):
            self.interpolation.pause()
        if merge_key is None:
            self.end_gesture()
        edited_from = None
        if source.endswith(EDITED_SUFFIX):  # a slider or attribute edit: remember the face it was made on
            edited_from = self._state.z if self._state.edited_from is None else self._state.edited_from
        after = LatentState(z.copy(), source, original, original_caption, dataset_index, edited_from)
        self.undo_stack.push(LatentCommand(self._apply_state, self._state, after, merge_key))

    def _apply_state(self, state: LatentState) -> None:
        """Show `state`: only what changed is touched, and the panels move only their rows in view."""
        previous, self._state = self._state, state
        self.decoder.request(state.z)
        self.slider_panel.show_coordinates(self.space.coordinates(state.z, self.slider_panel.mode))
        if state.source != previous.source or not self.source_label.text():
            self.source_label.setText(state.source)
        self.stage.show_original(state.original, state.original_caption)
        self.indexer.show_index(state.dataset_index)
        self.face_panel.set_live_edit(state.edit)
        self.latent_changed.emit(state.z.copy())

    def gesture_key(self, control: str) -> str:
        """The merge key of `control` ("blend", "slider:pca:3") for the current gesture: the changes of one drag
        share it, so they are one undo step; a released slider or any unmerged change starts a new gesture."""
        return f"{control}:{self._gesture}"

    @Slot()
    def end_gesture(self) -> None:
        self._gesture += 1

    def _edited_source(self) -> str:
        source = self._state.source
        return source if source.endswith(EDITED_SUFFIX) else source + EDITED_SUFFIX

    @Slot(int, float)
    def _on_coordinate_changed(self, index: int, value: float) -> None:
        mode = self.slider_panel.mode
        z = self.space.with_coordinate(self._state.z, mode, index, value)
        self.set_latent(z, self._edited_source(), self._state.original, self._state.original_caption,
                        merge_key=self.gesture_key(f"slider:{mode}:{index}"))

    @Slot(str)
    def _on_mode_changed(self, mode: str) -> None:
        self.commands.raw_action.setChecked(mode == "raw")
        self.slider_panel.show_coordinates(self.space.coordinates(self._state.z, mode))

    @Slot(bool)
    def set_raw_sliders(self, raw: bool) -> None:
        """Sliders for the raw latent dimensions (True) or the principal components."""
        self.slider_panel.set_mode("raw" if raw else "pca")

    @Slot()
    def focus_slider_filter(self) -> None:
        """Bring the Latent sliders dock to the front with its filter box selected."""
        self.sliders_dock.show()
        self.sliders_dock.raise_()
        self.slider_panel.filter_box.setFocus()
        self.slider_panel.filter_box.selectAll()

    def random_prior(self) -> tuple[GaussianPrior, str]:
        """(what Randomize draws from, how its source names it): the fitted prior, or N(0, I) when ticked."""
        if self.normal_prior_box.isChecked():
            return standard_normal(self.codec.latent_dim), " N(0, I)"
        return self.space.prior, ""

    @Slot()
    def randomize(self) -> None:
        """A new face: a new seed's face (`show_seed`)."""
        self.show_seed(new_seed(self._rng))

    @Slot(int)
    def show_seed(self, seed: int) -> None:
        """The face of `seed`: drawn from the fitted prior (N(0, I) when ticked) with the range as temperature, by
        `explore.seeded_latent`, as `vae.py sample --seed` draws it. The seed box and the status bar show the seed."""
        scale = self.random_range_box.value()
        prior, name = self.random_prior()
        self.set_latent(seeded_latent(prior, seed, scale), f"random{name} seed {seed} (range {scale:.2f})")
        self.seed_box.show_seed(seed)
        self.status(f"seed {seed}")

    @Slot()
    def invert(self) -> None:
        source = self._state.source
        source = source[len(INVERSE_PREFIX):] if source.startswith(INVERSE_PREFIX) else INVERSE_PREFIX + source
        self.set_latent(self.space.invert(self._state.z), source)

    @Slot()
    def reset(self) -> None:
        self.set_latent(self.space.reset(), "average face" if self.space.has_dataset else "zero latent")

    # ------------------------------------------------------------------ attributes, your face

    @Slot(object, str)
    def _on_attribute_edited(self, z: np.ndarray, name: str) -> None:
        self.set_latent(z, self._edited_source(), self._state.original, self._state.original_caption,
                        merge_key=self.gesture_key(f"attribute:{name}"))

    @Slot(object, str, object, str)
    def _on_face_chosen(self, z: np.ndarray, source: str, original: np.ndarray | None, caption: str) -> None:
        self.set_latent(z, source, original, caption)

    @Slot()
    def show_face_panel(self) -> None:
        """Show the Your face dock in front (the camera starts only from its Start button)."""
        self.face_dock.show()
        self.face_dock.raise_()

    @Slot()
    def show_atlas(self) -> None:
        """Show the Atlas dock (the map of the dataset faces) in front."""
        self.atlas_dock.show()
        self.atlas_dock.raise_()

    @Slot()
    def show_gallery(self) -> None:
        """Show the Gallery dock (the bookmarks) in front."""
        self.gallery_dock.show()
        self.gallery_dock.raise_()

    @Slot()
    def open_photo(self) -> None:
        """Ask for a photo and encode it in the Your face panel."""
        self.show_face_panel()
        self.face_panel.open_photo()

    def dragEnterEvent(self, event) -> None:
        """Image files dragged anywhere over the window are offered to the Your face panel."""
        self.face_panel.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        self.face_panel.dropEvent(event)
        if event.isAccepted():
            self.show_face_panel()

    @Slot()
    def show_distribution(self) -> None:
        """Open (or raise) the Latent distribution window; it follows the current latent while visible."""
        if self.distribution_window is None:
            from latentlab.ui.panels.distribution_window import DistributionWindow  # matplotlib loads on first use

            self.distribution_window = DistributionWindow(self.space, self)
            self.distribution_window.addActions(self.commands.shortcut_actions())  # Ctrl+R & co. work there too
            self.latent_changed.connect(self.distribution_window.set_latent)
            self.distribution_window.set_latent(self._state.z)
        self.distribution_window.show()
        self.distribution_window.raise_()
        self.distribution_window.activateWindow()

    # ------------------------------------------------------------------------------- decoding

    @Slot(object, object, float)
    def _on_decoded(self, image: np.ndarray, z: np.ndarray, milliseconds: float) -> None:
        self._shown_image, self._shown_latent = image, z
        self.stage.show_decoded(image)
        self._last_decode_ms = milliseconds
        self._frame_times.append(time.perf_counter())
        self.update_timing_label()
        self.frame_shown.emit(image)

    @Slot()
    def update_timing_label(self) -> None:
        """The status bar's last decode time and frames shown in the last second."""
        now = time.perf_counter()
        fps = sum(1 for t in self._frame_times if now - t <= 1.0)
        decode = f"{self._last_decode_ms:.1f} ms" if self._shown_image is not None else "– ms"
        self.timing_label.setText(f"decode {decode} · {fps} fps")

    def decode_then(self, z: np.ndarray, use: Callable[[np.ndarray], None]) -> None:
        """Call `use(image)` with the decoding of `z` (H, W, 3) uint8: at once when it is on screen, else when a
        background decode has made it (the UI thread never waits for the model)."""
        if self._shown_latent is not None and np.array_equal(self._shown_latent, z):
            use(self._shown_image.copy())
            return
        task = BackgroundTask(lambda progress, cancelled: to_uint8(self.codec.decode(z)), self)
        task.finished.connect(use)
        task.failed.connect(lambda message: self.status(f"decoding failed: {message}"))
        task.start()

    def is_current_frame_shown(self) -> bool:
        """True when the picture on screen is the decoding of the current latent."""
        return self._shown_latent is not None and np.array_equal(self._shown_latent, self._state.z)

    def wait_for_frame(self, timeout_ms: int = 30000) -> bool:
        """Process events until the current latent is on screen (or the timeout passes)."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        while not self.is_current_frame_shown() and time.monotonic() < deadline:
            loop = QEventLoop()
            self.frame_shown.connect(loop.quit)
            QTimer.singleShot(50, loop.quit)
            loop.exec()
            self.frame_shown.disconnect(loop.quit)
        return self.is_current_frame_shown()

    def shown_image(self) -> np.ndarray | None:
        """The picture on screen (H, W, 3) uint8, whatever latent it belongs to."""
        return None if self._shown_image is None else self._shown_image.copy()

    def closeEvent(self, event) -> None:
        remembered.save_layout(self)  # geometry and docks, put back by the next start (latentlab.ui.app)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop playback, timers, background work (an export is cancelled), the decoder and judge threads, the camera
        and face threads, the distribution window and added control groups (safe to call more than once)."""
        for widget in self._control_widgets:
            if callable(getattr(widget, "shutdown", None)):
                widget.shutdown()
        self.face_panel.shutdown()
        if self.distribution_window is not None:
            self.distribution_window.shutdown()
            self.distribution_window.close()
        self.interpolation.pause()
        self._fps_timer.stop()
        self.files.shutdown()
        self.models.shutdown()
        self.bookmarks.shutdown()
        self.explore.shutdown()
        self.atlas.shutdown()
        QThreadPool.globalInstance().waitForDone(SHUTDOWN_WAIT_MS)
        self.decoder.stop()
        self.attributes_panel.shutdown()
