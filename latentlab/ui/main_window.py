"""MainWindow: sliders on the left, the decoded face in the centre, the controls on the right.

The left column holds two tabbed docks, "Latent sliders" and "Attributes" (named directions with
hold ticks); "Your face" (webcam, photos, most similar faces) is a dock on the right, shown on demand.

Every control changes the face through `set_latent(z, source, ...)`, which records an undo step;
the sliders, the status bar and the picture then follow the new latent. Decoding runs in a worker
thread (latest wins), so dragging never queues stale frames or freezes the window.
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence, QPalette, QUndoStack
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QDoubleSpinBox, QFileDialog, QFrame, QGridLayout, QGroupBox, QHBoxLayout,
    QInputDialog, QLabel, QMainWindow, QMessageBox, QPushButton, QScrollArea, QSizePolicy, QSplitter,
    QTabWidget, QVBoxLayout, QWidget,
)

from latentlab.animation import pingpong_ts, transition_latents, upscale, write_animation
from latentlab.attributes import AttributeDirections
from latentlab.camera import CameraInfo, FrameSource
from latentlab.codec import Codec
from latentlab.data import UnreadableImage, crop_box, open_image
from latentlab.errors import UserError
from latentlab.imaging import save_png, to_uint8
from latentlab.latent_space import LatentSpace, load_latent_file, save_latent_file
from latentlab.ui.attributes_panel import AttributesPanel
from latentlab.ui.decode_worker import AsyncDecoder
from latentlab.ui.face_panel import FacePanel
from latentlab.ui.image_view import STAGE_COLOR, ImageView, to_qimage
from latentlab.ui.indexer import DatasetIndexer
from latentlab.ui.interpolation import InterpolationPanel
from latentlab.ui.slider_panel import SliderPanel
from latentlab.ui.undo import LatentCommand, LatentState

DECODED_MINIMUM = 512
ORIGINAL_MINIMUM = 160
UNDO_LIMIT = 1000
EXPORT_FPS = 20
EXPORT_MINIMUM_SIZE = 256
RANDOM_RANGE_DEFAULT = 1.0
STATUS_MESSAGE_MS = 8000
INVERSE_PREFIX = "inverse of "
EDITED_SUFFIX = ", edited"
SETTINGS_DATA_DIR = "data_dir"


def key_sequences(specs: list) -> list[QKeySequence]:
    """Shortcuts from strings ("Ctrl+R"), key sequences, and standard keys (with every binding the platform
    gives them), duplicates dropped."""
    sequences: list[QKeySequence] = []
    for spec in specs:
        candidates = QKeySequence.keyBindings(spec) if isinstance(spec, QKeySequence.StandardKey) else [QKeySequence(spec)]
        sequences += [k for k in candidates if k not in sequences and not k.isEmpty()]
    return sequences


class MainWindow(QMainWindow):
    """The latent-space explorer for one Codec and its LatentSpace.

    `data_dir` is the dataset folder for originals (optional); `rng` a numpy Generator or seed used
    by Randomize and the random dataset image; `settings` (optional) remembers the dataset folder.
    `attributes` are the attribute directions for the Attributes dock (None: the dock shows
    `attributes_note` instead); `cameras` and `frame_source_factory` go to the Your face panel
    (default: the cameras found on this machine, opened with OpenCV).
    """

    latent_changed = Signal(object)
    frame_shown = Signal(object)

    def __init__(self, codec: Codec, space: LatentSpace, data_dir: str | Path | None = None,
                 rng: np.random.Generator | int | None = None, settings: QSettings | None = None,
                 attributes: AttributeDirections | None = None, attributes_note: str = "",
                 cameras: list[CameraInfo] | None = None,
                 frame_source_factory: Callable[[int], FrameSource] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        if space.latent_dim != codec.latent_dim:
            raise UserError(f"latent space has {space.latent_dim} dimensions, the model {codec.latent_dim}")
        self.codec = codec
        self.space = space
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.settings = settings
        self.data_dir: Path | None = None
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
        self.decoder.failed.connect(self._on_decode_failed)

        self.setWindowTitle("latentlab — latent space explorer")
        self.distribution_window = None
        self._create_actions()
        self._create_widgets()
        self._create_docks(attributes, attributes_note, cameras, frame_source_factory)
        self._create_menus()
        self._create_toolbar()
        self._create_status_bar()
        if data_dir is not None:
            self.set_data_dir(data_dir, remember=False)
        self._apply_state(self._state)
        if space.note:
            self.statusBar().showMessage(space.note, STATUS_MESSAGE_MS * 2)

    # ----------------------------------------------------------------------------------- building

    def _create_actions(self) -> None:
        """Every command of the window, with its standard shortcut, in one place."""

        def action(text, slot, shortcut=None, tip=""):
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcuts(key_sequences(shortcut if isinstance(shortcut, list) else [shortcut]))
                keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                act.setToolTip(f"{tip} ({keys})")
            else:
                act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(slot)
            return act

        Key = QKeySequence.StandardKey
        self.save_image_action = action("&Save Image…", self.save_image, Key.Save, "Save the decoded face as a PNG")
        self.save_latent_action = action("Save &Latent…", self.save_latent, "Ctrl+Shift+S", "Save the latent as a .npy file")
        self.load_latent_action = action("&Open Latent…", self.load_latent, Key.Open, "Load a latent from a .npy file")
        self.copy_image_action = action("&Copy Image", self.copy_image, Key.Copy, "Copy the decoded face to the clipboard")
        self.export_action = action("&Export Animation…", self.export_animation, "Ctrl+E",
                                    "Write the A → B → A transition as a GIF or MP4")
        self.open_photo_action = action("Open &Photo…", self.open_photo, "Ctrl+Shift+O",
                                        "Encode a photo of a face in the Your face panel (or drop an image on the window)")
        self.data_dir_action = action("&Dataset Folder…", self.choose_data_dir, None,
                                      "Choose the folder of dataset images (to show originals)")
        self.quit_action = action("&Quit", self.close, Key.Quit, "Close the explorer")

        self.undo_action = action("&Undo", self.undo_stack.undo, Key.Undo, "Undo the last latent change")
        self.redo_action = action("&Redo", self.undo_stack.redo, ["Ctrl+Shift+Z", Key.Redo], "Redo the undone latent change")
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_stack.undoTextChanged.connect(lambda text: self.undo_action.setStatusTip(f"Undo: {text}"))
        self.undo_stack.redoTextChanged.connect(lambda text: self.redo_action.setStatusTip(f"Redo: {text}"))
        for act in (self.undo_action, self.redo_action):
            act.triggered.connect(self._pause_animation)
        self.find_action = action("&Filter Sliders", self._focus_filter, Key.Find, "Type to filter the sliders by name")

        self.randomize_action = action("&Randomize", self.randomize, "Ctrl+R", "A new face from the prior, scaled by the range")
        self.invert_action = action("&Invert", self.invert, "Ctrl+I", "The opposite face: the latent mirrored through the dataset mean")
        self.reset_action = action("Re&set", self.reset, "Ctrl+0", "All sliders to zero: the average face")
        self.previous_action = action("&Previous Image", self._previous_image, QKeySequence(Key.Back),
                                      "The previous dataset image")
        self.next_action = action("&Next Image", self._next_image, QKeySequence(Key.Forward),
                                  "The next dataset image")
        self.random_image_action = action("Ra&ndom Image", self.random_dataset_image, "Ctrl+Shift+R", "A random dataset image")
        self.nearest_action = action("Nearest &Dataset Image", self.nearest_dataset_image, "Ctrl+Shift+N",
                                     "The dataset image whose latent is closest to the current face")
        for act in (self.previous_action, self.next_action, self.random_image_action, self.nearest_action):
            act.setEnabled(self.space.has_dataset)
        self.set_a_action = action("Set &A", lambda: self.capture_endpoint("A"), "Ctrl+Shift+A", "Make the current face endpoint A")
        self.set_b_action = action("Set &B", lambda: self.capture_endpoint("B"), "Ctrl+Shift+B", "Make the current face endpoint B")
        self.play_action = action("&Play / Pause", self._toggle_play, "Ctrl+P", "Animate A → B → A")

        self.raw_action = action("&Raw Latent Dimensions", self._on_raw_action, "Ctrl+D",
                                 "Sliders for the raw latent dimensions instead of principal components")
        self.raw_action.setCheckable(True)
        self.raw_action.setEnabled(self.space.has_dataset)
        self.face_action = action("Your &Face", self.show_face_panel, None,
                                  "Show the Your face panel: webcam, photos and the most similar dataset faces")
        self.distribution_action = action("Latent &Distribution…", self.show_distribution, "Ctrl+L",
                                          "Histograms of the dataset latents against N(0, 1), KL per dimension, "
                                          "the current face marked")
        self.shortcuts_action = action("&Keyboard Shortcuts", self.show_shortcuts, Key.HelpContents, "List every shortcut")
        self.about_action = action("&About latentlab", self.show_about, None, "The model and the dataset latents")

    def _create_widgets(self) -> None:
        self.slider_panel = SliderPanel(
            self.codec.latent_dim, self.space.sigma, self.space.raw_sigma, self.space.has_dataset, self.space.note
        )
        self.slider_panel.coordinate_changed.connect(self._on_coordinate_changed)
        self.slider_panel.mode_changed.connect(self._on_mode_changed)
        self.slider_panel.gesture_finished.connect(self._end_gesture)
        self.raw_action.setChecked(self.slider_panel.mode == "raw")
        self.sliders_box = QWidget()
        sliders_layout = QVBoxLayout(self.sliders_box)
        sliders_layout.addWidget(self.slider_panel)

        self.decoded_view = ImageView(DECODED_MINIMUM, "decoding…")
        self.decoded_caption = QLabel(f"Decoded · {self.codec.image_size} × {self.codec.image_size} px")
        self.original_view = ImageView(ORIGINAL_MINIMUM)
        self.original_caption = QLabel()
        self.original_box = QWidget()
        original_layout = QVBoxLayout(self.original_box)
        original_layout.setContentsMargins(0, 0, 0, 0)
        original_layout.addWidget(self.original_view, 1)
        original_layout.addWidget(self.original_caption)
        decoded_box = QWidget()
        decoded_layout = QVBoxLayout(decoded_box)
        decoded_layout.setContentsMargins(0, 0, 0, 0)
        decoded_layout.addWidget(self.decoded_view, 1)
        decoded_layout.addWidget(self.decoded_caption)
        for caption in (self.decoded_caption, self.original_caption):
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        centre = QWidget()
        stage = centre.palette()
        stage.setColor(QPalette.ColorRole.Window, STAGE_COLOR)
        stage.setColor(QPalette.ColorRole.WindowText, QColor(205, 205, 205))
        centre.setPalette(stage)
        centre.setAutoFillBackground(True)
        centre_layout = QHBoxLayout(centre)
        centre_layout.setContentsMargins(6, 6, 6, 6)
        centre_layout.addWidget(decoded_box, 3)
        centre_layout.addWidget(self.original_box, 2)
        self.original_box.hide()

        self.random_range_box = QDoubleSpinBox()
        self.random_range_box.setRange(0.0, 3.0)
        self.random_range_box.setSingleStep(0.1)
        self.random_range_box.setDecimals(2)
        self.random_range_box.setValue(RANDOM_RANGE_DEFAULT)
        self.random_range_box.setToolTip("Scale of the random draw (the prior's standard deviation): larger gives stranger faces")
        explore = QWidget()
        explore_layout = QGridLayout(explore)
        explore_layout.setContentsMargins(0, 0, 0, 0)
        explore_layout.addWidget(self._button(self.randomize_action), 0, 0)
        range_row = QHBoxLayout()
        range_row.addWidget(QLabel("range"))
        range_row.addWidget(self.random_range_box, 1)
        explore_layout.addLayout(range_row, 0, 1)
        explore_layout.addWidget(self._button(self.invert_action), 1, 0)
        explore_layout.addWidget(self._button(self.reset_action), 1, 1)

        self.indexer = DatasetIndexer(self.space.names, self.space.note)
        self.indexer.index_chosen.connect(self.show_dataset_image)
        self.indexer.random_requested.connect(self.random_dataset_image)
        self.indexer.nearest_requested.connect(self.nearest_dataset_image)
        self.indexer.refused.connect(lambda hint: self.statusBar().showMessage(hint, STATUS_MESSAGE_MS))

        self.interpolation = InterpolationPanel(self.space, self.export_action)
        self.interpolation.blend_changed.connect(self._on_blend_changed)
        self.interpolation.capture_requested.connect(self.capture_endpoint)
        self.interpolation.index_requested.connect(self._ask_endpoint_index)
        self.interpolation.gesture_finished.connect(self._end_gesture)

        self.model_label = QLabel(self._model_summary())
        self.model_label.setWordWrap(True)
        self.model_label.setStyleSheet("color: palette(mid);")
        controls = QWidget()
        self._control_widgets: list[QWidget] = []
        self._controls_layout = QVBoxLayout(controls)
        self._controls_layout.addStretch(1)
        self._controls_layout.addWidget(self.model_label)
        self.add_control_group("Explore", explore)
        self.add_control_group("Dataset", self.indexer)
        self.add_control_group("Interpolation", self.interpolation)
        right = QScrollArea()
        right.setWidget(controls)
        right.setWidgetResizable(True)
        right.setFrameShape(QFrame.Shape.NoFrame)
        right.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right.setMinimumWidth(290)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(centre)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([4 * DECODED_MINIMUM, right.minimumWidth()])
        self.setCentralWidget(splitter)

    def _create_docks(self, attributes: AttributeDirections | None, attributes_note: str,
                      cameras: list[CameraInfo] | None,
                      frame_source_factory: Callable[[int], FrameSource] | None) -> None:
        """Latent sliders and Attributes tabbed on the left (Attributes in front when loaded); Your face on the
        right, hidden until asked for (it costs the centre its width), with no camera started."""
        self.attributes_panel = AttributesPanel(attributes, attributes_note)
        self.attributes_panel.latent_edited.connect(self._on_attribute_edited)
        self.attributes_panel.gesture_finished.connect(self._end_gesture)
        self.latent_changed.connect(self.attributes_panel.show_latent)
        self.face_panel = FacePanel(self.codec, self.space, data_dir=None, cameras=cameras,
                                    frame_source_factory=frame_source_factory)
        self.face_panel.latent_chosen.connect(self._on_face_chosen)

        left = Qt.DockWidgetArea.LeftDockWidgetArea
        self.setTabPosition(left, QTabWidget.TabPosition.North)
        self.sliders_dock = self._dock("Latent sliders", "sliders-dock", self.sliders_box, left)
        self.attributes_dock = self._dock("Attributes", "attributes-dock", self.attributes_panel, left)
        self.tabifyDockWidget(self.sliders_dock, self.attributes_dock)
        (self.attributes_dock if self.attributes_panel.available else self.sliders_dock).raise_()
        self.face_dock = self._dock("Your face", "face-dock", self.face_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.face_dock.hide()
        self.setAcceptDrops(True)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        widget.layout().setContentsMargins(6, 4, 6, 6)
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
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
        return box

    def _button(self, act: QAction) -> QPushButton:
        button = QPushButton(act.text().replace("&", ""))
        button.setToolTip(act.toolTip())
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        button.clicked.connect(act.trigger)
        act.changed.connect(lambda: button.setEnabled(act.isEnabled()))
        return button

    def _create_menus(self) -> None:
        menus = (
            ("&File", (self.save_image_action, self.copy_image_action, None, self.load_latent_action,
                       self.save_latent_action, None, self.open_photo_action, None, self.export_action, None,
                       self.data_dir_action, None, self.quit_action)),
            ("&Edit", (self.undo_action, self.redo_action, None, self.find_action)),
            ("&Latent", (self.randomize_action, self.invert_action, self.reset_action, None,
                         self.previous_action, self.next_action, self.random_image_action, self.nearest_action, None,
                         self.set_a_action, self.set_b_action, self.play_action)),
            ("&View", (self.raw_action, None, self.sliders_dock.toggleViewAction(),
                       self.attributes_dock.toggleViewAction(), self.face_dock.toggleViewAction(), None,
                       self.distribution_action)),
            ("&Help", (self.shortcuts_action, self.about_action)),
        )
        for title, actions in menus:
            menu = self.menuBar().addMenu(title)
            for act in actions:
                menu.addSeparator() if act is None else menu.addAction(act)

    def _create_toolbar(self) -> None:
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for act in (self.randomize_action, self.invert_action, self.reset_action, None, self.previous_action,
                    self.random_image_action, self.next_action, None, self.undo_action, self.redo_action, None,
                    self.save_image_action, self.copy_image_action, self.export_action, None, self.face_action,
                    self.distribution_action):
            toolbar.addSeparator() if act is None else toolbar.addAction(act)

    def _create_status_bar(self) -> None:
        self.source_label = QLabel()
        self.timing_label = QLabel("decode – ms · 0 fps")
        self.statusBar().addPermanentWidget(self.source_label)
        self.statusBar().addPermanentWidget(self.timing_label)
        self._fps_timer = QTimer(self)
        self._fps_timer.setInterval(500)
        self._fps_timer.timeout.connect(self._update_timing_label)
        self._fps_timer.start()

    def _model_summary(self) -> str:
        weights = self.codec.weights_path.name if self.codec.weights_path else "in-memory model"
        lines = [f"Model: {weights}, {self.codec.image_size} px, latent {self.codec.latent_dim}"]
        if self.space.has_dataset:
            lines.append(f"Dataset latents: {len(self.space):,} faces ({self.space.source.name if self.space.source else 'in memory'})")
        else:
            lines.append(self.space.note or "No dataset latents")
        return "\n".join(lines)

    # ------------------------------------------------------------------------------ the latent

    @property
    def latent(self) -> np.ndarray:
        """The current latent (a copy)."""
        return self._state.z.copy()

    @property
    def source(self) -> str:
        return self._state.source

    @property
    def state(self) -> LatentState:
        return self._state

    def set_latent(self, z: np.ndarray, source: str, original: np.ndarray | None = None,
                   original_caption: str = "", merge_key: str | None = None) -> None:
        """Show latent `z` (described by `source`) as one undo step; the single entry point of every control.

        `original` is a photo shown beside the decoded face; `merge_key` merges consecutive changes
        with the same key (one slider drag, one sweep of t) into one undo step.
        """
        z = np.asarray(z, np.float32).reshape(-1)
        if z.shape != (self.codec.latent_dim,) or not np.isfinite(z).all():
            raise UserError(f"a latent must be {self.codec.latent_dim} finite numbers, got shape {z.shape}")
        if merge_key is None or not merge_key.startswith("blend"):
            self.interpolation.pause()
        if merge_key is None:
            self._end_gesture()
        after = LatentState(z.copy(), source, original, original_caption)
        self.undo_stack.push(LatentCommand(self._apply_state, self._state, after, merge_key))

    def _apply_state(self, state: LatentState) -> None:
        self._state = state
        self.slider_panel.show_coordinates(self.space.coordinates(state.z, self.slider_panel.mode))
        self.source_label.setText(state.source)
        self.original_box.setVisible(state.original is not None)
        self.original_view.set_image(state.original)
        self.original_caption.setText(state.original_caption)
        self.decoder.request(state.z)
        self.latent_changed.emit(state.z.copy())

    @Slot()
    def _end_gesture(self) -> None:
        self._gesture += 1

    def _edited_source(self) -> str:
        source = self._state.source
        return source if source.endswith(EDITED_SUFFIX) else source + EDITED_SUFFIX

    @Slot(int, float)
    def _on_coordinate_changed(self, index: int, value: float) -> None:
        mode = self.slider_panel.mode
        z = self.space.with_coordinate(self._state.z, mode, index, value)
        self.set_latent(z, self._edited_source(), self._state.original, self._state.original_caption,
                        merge_key=f"slider:{mode}:{index}:{self._gesture}")

    @Slot(str)
    def _on_mode_changed(self, mode: str) -> None:
        self.raw_action.setChecked(mode == "raw")
        self.slider_panel.show_coordinates(self.space.coordinates(self._state.z, mode))

    @Slot(bool)
    def _on_raw_action(self, checked: bool) -> None:
        self.slider_panel.set_mode("raw" if checked else "pca")

    @Slot()
    def randomize(self) -> None:
        scale = self.random_range_box.value()
        self.set_latent(self.space.random(self.rng, scale), f"random (range {scale:.2f})")

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
                        merge_key=f"attribute:{name}:{self._gesture}")

    @Slot(object, str)
    def _on_face_chosen(self, z: np.ndarray, source: str) -> None:
        self.set_latent(z, source, *self.face_panel.chosen_original)

    @Slot()
    def show_face_panel(self) -> None:
        """Show the Your face dock in front (the camera starts only from its Start button)."""
        self.face_dock.show()
        self.face_dock.raise_()

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
            from latentlab.ui.distribution_window import DistributionWindow  # matplotlib loads on first use

            self.distribution_window = DistributionWindow(self.space, self)
            self.latent_changed.connect(self.distribution_window.set_latent)
            self.distribution_window.set_latent(self._state.z)
        self.distribution_window.show()
        self.distribution_window.raise_()
        self.distribution_window.activateWindow()

    # ----------------------------------------------------------------------------- the dataset

    @Slot(int)
    def show_dataset_image(self, index: int) -> bool:
        """Show the reconstruction of dataset image `index` (and its original when the folder is known)."""
        if not self.space.has_dataset or not 0 <= index < len(self.space):
            self.statusBar().showMessage(f"no dataset image #{index}", STATUS_MESSAGE_MS)
            return False
        name = self.space.names[index]
        if self.indexer.index != index:
            self.indexer.show_index(index)
        original, caption = self._original(index)
        self.set_latent(self.space.latent(index), f"dataset #{index} ({name})", original, caption)
        return True

    def _original(self, index: int) -> tuple[np.ndarray | None, str]:
        """The dataset photo `index`, cropped as the model saw it, or (None, '') when unavailable."""
        if self.data_dir is None:
            return None, ""
        path = self.data_dir / self.space.names[index]
        try:
            rgb = open_image(path)
        except (UnreadableImage, OSError) as exc:
            self.statusBar().showMessage(f"original {path} unavailable: {exc}", STATUS_MESSAGE_MS)
            return None, ""
        left, top, right, bottom = crop_box(rgb.shape[1], rgb.shape[0], self.space.crop or self.codec.config.crop)
        return rgb[top:bottom, left:right].copy(), f"Original · {path.name}"

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
        self.statusBar().showMessage(f"nearest dataset image: #{indices[0]} at distance {distances[0]:.2f}", STATUS_MESSAGE_MS)

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
        """Make the current face endpoint 'A' or 'B'."""
        self.interpolation.set_endpoint(which, self._state.z, self._state.source, self.current_image())

    def set_endpoint_from_index(self, which: str, index: int) -> bool:
        """Make dataset image `index` endpoint 'A' or 'B'."""
        if not self.space.has_dataset or not 0 <= index < len(self.space):
            self.statusBar().showMessage(f"no dataset image #{index}", STATUS_MESSAGE_MS)
            return False
        z = self.space.latent(index)
        image = to_uint8(self.codec.decode(z))
        self.interpolation.set_endpoint(which, z, f"dataset #{index} ({self.space.names[index]})", image)
        return True

    @Slot(str)
    def _ask_endpoint_index(self, which: str) -> None:
        index, ok = QInputDialog.getInt(self, f"Set {which}", f"Dataset image (0 to {len(self.space) - 1:,}):",
                                        self.indexer.index, 0, len(self.space) - 1)
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

    # ------------------------------------------------------------------------------- decoding

    @Slot(object, object, float)
    def _on_decoded(self, image: np.ndarray, z: np.ndarray, milliseconds: float) -> None:
        self._shown_image, self._shown_latent = image, z
        self.decoded_view.set_image(image)
        self._last_decode_ms = milliseconds
        self._frame_times.append(time.perf_counter())
        self._update_timing_label()
        self.frame_shown.emit(image)

    @Slot(str)
    def _on_decode_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, STATUS_MESSAGE_MS)

    @Slot()
    def _update_timing_label(self) -> None:
        now = time.perf_counter()
        fps = sum(1 for t in self._frame_times if now - t <= 1.0)
        decode = f"{self._last_decode_ms:.1f} ms" if self._shown_image is not None else "– ms"
        self.timing_label.setText(f"decode {decode} · {fps} fps")

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
        """The picture on screen (uint8), whatever latent it belongs to."""
        return None if self._shown_image is None else self._shown_image.copy()

    def current_image(self) -> np.ndarray:
        """The decoding of the current latent (uint8), decoded now when the screen lags behind."""
        if self.is_current_frame_shown():
            return self._shown_image.copy()
        return to_uint8(self.codec.decode(self._state.z))

    # -------------------------------------------------------------------------------- files

    def show_error(self, title: str, message: str) -> None:
        """A warning box that does not block the event loop (and the message kept in `last_error`)."""
        self.last_error = message
        self.statusBar().showMessage(message, STATUS_MESSAGE_MS)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _ask_path(self, title: str, filters: str, save: bool) -> Path | None:
        """A file dialog; a saved name without suffix gets the one of the chosen filter."""
        dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, chosen_filter = dialog(self, title, str(Path.cwd()), filters)
        if not path:
            return None
        path = Path(path)
        suffix = re.search(r"\*(\.\w+)", chosen_filter or filters)
        return path.with_name(path.name + suffix.group(1)) if save and not path.suffix and suffix else path

    @Slot()
    def save_image(self, path: str | Path | None = None) -> Path | None:
        """Write the decoded face (model resolution) as a PNG."""
        path = Path(path) if path else self._ask_path("Save image", "PNG image (*.png)", save=True)
        if path is None:
            return None
        try:
            written = save_png(path, self.current_image())
        except (OSError, ValueError) as exc:
            self.show_error("Save image", f"could not write {path}: {exc}")
            return None
        self.statusBar().showMessage(f"saved {written}", STATUS_MESSAGE_MS)
        return written

    @Slot()
    def save_latent(self, path: str | Path | None = None) -> Path | None:
        """Write the current latent as a float32 .npy file."""
        path = Path(path) if path else self._ask_path("Save latent", "NumPy latent (*.npy)", save=True)
        if path is None:
            return None
        try:
            written = save_latent_file(path, self._state.z)
        except (OSError, UserError) as exc:
            self.show_error("Save latent", f"could not write {path}: {exc}")
            return None
        self.statusBar().showMessage(f"saved latent to {written}", STATUS_MESSAGE_MS)
        return written

    @Slot()
    def load_latent(self, path: str | Path | None = None) -> bool:
        """Show the latent stored in a .npy file; a wrong file is refused with a message."""
        path = Path(path) if path else self._ask_path("Open latent", "NumPy latent (*.npy);;All files (*)", save=False)
        if path is None:
            return False
        try:
            z = load_latent_file(path, self.codec.latent_dim)
        except UserError as exc:
            self.show_error("Open latent", str(exc))
            return False
        self.set_latent(z, f"file {path.name}")
        return True

    @Slot()
    def copy_image(self) -> None:
        """Put the decoded face on the clipboard."""
        QGuiApplication.clipboard().setImage(to_qimage(self.current_image()))
        self.statusBar().showMessage("image copied to the clipboard", STATUS_MESSAGE_MS)

    @Slot()
    def export_animation(self, path: str | Path | None = None) -> Path | None:
        """Write A → B → A (one cycle of the playback duration) as a GIF or MP4."""
        if not self.interpolation.ready:
            self.show_error("Export animation", "Set A and B first: the animation goes from A to B and back")
            return None
        if not path:
            path = self._ask_path("Export animation", "Animated GIF (*.gif);;MP4 video (*.mp4)", save=True)
            if path is None:
                return None
        path = Path(path)
        n_frames = max(2, int(round(self.interpolation.duration_box.value() * EXPORT_FPS)))
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            latents = transition_latents(self.space, self.interpolation.endpoint("A"), self.interpolation.endpoint("B"),
                                         pingpong_ts(n_frames), self.interpolation.method)
            frames = upscale(self.codec.decode(latents), max(EXPORT_MINIMUM_SIZE, self.codec.image_size))
            written = write_animation(path, frames, EXPORT_FPS)
        except UserError as exc:
            self.show_error("Export animation", str(exc))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.statusBar().showMessage(f"wrote {n_frames} frames to {written}", STATUS_MESSAGE_MS)
        return written

    # --------------------------------------------------------------------------------- help

    @Slot()
    def _focus_filter(self) -> None:
        self.sliders_dock.show()
        self.sliders_dock.raise_()
        self.slider_panel.filter_box.setFocus()
        self.slider_panel.filter_box.selectAll()

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(command, shortcuts) for every action that has a shortcut."""
        rows = []
        for act in self.findChildren(QAction):
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts())
            if keys:
                rows.append((act.text().replace("&", ""), keys))
        return sorted(set(rows))

    @Slot()
    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td>{name}</td><td><b>{keys}</b></td></tr>" for name, keys in self.shortcut_table())
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", f"<table cellpadding=3>{rows}</table>",
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @Slot()
    def show_about(self) -> None:
        text = ("<b>latentlab</b>: a latent-space explorer for a convolutional VAE.<br><br>"
                + self._model_summary().replace("\n", "<br>"))
        QMessageBox.about(self, "About latentlab", text)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop playback, timers, the decoder thread, the camera and face threads, the distribution window and
        added control groups (safe to call more than once)."""
        for widget in self._control_widgets:
            if callable(getattr(widget, "shutdown", None)):
                widget.shutdown()
        self.face_panel.shutdown()
        if self.distribution_window is not None:
            self.distribution_window.shutdown()
            self.distribution_window.close()
        self.interpolation.pause()
        self._fps_timer.stop()
        self.decoder.stop()
