"""BookmarkCommands: star the current face, go back to a bookmark (one undo step), rename, delete, export all.

A part of MainWindow over a FaceHost and the GalleryPanel. The bookmarks are those of the loaded model
(latentlab.ui.bookmarks.BookmarkStore, in the user's application-data folder, by the weights' fingerprint); the
store is opened in the background when the window starts (the fingerprint reads the whole weights file), and the
export decodes every bookmark as one batch in the background.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox

from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.pictures import to_uint8
from latentlab.ui import settings as remembered
from latentlab.ui.bookmarks import BookmarkStore, default_folder, export_bookmarks
from latentlab.ui.panels.gallery import GalleryPanel
from latentlab.ui.window.host import FaceHost
from latentlab.ui.workers.background import BackgroundTask

IN_MEMORY_NOTE = "a model without a weights file: bookmarks last until the window closes"


class BookmarkCommands(QObject):
    """The window's bookmark commands. `store` is None until it has loaded (`ready` then fires);
    `folder` is the root of every model's bookmarks (default: the user's application-data folder)."""

    ready = Signal()
    changed = Signal()

    def __init__(self, host: FaceHost, gallery: GalleryPanel, folder: str | Path | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._host = host
        self._gallery = gallery
        self.store: BookmarkStore | None = None
        self.export_task: BackgroundTask | None = None
        gallery.bookmark_chosen.connect(self.go_to)
        gallery.rename_requested.connect(self.rename)
        gallery.remove_requested.connect(self.remove)
        gallery.note_label.setText("loading bookmarks…")
        codec = host.codec
        weights = codec.weights_path
        root = Path(folder) if folder is not None else (default_folder() if weights is not None else None)
        latent_dim = codec.latent_dim

        def work(progress, cancelled):
            if weights is None:
                return BookmarkStore(None, "in-memory", latent_dim)
            return BookmarkStore(root, weights_fingerprint(weights), latent_dim)

        self._load_task = BackgroundTask(work, self)
        self._load_task.finished.connect(self._on_loaded)
        self._load_task.failed.connect(lambda message: gallery.note_label.setText(f"bookmarks off: {message}"))
        self._load_task.start()

    @Slot(object)
    def _on_loaded(self, store: BookmarkStore) -> None:
        self._load_task = None
        self.store = store
        self._refresh()
        self.ready.emit()

    def _refresh(self) -> None:
        store = self.store
        note = store.note or ("" if store.persistent else IN_MEMORY_NOTE)
        self._gallery.show_bookmarks(store.bookmarks, note)
        self.changed.emit()

    def _require_store(self, title: str) -> BookmarkStore | None:
        if self.store is None:
            self._host.show_error(title, "the bookmarks are still loading: try again in a moment")
        return self.store

    # ------------------------------------------------------------------------------- commands

    @Slot()
    def bookmark_face(self, name: str = "") -> None:
        """Star the current face (its decoding becomes the thumbnail, once it is on screen or decoded)."""
        if self._require_store("Bookmark face") is None:
            return
        name = name if isinstance(name, str) else ""  # a QAction passes its checked state
        state = self._host.state
        self._host.decode_then(state.z, lambda image: self._add(state, image, name))

    def _add(self, state, image: np.ndarray, name: str) -> None:
        try:
            bookmark = self.store.add(state.z, image, state.source, name, state.dataset_index)
        except UserError as exc:
            self._host.show_error("Bookmark face", str(exc))
            return
        self._refresh()
        self._gallery.select(bookmark.key)
        self._host.status(f"bookmarked “{bookmark.name}” ({len(self.store)} for this model)")

    @Slot(str)
    def go_to(self, key: str) -> None:
        """Make bookmark `key` the current face: one undo step."""
        if self.store is None:
            return
        try:
            bookmark = self.store.get(key)
        except UserError as exc:
            self._host.show_error("Bookmarks", str(exc))
            return
        self._host.set_latent(bookmark.z, f"bookmark “{bookmark.name}”", dataset_index=bookmark.dataset_index)

    @Slot(str, str)
    def rename(self, key: str, name: str) -> None:
        if self.store is None:
            return
        try:
            renamed = self.store.rename(key, name)
        except UserError as exc:
            self._host.show_error("Rename bookmark", str(exc))
            self._refresh()  # the old name back in the list
            return
        self._refresh()
        self._host.status(f"bookmark renamed “{renamed.name}”")

    @Slot(str)
    def remove(self, key: str, confirm: bool = True) -> bool:
        """Delete bookmark `key` (after a yes from the user when `confirm`); True when it was deleted."""
        if self.store is None:
            return False
        try:
            bookmark = self.store.get(key)
            if confirm and QMessageBox.question(
                    self._host.window(), "Delete bookmark", f"Delete the bookmark “{bookmark.name}”?"
            ) != QMessageBox.StandardButton.Yes:
                return False
            self.store.remove(key)
        except UserError as exc:
            self._host.show_error("Delete bookmark", str(exc))
            return False
        self._refresh()
        self._host.status(f"deleted bookmark “{bookmark.name}”")
        return True

    @Slot()
    def export_all(self, folder: str | Path | None = None) -> BackgroundTask | None:
        """Write every bookmark as a PNG at the model's resolution and its latent as .npy into a folder (chosen in a
        dialog when not given), in the background; the running task (None when nothing was started)."""
        host = self._host
        store = self._require_store("Export bookmarks")
        if store is None:
            return None
        if not store.bookmarks:
            host.show_error("Export bookmarks", "no bookmarks to export: star a face first (Ctrl+B)")
            return None
        if self.export_task is not None:
            host.show_error("Export bookmarks", "an export of the bookmarks is already running")
            return None
        if not folder:
            folder = remembered.ask_folder(host.window(), "bookmarks", "Export bookmarks to folder")
            if folder is None:
                return None
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            host.show_error("Export bookmarks", f"{folder.name} is not a folder")
            return None
        bookmarks, codec = list(store.bookmarks), host.codec

        def work(progress, cancelled):
            images = list(to_uint8(codec.decode(np.stack([b.z for b in bookmarks]))))
            return export_bookmarks(bookmarks, images, folder)

        task = BackgroundTask(work, self)
        task.finished.connect(lambda written: host.status(f"exported {len(bookmarks)} bookmarks (PNG + .npy) to "
                                                          f"{folder}"))
        task.failed.connect(lambda message: host.show_error("Export bookmarks", message))
        for ended in (task.finished, task.failed, task.cancelled_done):
            ended.connect(self._export_ended)
        self.export_task = task
        return task.start()

    @Slot()
    def _export_ended(self) -> None:
        self.export_task = None

    def shutdown(self) -> None:
        """Wait for a store still loading and an export still writing (both are short)."""
        for task in (self._load_task, self.export_task):
            if task is not None:
                task.wait(10.0)
