"""WindowCommands: every command of the window as a QAction with its standard shortcut, in one place; the menus, the
toolbar, the keyboard-shortcut list (F1) and About.

A part of MainWindow: the actions trigger the slots of the window itself (a CommandHost), of its FileCommands and
of its DatasetCommands. Shortcuts work in every window of the app: the Latent distribution window adds the same
actions (`shortcut_actions`).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import QMenuBar, QMessageBox, QPushButton, QSizePolicy, QToolBar, QWidget

from latentlab.latent.space import LatentSpace
from latentlab.ui.window.bookmarking import BookmarkCommands
from latentlab.ui.window.dataset import DatasetCommands
from latentlab.ui.window.explore_docks import ExploreDocks
from latentlab.ui.window.files import FileCommands
from latentlab.ui.window.models import ModelCommands


def key_sequences(specs: list) -> list[QKeySequence]:
    """Shortcuts from strings ("Ctrl+R"), key sequences, and standard keys (with every binding the platform
    gives them), duplicates dropped."""
    sequences: list[QKeySequence] = []
    for spec in specs:
        standard = isinstance(spec, QKeySequence.StandardKey)
        candidates = QKeySequence.keyBindings(spec) if standard else [QKeySequence(spec)]
        sequences += [k for k in candidates if k not in sequences and not k.isEmpty()]
    return sequences


def key_text(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


def action_button(act: QAction) -> QPushButton:
    """A push button that triggers `act`, with its text and tooltip, enabled while it is."""
    button = QPushButton(act.text().replace("&", ""))
    button.setToolTip(act.toolTip())
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    button.clicked.connect(act.trigger)
    act.changed.connect(lambda: button.setEnabled(act.isEnabled()))
    return button


class CommandHost(Protocol):
    """What the window's actions call on the window itself."""

    space: LatentSpace
    undo_stack: QUndoStack
    bookmarks: BookmarkCommands
    models: ModelCommands
    explore: ExploreDocks

    def randomize(self) -> None: ...
    def invert(self) -> None: ...
    def reset(self) -> None: ...
    def set_raw_sliders(self, raw: bool) -> None: ...
    def focus_slider_filter(self) -> None: ...
    def show_face_panel(self) -> None: ...
    def open_photo(self) -> None: ...
    def show_distribution(self) -> None: ...
    def show_atlas(self) -> None: ...
    def model_summary(self) -> str: ...
    def close(self) -> bool: ...
    def window(self) -> QWidget: ...


class WindowCommands(QObject):
    """The window's actions (`<name>_action`), its menus and toolbar, and help."""

    def __init__(self, host: CommandHost, files: FileCommands, dataset: DatasetCommands):
        window = host.window()
        super().__init__(window)
        self._host = host
        self._listed_keys: dict[QAction, str] = {}

        def action(text, slot, shortcut=None, tip=""):
            act = QAction(text, window)
            if shortcut is not None:
                specs = shortcut if isinstance(shortcut, list) else [shortcut]
                act.setShortcuts(key_sequences(specs))
                # the list shows the keys asked for (a standard key: its main binding), not every platform alias
                listed = [key_text(QKeySequence(spec)) for spec in specs]
                self._listed_keys[act] = ", ".join(dict.fromkeys(k for k in listed if k))
                act.setToolTip(f"{tip} ({key_text(act.shortcut())})")
            else:
                act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(slot)
            return act

        Key = QKeySequence.StandardKey
        has_dataset = host.space.has_dataset
        self.save_image_action = action("&Save Image…", files.save_image, Key.Save, "Save the decoded face as a PNG")
        self.save_latent_action = action("Save &Latent…", files.save_latent, "Ctrl+Shift+S",
                                         "Save the latent as a .npy file")
        self.load_latent_action = action("&Open Latent…", files.load_latent, Key.Open, "Load a latent from a .npy file")
        self.copy_image_action = action("&Copy Image", files.copy_image, Key.Copy,
                                        "Copy the decoded face to the clipboard")
        self.export_action = action("&Export Animation…", files.export_animation, "Ctrl+E",
                                    "Write the A → B → A transition as a GIF or MP4")
        self.open_photo_action = action("Open &Photo…", host.open_photo, "Ctrl+Shift+O",
                                        "Encode a photo of a face in the Your face panel "
                                        "(or drop an image on the window)")
        self.data_dir_action = action("&Dataset Folder…", dataset.choose_data_dir, None,
                                      "Choose the folder of dataset images (to show originals)")
        self.quit_action = action("&Quit", host.close, Key.Quit, "Close the explorer")
        self.open_model_action = action("Open &Model…", host.models.open_model, "Ctrl+Shift+M",
                                        "Switch to another model: a weights file with its model.json beside it")
        self.bookmark_action = action("&Bookmark Face", host.bookmarks.bookmark_face, "Ctrl+B",
                                      "Star the current face: it is kept in the Gallery for this model")
        self.export_bookmarks_action = action("Export Book&marks…", host.bookmarks.export_all, None,
                                              "Write every bookmark of this model as a PNG and a .npy latent")

        undo_stack = host.undo_stack
        self.undo_action = action("&Undo", undo_stack.undo, Key.Undo, "Undo the last latent change")
        self.redo_action = action("&Redo", undo_stack.redo, ["Ctrl+Shift+Z", Key.Redo], "Redo the undone latent change")
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        undo_stack.undoTextChanged.connect(lambda text: self.undo_action.setStatusTip(f"Undo: {text}"))
        undo_stack.redoTextChanged.connect(lambda text: self.redo_action.setStatusTip(f"Redo: {text}"))
        for act in (self.undo_action, self.redo_action):
            act.triggered.connect(dataset.pause_animation)
        self.find_action = action("&Filter Sliders", host.focus_slider_filter, Key.Find,
                                  "Type to filter the sliders by name")

        self.randomize_action = action("&Randomize", host.randomize, "Ctrl+R",
                                       "A new face from the prior, scaled by the range")
        self.invert_action = action("&Invert", host.invert, "Ctrl+I",
                                    "The opposite face: the latent mirrored through the dataset mean")
        self.reset_action = action("Re&set", host.reset, "Ctrl+0", "All sliders to zero: the average face")
        self.previous_action = action("&Previous Image", dataset.previous_image, Key.Back, "The previous dataset image")
        self.next_action = action("&Next Image", dataset.next_image, Key.Forward, "The next dataset image")
        self.random_image_action = action("Ra&ndom Image", dataset.random_dataset_image, "Ctrl+Shift+R",
                                          "A random dataset image")
        self.nearest_action = action("Nearest &Dataset Image", dataset.nearest_dataset_image, "Ctrl+Shift+N",
                                     "The dataset image whose latent is closest to the current face")
        for act in (self.previous_action, self.next_action, self.random_image_action, self.nearest_action):
            act.setEnabled(has_dataset)
        self.set_a_action = action("Set &A", lambda: dataset.capture_endpoint("A"), "Ctrl+Shift+A",
                                   "Make the current face endpoint A")
        self.set_b_action = action("Set &B", lambda: dataset.capture_endpoint("B"), "Ctrl+Shift+B",
                                   "Make the current face endpoint B")
        self.play_action = action("&Play / Pause", dataset.toggle_play, "Ctrl+P", "Animate A → B → A")
        explore = host.explore
        self.children_action = action("&Children Grid", explore.show_children, "Ctrl+G",
                                      "A grid of variations of the current face (or of random faces): click one")
        self.reroll_action = action("Re-roll &Grid", explore.reroll_children, "Ctrl+Shift+G",
                                    "New faces in the Children grid")
        self.strips_action = action("S&trips", explore.show_strips, "Ctrl+T",
                                    "7 faces from the -end to the +end of the component or attribute under the mouse")
        self.mixing_action = action("&Mix A / B by Components", explore.show_mixing, "Ctrl+M",
                                    "The first k principal components from A, the rest from B")

        self.raw_action = action("&Raw Latent Dimensions", host.set_raw_sliders, "Ctrl+D",
                                 "Sliders for the raw latent dimensions instead of principal components")
        self.raw_action.setCheckable(True)
        self.raw_action.setEnabled(has_dataset)
        self.face_action = action("Your &Face", host.show_face_panel, None,
                                  "Show the Your face panel: webcam, photos and the most similar dataset faces")
        self.distribution_action = action("Latent &Distribution…", host.show_distribution, "Ctrl+L",
                                          "Histograms of the dataset latents against N(0, 1), KL per dimension, "
                                          "the current face marked")
        self.atlas_action = action("&Atlas", host.show_atlas, "Ctrl+Shift+T",
                                   "The map of every dataset face: hover, click, Shift+drag to walk, Ctrl+drag to "
                                   "lasso two groups into a direction")
        self.shortcuts_action = action("&Keyboard Shortcuts", self.show_shortcuts, Key.HelpContents,
                                       "List every shortcut")
        self.about_action = action("&About latentlab", self.show_about, None, "The model and the dataset latents")

    def shortcut_actions(self) -> list[QAction]:
        """The actions that have a shortcut (other windows of the app add them so their keys work there too)."""
        return list(self._listed_keys)

    def fill_menus(self, menu_bar: QMenuBar, dock_actions: list[QAction]) -> None:
        """File, Edit, Latent, View (with `dock_actions`, the docks' show / hide toggles) and Help."""
        menus = (
            ("&File", (self.save_image_action, self.copy_image_action, None, self.load_latent_action,
                       self.save_latent_action, None, self.open_photo_action, None, self.export_action,
                       self.export_bookmarks_action, None, self.open_model_action,
                       self._host.models.recent_menu.menuAction(), self.data_dir_action, None, self.quit_action)),
            ("&Edit", (self.undo_action, self.redo_action, None, self.find_action)),
            ("&Latent", (self.randomize_action, self.invert_action, self.reset_action, self.bookmark_action, None,
                         self.previous_action, self.next_action, self.random_image_action, self.nearest_action, None,
                         self.set_a_action, self.set_b_action, self.play_action, None,
                         self.children_action, self.reroll_action, self.strips_action, self.mixing_action)),
            ("&View", (self.raw_action, None, *dock_actions, None, self.distribution_action, self.atlas_action)),
            ("&Help", (self.shortcuts_action, self.about_action)),
        )
        for title, actions in menus:
            menu = menu_bar.addMenu(title)
            for act in actions:
                menu.addSeparator() if act is None else menu.addAction(act)

    def fill_toolbar(self, toolbar: QToolBar) -> None:
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for act in (self.randomize_action, self.invert_action, self.reset_action, None, self.previous_action,
                    self.random_image_action, self.next_action, None, self.undo_action, self.redo_action, None,
                    self.save_image_action, self.copy_image_action, self.export_action, None, self.face_action,
                    self.distribution_action):
            toolbar.addSeparator() if act is None else toolbar.addAction(act)

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(command, keys) for every shortcut of the window: its actions and the panels' own keys (Capture)."""
        rows = [(act.text().replace("&", ""), keys) for act, keys in self._listed_keys.items()]
        for shortcut in self._host.window().findChildren(QShortcut):
            if shortcut.whatsThis():
                rows.append((shortcut.whatsThis(), key_text(shortcut.key())))
        return sorted(set(rows))

    @Slot()
    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td>{name}</td><td><b>{keys}</b></td></tr>" for name, keys in self.shortcut_table())
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", f"<table cellpadding=3>{rows}</table>",
                          QMessageBox.StandardButton.Ok, self._host.window())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @Slot()
    def show_about(self) -> None:
        text = ("<b>latentlab</b>: a latent-space explorer for a convolutional VAE.<br><br>"
                + self._host.model_summary().replace("\n", "<br>"))
        QMessageBox.about(self._host.window(), "About latentlab", text)
