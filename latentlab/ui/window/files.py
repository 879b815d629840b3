"""FileCommands: save / copy the face, open / save a latent, export the A -> B -> A animation.

A part of MainWindow that uses only a FaceHost and the interpolation panel (for the endpoints). The face written is
the decoding of the current latent, taken from the screen when it is there and decoded in the background otherwise;
the export runs in the background with a progress dialog and Cancel whose bar covers the decoding and then the
encoding, frame by frame. Every dialog opens in its kind's last folder with a default name (latentlab.ui.settings).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QProgressDialog

from latentlab.errors import UserError
from latentlab.latent.animation import FORMATS, render_animation, write_animation
from latentlab.latent.space import load_latent_file, save_latent_file
from latentlab.pictures import save_png
from latentlab.ui import settings
from latentlab.ui.panels.interpolation import InterpolationPanel
from latentlab.ui.widgets.image_view import to_qimage
from latentlab.ui.window.host import FaceHost
from latentlab.ui.workers.background import BackgroundTask

EXPORT_FPS = 20
EXPORT_MINIMUM_SIZE = 256


def face_name(prefix: str, source: str, dataset_index: int | None = None) -> str:
    """A default file name (no suffix) for the current face: 'face-dataset-123', 'face-me' for 'photo: me.jpg',
    'average-face' (a name that says 'face' already keeps it)."""
    stem = f"dataset-{dataset_index}" if dataset_index is not None else settings.file_stem(source)
    return stem if prefix in stem.split("-") else f"{prefix}-{stem}"


def blend_name(a: str, b: str) -> str:
    """'blend-A-B' from the endpoints' descriptions: 'dataset #12 (000013.jpg)' and 'random' -> 'blend-12-random'."""
    def short(text: str) -> str:
        return settings.file_stem(text).removeprefix("dataset-")
    return f"blend-{short(a)}-{short(b)}"


class FileCommands(QObject):
    """The window's file commands; each reports through the host's status bar or a non-blocking message box.

    `export_task` is the running export (None when there is none).
    """

    def __init__(self, host: FaceHost, interpolation: InterpolationPanel, parent: QObject | None = None):
        super().__init__(parent)
        self._host = host
        self._interpolation = interpolation
        self.export_task: BackgroundTask | None = None

    @Slot()
    def save_image(self, path: str | Path | None = None) -> None:
        """Write the decoded face (model resolution) as a PNG."""
        state = self._host.state
        path = Path(path) if path else settings.ask_save_path(
            self._host.window(), "image", "Save image", "PNG image (*.png)",
            face_name("face", state.source, state.dataset_index))
        if path is not None:
            self._host.decode_then(self._host.state.z, lambda image: self._write_png(path, image))

    def _write_png(self, path: Path, image: np.ndarray) -> None:
        try:
            written = save_png(path, image)
        except (OSError, ValueError) as exc:
            self._host.show_error("Save image", f"could not write {path}: {exc}")
            return
        self._host.status(f"saved {written}")

    @Slot()
    def copy_image(self) -> None:
        """Put the decoded face on the clipboard."""
        self._host.decode_then(self._host.state.z, self._copy)

    def _copy(self, image: np.ndarray) -> None:
        QGuiApplication.clipboard().setImage(to_qimage(image))
        self._host.status("image copied to the clipboard")

    @Slot()
    def save_latent(self, path: str | Path | None = None) -> Path | None:
        """Write the current latent as a float32 .npy file; the path written (None: cancelled or failed)."""
        if not path:
            state = self._host.state
            path = settings.ask_save_path(self._host.window(), "latent", "Save latent", "NumPy latent (*.npy)",
                                          face_name("latent", state.source, state.dataset_index))
            if path is None:
                return None
        path = Path(path)
        try:
            written = save_latent_file(path, self._host.state.z)
        except (OSError, UserError) as exc:
            self._host.show_error("Save latent", f"could not write {path}: {exc}")
            return None
        self._host.status(f"saved latent to {written}")
        return written

    @Slot()
    def load_latent(self, path: str | Path | None = None) -> bool:
        """Show the latent stored in a .npy file; a wrong file is refused with a message."""
        if not path:
            path = settings.ask_open_path(self._host.window(), "latent", "Open latent",
                                          "NumPy latent (*.npy);;All files (*)")
            if path is None:
                return False
        path = Path(path)
        try:
            z = load_latent_file(path, self._host.codec.latent_dim)
        except UserError as exc:
            self._host.show_error("Open latent", str(exc))
            return False
        self._host.set_latent(z, f"file {path.name}")
        return True

    @Slot()
    def export_animation(self, path: str | Path | None = None) -> BackgroundTask | None:
        """Write A → B → A (one cycle of the playback duration) as a GIF or MP4 in the background, with a progress
        dialog whose Cancel leaves no file; the running task (or None when nothing was started)."""
        host, interpolation = self._host, self._interpolation
        if not interpolation.ready:
            host.show_error("Export animation", "Set A and B first: the animation goes from A to B and back")
            return None
        if self.export_task is not None:
            host.show_error("Export animation", "an export is already running")
            return None
        if not path:
            labels = interpolation.endpoint_labels
            path = settings.ask_save_path(host.window(), "animation", "Export animation",
                                          "Animated GIF (*.gif);;MP4 video (*.mp4)",
                                          blend_name(labels["A"].toolTip(), labels["B"].toolTip()))
            if path is None:
                return None
        path = Path(path)
        if path.suffix.lower() not in FORMATS:
            host.show_error("Export animation", f"cannot write {path.name}: choose a .gif or .mp4 file name")
            return None
        n_frames = max(2, int(round(interpolation.duration_box.value() * EXPORT_FPS)))
        a, b, method = interpolation.endpoint("A"), interpolation.endpoint("B"), interpolation.method
        codec, space = host.codec, host.space
        size = max(EXPORT_MINIMUM_SIZE, codec.image_size)

        def work(progress, cancelled):  # the bar: n_frames decoded, then n_frames encoded
            frames = render_animation(codec, space, a, b, n_frames, method, size,
                                      lambda done, total: progress(done, 2 * n_frames), cancelled)
            return write_animation(path, frames, EXPORT_FPS, cancelled,
                                   lambda done, total: progress(n_frames + done, 2 * n_frames))

        dialog = QProgressDialog(f"Decoding {n_frames} frames for {path.name}…", "Cancel", 0, 2 * n_frames,
                                 host.window())
        dialog.setWindowTitle("Export animation")
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        task = BackgroundTask(work, self)
        task.progressed.connect(lambda done, total: self._show_progress(dialog, path.name, n_frames, done))
        dialog.canceled.connect(task.cancel)
        task.finished.connect(lambda written: host.status(f"wrote {n_frames} frames to {written}"))
        task.failed.connect(lambda message: host.show_error("Export animation", message))
        task.cancelled_done.connect(lambda: host.status("export cancelled: nothing was written"))
        for ended in (task.finished, task.failed, task.cancelled_done):
            ended.connect(dialog.deleteLater)
            ended.connect(self._export_ended)
        self.export_task = task
        return task.start()

    @staticmethod
    def _show_progress(dialog: QProgressDialog, name: str, n_frames: int, done: int) -> None:
        """The bar at `done` of 2 * n_frames steps, its line saying which frames are decoded or encoded."""
        if done <= n_frames:
            dialog.setLabelText(f"Decoding frames for {name}: {done} of {n_frames}")
        else:
            dialog.setLabelText(f"Encoding {name}: {done - n_frames} of {n_frames} frames encoded")
        dialog.setValue(done)

    @Slot()
    def _export_ended(self) -> None:
        self.export_task = None

    def shutdown(self) -> None:
        """Cancel a running export (its file is not written)."""
        if self.export_task is not None:
            self.export_task.cancel()
