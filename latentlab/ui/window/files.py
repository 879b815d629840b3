"""FileCommands: save / copy the face, open / save a latent, export the A -> B -> A animation.

A part of MainWindow that uses only a FaceHost and the interpolation panel (for the endpoints). The face written is
the decoding of the current latent, taken from the screen when it is there and decoded in the background otherwise;
the export runs in the background with a progress dialog and Cancel.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from latentlab.errors import UserError
from latentlab.latent.animation import FORMATS, render_animation, write_animation
from latentlab.latent.space import load_latent_file, save_latent_file
from latentlab.pictures import save_png
from latentlab.ui.panels.interpolation import InterpolationPanel
from latentlab.ui.widgets.image_view import to_qimage
from latentlab.ui.window.host import FaceHost
from latentlab.ui.workers.background import BackgroundTask

EXPORT_FPS = 20
EXPORT_MINIMUM_SIZE = 256


def ask_path(parent, title: str, filters: str, save: bool) -> Path | None:
    """A file dialog; a saved name without suffix gets the one of the chosen filter (None: cancelled)."""
    dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
    path, chosen_filter = dialog(parent, title, str(Path.cwd()), filters)
    if not path:
        return None
    path = Path(path)
    suffix = re.search(r"\*(\.\w+)", chosen_filter or filters)
    return path.with_name(path.name + suffix.group(1)) if save and not path.suffix and suffix else path


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
        path = Path(path) if path else ask_path(self._host.window(), "Save image", "PNG image (*.png)", save=True)
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
            path = ask_path(self._host.window(), "Save latent", "NumPy latent (*.npy)", save=True)
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
            path = ask_path(self._host.window(), "Open latent", "NumPy latent (*.npy);;All files (*)", save=False)
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
            path = ask_path(host.window(), "Export animation", "Animated GIF (*.gif);;MP4 video (*.mp4)", save=True)
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

        def work(progress, cancelled):
            frames = render_animation(codec, space, a, b, n_frames, method, size, progress, cancelled)
            return write_animation(path, frames, EXPORT_FPS, cancelled)

        dialog = QProgressDialog(f"Exporting {n_frames} frames to {path.name}…", "Cancel", 0, n_frames + 1,
                                 host.window())
        dialog.setWindowTitle("Export animation")
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        task = BackgroundTask(work, self)
        task.progressed.connect(lambda done, total: dialog.setValue(done))
        dialog.canceled.connect(task.cancel)
        task.finished.connect(lambda written: host.status(f"wrote {n_frames} frames to {written}"))
        task.failed.connect(lambda message: host.show_error("Export animation", message))
        task.cancelled_done.connect(lambda: host.status("export cancelled: nothing was written"))
        for ended in (task.finished, task.failed, task.cancelled_done):
            ended.connect(dialog.deleteLater)
            ended.connect(self._export_ended)
        self.export_task = task
        return task.start()

    @Slot()
    def _export_ended(self) -> None:
        self.export_task = None

    def shutdown(self) -> None:
        """Cancel a running export (its file is not written)."""
        if self.export_task is not None:
            self.export_task.cancel()
