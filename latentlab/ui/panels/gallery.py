"""GalleryPanel: the bookmarked faces as thumbnails with their names, to go back to any of them.

Interface: `show_bookmarks(bookmarks, note)` fills it (latentlab.ui.bookmarks.Bookmark, oldest first);
`select(key)` selects one. It emits `bookmark_chosen(key)` (double-click, Enter or Go to), `rename_requested(key,
name)` (F2 or a click on the selected name, then typing) and `remove_requested(key)` (Delete key or button). The
window's Bookmark Face and Export Bookmarks actions are put on `star_button` and `export_button`. The panel itself
changes nothing: the window's BookmarkCommands does, and calls `show_bookmarks` again.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.ui.bookmarks import Bookmark
from latentlab.ui.widgets.image_view import to_qimage

ICON_SIZE = 64
ITEM_SIZE = QSize(ICON_SIZE + 40, ICON_SIZE + 38)
KEY_ROLE = Qt.ItemDataRole.UserRole
EMPTY_TEXT = "No bookmarks yet: ★ Bookmark (Ctrl+B) stars the face on screen."


class GalleryPanel(QWidget):
    """Thumbnails of the model's bookmarks; buttons to star the face, go to, rename, delete and export."""

    bookmark_chosen = Signal(str)
    rename_requested = Signal(str, str)
    remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._filling = False
        self.star_button = QToolButton()
        self.export_button = QToolButton()
        for button in (self.star_button, self.export_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.go_button = QPushButton("Go to")
        self.go_button.setToolTip("Make the selected bookmark the current face (Enter or double-click; one undo step)")
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the selected bookmark (F2)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected bookmark (Delete)")

        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.list.setGridSize(QSize(ICON_SIZE + 44, ICON_SIZE + 42))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.SelectedClicked)
        self.list.setMinimumSize(ICON_SIZE + 60, ICON_SIZE + 40)
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._remove_selected)
        self.go_button.clicked.connect(lambda: self._on_activated(self.list.currentItem()))
        self.rename_button.clicked.connect(self._rename_selected)
        self.delete_button.clicked.connect(self._remove_selected)

        self.note_label = QLabel(EMPTY_TEXT)
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: palette(mid);")

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.star_button)
        top.addWidget(self.export_button)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        for button in (self.go_button, self.rename_button, self.delete_button):
            row.addWidget(button)
        layout.addLayout(row)
        layout.addWidget(self.note_label)
        self._update_buttons()

    # ------------------------------------------------------------------------------ interface

    def show_bookmarks(self, bookmarks: list[Bookmark], note: str = "") -> None:
        """Show `bookmarks` (the selection kept when its bookmark is still there); `note` under the list."""
        selected = self.selected_key()
        self._filling = True
        try:
            self.list.clear()
            for bookmark in bookmarks:
                item = QListWidgetItem(QIcon(QPixmap.fromImage(to_qimage(bookmark.thumbnail))), bookmark.name)
                item.setData(KEY_ROLE, bookmark.key)
                when = datetime.fromtimestamp(bookmark.created).strftime("%Y-%m-%d %H:%M") if bookmark.created else ""
                item.setToolTip(f"{bookmark.name}\nfrom: {bookmark.source}\n{when}".rstrip())
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                item.setSizeHint(ITEM_SIZE)  # the name gets the cell's width (two lines), not the icon's
                self.list.addItem(item)
        finally:
            self._filling = False
        if selected is not None:
            self.select(selected)
        count = len(bookmarks)
        lines = [note] if note else []
        lines.append(f"{count} bookmark{'s' if count != 1 else ''} for this model" if count else EMPTY_TEXT)
        self.note_label.setText("\n".join(lines))
        self._update_buttons()

    def select(self, key: str) -> bool:
        """Select (and scroll to) the bookmark `key`; False when it is not shown."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(KEY_ROLE) == key:
                self.list.setCurrentItem(item)
                self.list.scrollToItem(item)
                return True
        return False

    def selected_key(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None or not item.isSelected() else item.data(KEY_ROLE)

    def keys(self) -> list[str]:
        """The keys of the bookmarks shown, in order."""
        return [self.list.item(row).data(KEY_ROLE) for row in range(self.list.count())]

    # --------------------------------------------------------------------------------- slots

    @Slot(QListWidgetItem)
    def _on_activated(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.bookmark_chosen.emit(item.data(KEY_ROLE))

    @Slot(QListWidgetItem)
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._filling:
            self.rename_requested.emit(item.data(KEY_ROLE), item.text())

    @Slot()
    def _rename_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    @Slot()
    def _remove_selected(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.remove_requested.emit(key)

    @Slot()
    def _update_buttons(self) -> None:
        has = self.selected_key() is not None
        for button in (self.go_button, self.rename_button, self.delete_button):
            button.setEnabled(has)
