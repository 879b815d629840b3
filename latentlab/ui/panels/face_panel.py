"""FacePanel ("Your face"): webcam, video file or photo in, the model's version of you and the most similar dataset
faces out. A video file ("Video file…" in the source chooser, or `gui.py --camera FILE`) is played as a camera: Start,
Capture, Live and Record work from it as from a webcam, it loops at its end, and the captions name it.

Self-contained: the window adds it, connects `latent_chosen` to its `set_latent` and `neighbour_chosen` to its dataset
image command (so the Dataset box follows a neighbour click), passes the current face's edits to `set_live_edit`,
and calls `shutdown()` from its closeEvent. Frames are read by a CameraWorker from any FrameSource (tests inject
image files); detection, alignment, encoding and the neighbour search run in a FaceMatchWorker; the live mirror
(LiveControls) runs in its own worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import UserError
from latentlab.faces.camera import (
    VIDEO_FILTER,
    CameraInfo,
    FrameSource,
    OpenCVCamera,
    VideoFileSource,
    check_video,
    list_cameras,
)
from latentlab.faces.live import LivePipeline
from latentlab.images import IMAGE_EXTENSIONS
from latentlab.latent.space import LatentSpace
from latentlab.model.codec import Codec
from latentlab.ui import settings
from latentlab.ui.panels.live_controls import LIVE_VIEW_SIZE, LiveControls
from latentlab.ui.widgets.image_view import ImageView, to_qimage
from latentlab.ui.workers.camera_worker import CameraWorker
from latentlab.ui.workers.face_worker import NEIGHBOURS, THUMBNAIL_SIZE, AsyncFaceMatcher, FaceMatch, Neighbour

PHOTO_FILTER = "Images (" + " ".join(f"*{ext}" for ext in IMAGE_EXTENSIONS) + ")"
ERROR_STYLE = "color: #c0392b;"
CHOOSE_VIDEO = "choose a video file"  # the chooser's data for its "Video file…" entry
VIDEO_ENTRY = "Video file…"


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


class FacePanel(QWidget):
    """Camera chooser, Start / Stop, live preview, Capture (Space), Open photo... and drag-and-drop;
    shows the aligned input, its reconstruction and the nearest dataset faces (clickable).

    `space` is the window's LatentSpace, or None (no neighbours). `frame_source_factory(camera_index)` opens a
    FrameSource (default: OpenCVCamera), `video_source_factory(path)` a video file (default: VideoFileSource);
    `cameras` lists the choices, or is a callable returning them (default: list_cameras, asked again by
    the refresh button). `live_pipeline` replaces the live mirror's default LivePipeline (tests).
    """

    # z (D,) float32, a source like "webcam" or "dataset #12 (000013.jpg)", the photo to show beside it (or None)
    # and its caption
    latent_chosen = Signal(object, str, object, str)
    neighbour_chosen = Signal(int)  # the dataset index of the most similar face clicked

    def __init__(self, codec: Codec, space: LatentSpace | None, data_dir: str | Path | None = None,
                 frame_source_factory: Callable[[int], FrameSource] | None = None,
                 cameras: Sequence[CameraInfo] | Callable[[], Sequence[CameraInfo]] | None = None,
                 parent: QWidget | None = None, live_pipeline: LivePipeline | None = None,
                 video_source_factory: Callable[[Path], FrameSource] | None = None):
        super().__init__(parent)
        self.codec = codec
        self.space = space
        self.data_dir = Path(data_dir) if data_dir else None
        self._open_camera = frame_source_factory or OpenCVCamera
        self._open_video = video_source_factory or VideoFileSource
        self._camera: CameraWorker | None = None
        self._camera_name = ""
        self._videos: list[Path] = []  # video files chosen as sources, kept in the chooser
        self._chosen_row = 0
        self.last_match: FaceMatch | None = None
        self._neighbours: list[Neighbour] = []
        self._busy = False

        self.matcher = AsyncFaceMatcher(codec, self.space, self.data_dir, self)
        self.matcher.matched.connect(self._on_matched)
        self.matcher.no_face.connect(self._on_no_face)
        self.matcher.failed.connect(self._on_failed)
        self.live = LiveControls(codec, self, live_pipeline)
        self.live.message.connect(self.show_message)
        self.live.live_button.toggled.connect(self._on_live_toggled)

        if cameras is None:
            self._list_cameras = list_cameras
        elif callable(cameras):
            self._list_cameras = cameras
        else:
            fixed = list(cameras)
            self._list_cameras = lambda: fixed
        self._build()
        self.refresh_cameras()
        self.setAcceptDrops(True)

    # ------------------------------------------------------------------------------------ building

    def _build(self) -> None:
        self.camera_combo = QComboBox()
        self.camera_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.camera_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.camera_combo.setMinimumContentsLength(12)
        self.camera_combo.setToolTip("The camera, or a video file played as one (Video file…)")
        self.camera_combo.activated.connect(self._on_source_activated)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Look for cameras again (chosen video files stay)")
        self.refresh_button.clicked.connect(self.refresh_cameras)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start the live preview of the chosen camera or video")
        self.start_button.clicked.connect(self.start_camera)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the preview and release the camera or video")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_camera)
        self.capture_button = QPushButton("Capture")
        self.capture_button.setToolTip("Encode the current frame (Space)")
        self.capture_button.setEnabled(False)
        self.capture_button.clicked.connect(self.capture)
        self.capture_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.capture_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.capture_shortcut.setWhatsThis("Capture (Your face, camera on)")
        self.capture_shortcut.setEnabled(False)
        self.capture_shortcut.activated.connect(self.capture)
        self.open_button = QPushButton("Open photo…")
        self.open_button.setToolTip("Encode a photo (or drop an image file here)")
        self.open_button.clicked.connect(lambda: self.open_photo())
        self.align_check = QCheckBox("Align face")
        self.align_check.setChecked(True)
        self.align_check.setToolTip("Detect the face and align it like CelebA's images; "
                                    "untick to encode the whole picture")
        self.align_check.toggled.connect(self.live.restart)

        camera_row = QHBoxLayout()
        camera_row.addWidget(self.camera_combo, 1)
        camera_row.addWidget(self.refresh_button)
        capture_row = QHBoxLayout()
        capture_row.addWidget(self.start_button)
        capture_row.addWidget(self.stop_button)
        capture_row.addWidget(self.capture_button)
        live_row = QHBoxLayout()  # under Capture: the panel stays as narrow as three thumbnails
        live_row.addWidget(self.live.live_button)
        live_row.addWidget(self.live.record_button)
        photo_row = QHBoxLayout()
        photo_row.addWidget(self.open_button, 1)
        photo_row.addWidget(self.align_check)

        self.preview = ImageView(LIVE_VIEW_SIZE, "camera off · open or drop a photo")
        views = QHBoxLayout()
        views.addWidget(self.preview, 4)
        views.addWidget(self.live.view, 3)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)

        self.input_view = ImageView(THUMBNAIL_SIZE, "aligned face")
        self.input_view.setToolTip("What the model sees: the aligned face after the model's crop and resize")
        self.reconstruction_view = ImageView(THUMBNAIL_SIZE, "reconstruction")
        self.reconstruction_view.setToolTip("The model's version: decode(encode(input))")
        pair = QGridLayout()
        pair.addWidget(self.input_view, 0, 0)
        pair.addWidget(self.reconstruction_view, 0, 1)
        for column, text in enumerate(("What the model sees", "The model's version")):
            caption = QLabel(text)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pair.addWidget(caption, 1, column)

        has_dataset = self.space is not None and self.space.has_dataset
        self.neighbours_label = QLabel(
            f"Most similar dataset faces (nearest by {self.space.metric_label}):" if has_dataset
            else "Most similar dataset faces: no dataset latents loaded."
        )
        self.neighbours_label.setWordWrap(True)
        self.neighbour_buttons: list[QToolButton] = []
        neighbour_grid = QGridLayout()
        for i in range(NEIGHBOURS):
            button = QToolButton()
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setAutoRaise(True)
            button.setIconSize(QSize(THUMBNAIL_SIZE, 2 * THUMBNAIL_SIZE + 2))  # original above reconstruction
            button.setMinimumWidth(THUMBNAIL_SIZE + 12)  # the panel is as wide as three thumbnails from the start
            button.setEnabled(False)
            button.clicked.connect(lambda checked=False, rank=i: self.choose_neighbour(rank))
            button.setVisible(has_dataset)
            neighbour_grid.addWidget(button, i // 3, i % 3)
            self.neighbour_buttons.append(button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for row in (camera_row, capture_row, live_row, photo_row):
            layout.addLayout(row)
        layout.addLayout(views, 2)
        layout.addWidget(self.live.stats_label)
        layout.addWidget(self.status_label)
        layout.addLayout(pair, 1)
        layout.addWidget(self.neighbours_label)
        layout.addLayout(neighbour_grid)

    # ------------------------------------------------------------------------------------ camera

    @Slot()
    def refresh_cameras(self) -> None:
        """Fill the camera chooser again (not while a camera runs)."""
        if self._camera is not None:
            return
        chosen = self.camera_combo.currentData()
        cameras = list(self._list_cameras())
        self.camera_combo.clear()
        for camera in cameras:
            self.camera_combo.addItem(camera.label, camera.index)
        if not cameras:
            self.camera_combo.addItem("no camera found")
            self.show_message("No camera found: open or drop a photo, or choose a video file as the camera.")
        for video in self._videos:
            self.camera_combo.addItem(f"video: {video.name}", str(video))
        self.camera_combo.addItem(VIDEO_ENTRY, CHOOSE_VIDEO)
        row = self.camera_combo.findData(chosen) if chosen not in (None, CHOOSE_VIDEO) else -1
        self._select_row(max(row, 0))

    def _select_row(self, row: int) -> None:
        self.camera_combo.setCurrentIndex(row)
        self._chosen_row = row
        self._set_camera_controls(running=self._camera is not None)

    @Slot(int)
    def _on_source_activated(self, row: int) -> None:
        if self.camera_combo.itemData(row) == CHOOSE_VIDEO:
            self.camera_combo.setCurrentIndex(self._chosen_row)  # back until a video is chosen
            self.choose_video()
        else:
            self._select_row(row)

    @Slot()
    def choose_video(self) -> bool:
        """Ask for a video file and make it the source (see `use_video`); False when cancelled or refused."""
        path = settings.ask_open_path(self, "video", "Video file as the camera", VIDEO_FILTER)
        return path is not None and self.use_video(path)

    def use_video(self, path: str | Path, start: bool = False) -> bool:
        """Make video file `path` the chosen source (and start it when `start`); a missing file or one that is not a
        video is refused with one line in the panel, the chooser and the running source unchanged."""
        path = Path(path)
        if self._camera is not None:
            self.show_message("stop the camera before choosing another source.", error=True)
            return False
        try:
            check_video(path)
        except UserError as exc:
            self.show_message(f"{exc}: the source is unchanged.", error=True)
            return False
        path = path.resolve()
        if path not in self._videos:
            self._videos.append(path)
            self.camera_combo.insertItem(self.camera_combo.count() - 1, f"video: {path.name}", str(path))
        self._select_row(self.camera_combo.findData(str(path)))
        self.show_message(f"video {path.name} chosen: Start plays it as the camera (it loops at its end).")
        if start:
            self.start_camera()
        return True

    def use_camera(self, index: int, start: bool = False) -> None:
        """Make camera `index` the chosen source (listed or not: the system may not list it), started when `start`."""
        if self._camera is not None:
            return
        row = self.camera_combo.findData(index)
        if row < 0:
            no_camera = self.camera_combo.findText("no camera found")
            if no_camera >= 0:
                self.camera_combo.removeItem(no_camera)
            self.camera_combo.insertItem(0, f"camera {index}", index)
            row = 0
        self._select_row(row)
        if start:
            self.start_camera()

    @property
    def source_name(self) -> str:
        """The running source's name ("camera 0", "video clip.mp4"); "" when none runs."""
        return self._camera_name if self._camera is not None else ""

    @property
    def camera_running(self) -> bool:
        return self._camera is not None

    @Slot()
    def start_camera(self) -> None:
        """Open the chosen camera in a worker thread and show its frames."""
        chosen = self.camera_combo.currentData()
        if chosen in (None, CHOOSE_VIDEO) or self._camera is not None:
            return
        if isinstance(chosen, str):
            path = Path(chosen)
            self._camera_name = f"video {path.name}"
            opener = lambda: self._open_video(path)  # noqa: E731
        else:
            self._camera_name = self.camera_combo.currentText()
            opener = lambda: self._open_camera(int(chosen))  # noqa: E731
        worker = CameraWorker(opener, parent=self)
        worker.opened.connect(self._on_camera_opened)
        worker.frame_ready.connect(self._on_frame_ready)
        worker.failed.connect(self._on_camera_failed)
        worker.ended.connect(self._on_camera_ended)
        self._camera = worker
        self._set_camera_controls(running=True)
        self.show_message(f"opening {self._camera_name}…")
        worker.start()

    @Slot()
    def stop_camera(self) -> None:
        """Stop the preview and release the camera (idempotent)."""
        worker, self._camera = self._camera, None
        if worker is not None:
            for signal in (worker.opened, worker.frame_ready, worker.failed, worker.ended):
                signal.disconnect()
            worker.stop()
            worker.deleteLater()
        self._set_camera_controls(running=False)

    def _set_camera_controls(self, running: bool) -> None:
        has_camera = self.camera_combo.currentData() not in (None, CHOOSE_VIDEO)
        self.start_button.setEnabled(has_camera and not running)
        self.camera_combo.setEnabled(not running)
        self.refresh_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.capture_button.setEnabled(running)
        self.capture_shortcut.setEnabled(running)
        self.live.set_available(running)

    @Slot(str)
    def _on_camera_opened(self, name: str) -> None:
        self._camera_name = name
        looping = " It loops at its end." if name.startswith("video ") else ""
        self.show_message(f"{name} on: press Capture or Space to encode your face.{looping}")

    @Slot()
    def _on_frame_ready(self) -> None:
        if self._camera is not None:
            frame, captured_at = self._camera.take_stamped_frame()
            if frame is not None:
                self.preview.set_image(frame)
                self.live.feed(frame, captured_at)

    @Slot(bool)
    def _on_live_toggled(self, checked: bool) -> None:
        if checked and self._camera is not None:
            self.live.start(self.align_check.isChecked())
        else:
            self.live.stop()

    def set_live(self, on: bool) -> None:
        """Turn live mode on or off as the Live button does (on only while the camera runs)."""
        self.live.live_button.setChecked(on)

    @Slot(object)
    def set_live_edit(self, edit: np.ndarray | None) -> None:
        """The current face's edits (z - the face they were made on; None: unedited), applied to the live faces."""
        self.live.set_edit(edit)

    @Slot(str)
    def _on_camera_failed(self, message: str) -> None:
        self.stop_camera()
        self.show_message(f"{message}. The photo path still works: Open photo… or drop an image.", error=True)

    @Slot()
    def _on_camera_ended(self) -> None:
        self.stop_camera()
        self.show_message(f"{self._camera_name} ended its stream.", error=True)

    @Slot()
    def capture(self) -> None:
        """Encode the newest camera frame."""
        frame = self._camera.latest_frame() if self._camera is not None else None
        if frame is None:
            self.show_message("no camera frame yet: start the camera first, or open a photo.", error=True)
            return
        self.encode_image(frame, self._camera_name)

    # ------------------------------------------------------------------------------------ photos

    def open_photo(self, path: str | Path | None = None) -> bool:
        """Encode a photo file (asks for one when `path` is None); False when nothing was submitted."""
        if path is None:
            path = settings.ask_open_path(self, "photo", "Open photo", PHOTO_FILTER)
            if path is None:
                return False
        path = Path(path)
        if not path.is_file():
            self.show_message(f"{path} is not a file.", error=True)
            return False
        self._submit(path, f"photo: {path.name}")
        return True

    def encode_image(self, rgb: np.ndarray, source: str) -> None:
        """Encode an RGB uint8 image (H, W, 3) described by `source` ("camera 0", "video clip.mp4", "photo: me.jpg")."""
        self._submit(np.ascontiguousarray(rgb[..., :3]), source)

    def _submit(self, image: np.ndarray | Path, source: str) -> None:
        align = self.align_check.isChecked()
        self._busy = True
        self.show_message(f"{'finding and aligning the face' if align else 'encoding'} ({source})…")
        self.matcher.submit(image, source, align)

    def dragEnterEvent(self, event) -> None:
        if self._dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = self._dropped_image(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_photo(path)

    @staticmethod
    def _dropped_image(event) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and is_image_file(url.toLocalFile()):
                return Path(url.toLocalFile())
        return None

    # ------------------------------------------------------------------------------------ results

    @property
    def busy(self) -> bool:
        """True while a submitted image is being encoded."""
        return self._busy

    @Slot(object)
    def _on_matched(self, match: FaceMatch) -> None:
        self._busy = False
        self.last_match = match
        encoded = match.encoded
        self.input_view.set_image(encoded.model_input)
        self.reconstruction_view.set_image(match.reconstruction)
        self._show_neighbours(match.neighbours)
        how = "aligned face" if encoded.aligned is not None else "whole image"
        done = f"{match.source}: {how} encoded in {match.milliseconds:.0f} ms; it is now the current latent."
        self.show_message(f"{done} {encoded.crop_note()}".rstrip())
        self.latent_chosen.emit(encoded.z.copy(), match.source, encoded.model_input, f"Input · {match.source}")

    @Slot(str)
    def _on_no_face(self, source: str) -> None:
        self._busy = False
        where = source.removeprefix("photo: ") if source.startswith("photo: ") else f"the {source} frame"
        self.show_message(f"no face found in {where}: the current latent is unchanged "
                          "(untick Align face to encode the whole picture).", error=True)

    @Slot(str, str)
    def _on_failed(self, source: str, message: str) -> None:
        self._busy = False
        self.show_message(f"{source}: {message}", error=True)

    def _show_neighbours(self, neighbours: list[Neighbour]) -> None:
        self._neighbours = neighbours
        for rank, button in enumerate(self.neighbour_buttons):
            if rank >= len(neighbours):
                button.setEnabled(False)
                button.setIcon(QIcon())
                button.setText("")
                continue
            neighbour = neighbours[rank]
            picture = neighbour.reconstruction
            if neighbour.original is not None:
                gap = np.full((2, picture.shape[1], 3), 255, np.uint8)
                picture = np.concatenate([neighbour.original, gap, neighbour.reconstruction])
            button.setIcon(QIcon(QPixmap.fromImage(to_qimage(picture))))
            button.setIconSize(QSize(picture.shape[1], picture.shape[0]))
            button.setText(f"{neighbour.name}\nd = {neighbour.distance:.2f}")
            kind = "original above its reconstruction" if neighbour.original is not None else "reconstruction"
            button.setToolTip(f"dataset #{neighbour.index} ({neighbour.name}): {kind}; click to load it")
            button.setEnabled(True)

    def choose_neighbour(self, rank: int) -> None:
        """Make neighbour `rank` (0 = nearest) the current face: `neighbour_chosen` with its dataset index (the window
        shows it as dataset image #i, so the Dataset box and Next follow)."""
        if self.space is None or not 0 <= rank < len(self._neighbours):
            return
        self.neighbour_chosen.emit(int(self._neighbours[rank].index))

    # ------------------------------------------------------------------------------------ misc

    def show_message(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")

    def message(self) -> str:
        return self.status_label.text()

    def set_data_dir(self, data_dir: str | Path | None) -> None:
        """Where dataset originals are read from (None: reconstructions only), for the next matches."""
        self.data_dir = Path(data_dir) if data_dir else None
        self.matcher.set_data_dir(self.data_dir)

    def shutdown(self) -> None:
        """Release the camera, save a recording in progress and end the worker threads; the window calls this from
        closeEvent."""
        self.stop_camera()
        self.live.shutdown()
        self.matcher.stop()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
