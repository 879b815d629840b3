"""The window's file commands: save / copy the face, open / save a latent, export the A -> B -> A animation.

A mixin of MainWindow (it uses the window's codec, space, state, interpolation panel and status bar). The
face written is the decoding of the current latent, taken from the screen when it is there and decoded in
the background otherwise; the export runs in the background with a progress dialog and Cancel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from latentlab.errors import UserError
from latentlab.latent.animation import FORMATS, render_animation, write_animation
from latentlab.latent.space import load_latent_file, save_latent_file
from latentlab.pictures import save_png, to_uint8
from latentlab.ui.widgets.image_view import to_qimage
from latentlab.ui.workers.background import BackgroundTask

EXPORT_FPS = 20
EXPORT_MINIMUM_SIZE = 256
STATUS_MESSAGE_MS = 8000


class WindowFiles:
    """File commands of MainWindow; each reports in the status bar or a non-blocking message box."""

    export_task: BackgroundTask | None = None

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

    def decode_then(self, z: np.ndarray, use: Callable[[np.ndarray], None]) -> None:
        """Call `use(image)` with the decoding of `z` (uint8): at once when it is on screen, else when a background
        decode has made it (the UI thread never waits for the model)."""
        if self._shown_latent is not None and np.array_equal(self._shown_latent, z):
            use(self._shown_image.copy())
            return
        task = BackgroundTask(lambda progress, cancelled: to_uint8(self.codec.decode(z)), self)
        task.finished.connect(use)
        task.failed.connect(lambda message: self.statusBar().showMessage(f"decoding failed: {message}", STATUS_MESSAGE_MS))
        task.start()

    @Slot()
    def save_image(self, path: str | Path | None = None) -> None:
        """Write the decoded face (model resolution) as a PNG."""
        path = Path(path) if path else self._ask_path("Save image", "PNG image (*.png)", save=True)
        if path is not None:
            self.decode_then(self._state.z, lambda image: self._write_png(path, image))

    def _write_png(self, path: Path, image: np.ndarray) -> None:
        try:
            written = save_png(path, image)
        except (OSError, ValueError) as exc:
            self.show_error("Save image", f"could not write {path}: {exc}")
            return
        self.statusBar().showMessage(f"saved {written}", STATUS_MESSAGE_MS)

    @Slot()
    def copy_image(self) -> None:
        """Put the decoded face on the clipboard."""
        self.decode_then(self._state.z, self._copy)

    def _copy(self, image: np.ndarray) -> None:
        QGuiApplication.clipboard().setImage(to_qimage(image))
        self.statusBar().showMessage("image copied to the clipboard", STATUS_MESSAGE_MS)

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
    def export_animation(self, path: str | Path | None = None) -> BackgroundTask | None:
        """Write A → B → A (one cycle of the playback duration) as a GIF or MP4 in the background, with a progress
        dialog whose Cancel leaves no file; the running task (or None when nothing was started)."""
        if not self.interpolation.ready:
            self.show_error("Export animation", "Set A and B first: the animation goes from A to B and back")
            return None
        if self.export_task is not None:
            self.show_error("Export animation", "an export is already running")
            return None
        if not path:
            path = self._ask_path("Export animation", "Animated GIF (*.gif);;MP4 video (*.mp4)", save=True)
            if path is None:
                return None
        path = Path(path)
        if path.suffix.lower() not in FORMATS:
            self.show_error("Export animation", f"cannot write {path.name}: choose a .gif or .mp4 file name")
            return None
        n_frames = max(2, int(round(self.interpolation.duration_box.value() * EXPORT_FPS)))
        a, b, method = self.interpolation.endpoint("A"), self.interpolation.endpoint("B"), self.interpolation.method
        size = max(EXPORT_MINIMUM_SIZE, self.codec.image_size)

        def work(progress, cancelled):
            frames = render_animation(self.codec, self.space, a, b, n_frames, method, size, progress, cancelled)
            return write_animation(path, frames, EXPORT_FPS, cancelled)

        dialog = QProgressDialog(f"Exporting {n_frames} frames to {path.name}…", "Cancel", 0, n_frames + 1, self)
        dialog.setWindowTitle("Export animation")
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        task = BackgroundTask(work, self)
        task.progressed.connect(lambda done, total: dialog.setValue(done))
        dialog.canceled.connect(task.cancel)
        task.finished.connect(lambda written: self.statusBar().showMessage(
            f"wrote {n_frames} frames to {written}", STATUS_MESSAGE_MS))
        task.failed.connect(lambda message: self.show_error("Export animation", message))
        task.cancelled_done.connect(lambda: self.statusBar().showMessage("export cancelled: nothing was written",
                                                                         STATUS_MESSAGE_MS))
        for ended in (task.finished, task.failed, task.cancelled_done):
            ended.connect(dialog.deleteLater)
            ended.connect(self._export_ended)
        self.export_task = task
        return task.start()

    @Slot()
    def _export_ended(self) -> None:
        self.export_task = None
