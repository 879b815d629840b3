"""StripsPanel: for the principal component (or raw dimension) or attribute under the mouse or chosen, a strip of
7 faces from its -end to its +end (the slider's range), following the current face (GANSpace's idea); export it,
or the strips of the first N components as one grid, as PNG.

The strip's latents are the ones the slider itself would set (`explore.component_strip` / `attribute_strip`), made
and decoded as one batch in the window's decoder thread (latest wins), after the face has held still for
FOLLOW_DELAY_MS, so a drag costs the UI thread nothing but a timer restart. Hovering or focusing a slider row of the
Latent sliders or Attributes docks (`watch_rows`) picks its strip unless "Follow the mouse" is off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import UserError
from latentlab.latent import explore
from latentlab.pictures import make_grid, save_png, to_uint8
from latentlab.ui.panels.attributes_panel import RANGE as ATTRIBUTE_RANGE
from latentlab.ui.panels.attributes_panel import display_name
from latentlab.ui.widgets.thumbnail_grid import ThumbnailGrid
from latentlab.ui.workers.background import BackgroundTask
from latentlab.ui.workers.batch_decoder import BatchDecoder

FOLLOW_DELAY_MS = 60  # a face change waits this long for the next one before the strip follows it
EXPORT_COMPONENTS_DEFAULT = 5
Target = tuple[str, int]  # ("slider", i): slider i of the Latent sliders (PC or raw dim); ("attribute", i)


def default_ask_save(parent: QWidget, title: str, name: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, name, "PNG image (*.png)")
    if not path:
        return None
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + ".png")


class StripsPanel(QWidget):
    """The strip of one target, its chooser, "Follow the mouse", and the two exports.

    `space` is the LatentSpace; `decode` decodes a batch (Codec.decode) in `thread` (None: a thread of its own);
    `slider_mode()` says what the Latent sliders show ('pca' or 'raw') and `slider_range()` their range; `attributes()`
    gives (AttributeDirections, held indices) as the Attributes dock edits with them, or None without attributes.
    `ask_save(parent, title, suggested name)` asks where an export goes.
    """

    latent_chosen = Signal(object, str)  # a strip face clicked: its latent, what it is ("PC 3 -2.00")
    strip_shown = Signal(object)  # the latents (7, D) now on screen
    status = Signal(str)  # exports written or failed

    def __init__(self, space, decode: Callable[[np.ndarray], np.ndarray], slider_mode: Callable[[], str],
                 slider_range: Callable[[], float], attributes: Callable[[], tuple | None],
                 attribute_names: list[str], thread: QThread | None = None,
                 ask_save: Callable[[QWidget, str, str], Path | None] = default_ask_save,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._space = space
        self._decode = decode
        self._slider_mode = slider_mode
        self._slider_range = slider_range
        self._attributes = attributes
        self._attribute_names = list(attribute_names)
        self._ask_save = ask_save
        self._face = space.reset()
        self._requested = 0
        self._shown_key = -1
        self._stale = True
        self._watched: dict[QObject, Target] = {}
        self.latents: np.ndarray | None = None
        self._values = explore.strip_values(1.0)
        self._label = ""
        self.export_task: BackgroundTask | None = None
        self.decoder = BatchDecoder(decode, thread, self)
        self.decoder.decoded.connect(self._on_decoded)
        self.decoder.failed.connect(lambda key, message: self.strip.clear(f"decoding failed: {message}"))
        self._follow = QTimer(self)
        self._follow.setSingleShot(True)
        self._follow.setInterval(FOLLOW_DELAY_MS)
        self._follow.timeout.connect(self.refresh)

        self.target_box = QComboBox()
        self.target_box.setToolTip("The principal component or attribute the strip runs along")
        self.target_box.setMaxVisibleItems(20)
        self._fill_targets()
        self.target_box.currentIndexChanged.connect(self._on_target_changed)
        self.follow_box = QCheckBox("Follow")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("Show the strip of the slider under the mouse (or with the keyboard focus) in "
                                   "the Latent sliders and Attributes docks")
        self.strip = ThumbnailGrid(explore.STRIP_FACES, 1, minimum_cell=56, placeholder="decoding…")
        self.strip.setToolTip("From the slider's -end (top) to its +end (bottom); click a face to make it current")
        self.strip.clicked.connect(self.choose)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: palette(mid);")
        self.export_button = QPushButton("Export Strip…")
        self.export_button.setToolTip("Write this strip as a PNG at the model's resolution")
        self.export_button.clicked.connect(lambda: self.export_strip())
        self.components_box = QSpinBox()
        self.components_box.setRange(2, min(32, space.latent_dim))
        self.components_box.setValue(min(EXPORT_COMPONENTS_DEFAULT, space.latent_dim))
        self.components_box.setPrefix("PC 1–")
        self.components_box.setToolTip("How many leading components the grid export holds, one strip per row")
        self.export_grid_button = QPushButton("Export Grid…")
        self.export_grid_button.setToolTip("Write the strips of the first N components (or dimensions) as one PNG, "
                                           "one row each")
        self.export_grid_button.clicked.connect(lambda: self.export_components())

        self.export_button.setText("Export…")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.target_box, 1)
        top.addWidget(self.follow_box)
        layout.addLayout(top)
        layout.addWidget(self.strip, 1)
        layout.addWidget(self.caption)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addStretch(1)
        export_row.addWidget(self.components_box)
        export_row.addWidget(self.export_grid_button)
        layout.addLayout(export_row)

    # ------------------------------------------------------------------------------ interface

    @property
    def target(self) -> Target:
        return self._targets[max(self.target_box.currentIndex(), 0)]

    def target_name(self, target: Target | None = None) -> str:
        kind, index = target or self.target
        if kind == "attribute":
            return display_name(self._attribute_names[index])
        return f"{'PC' if self._slider_mode() == 'pca' else 'dim'} {index + 1}"

    def set_target(self, kind: str, index: int) -> None:
        """Show the strip of slider `index` of the Latent sliders (kind 'slider') or of attribute `index`."""
        try:
            position = self._targets.index((kind, int(index)))
        except ValueError:
            raise UserError(f"no strip for {kind} {index}") from None
        self.target_box.setCurrentIndex(position)

    def watch_rows(self, kind: str, rows: list[list[QWidget]]) -> None:
        """Hovering or focusing any widget of row i (a name label, a slider) picks target (kind, i)."""
        for index, widgets in enumerate(rows):
            for widget in widgets:
                self._watched[widget] = (kind, index)
                widget.installEventFilter(self)

    @Slot(str)
    def slider_mode_changed(self, _mode: str = "") -> None:
        """The Latent sliders switched between components and raw dimensions: relabel, and follow."""
        for index in range(self._space.latent_dim):
            self.target_box.setItemText(index, self.target_name(("slider", index)))
        self.settings_changed()

    @Slot()
    def settings_changed(self) -> None:
        """The slider range, the holds or the directions changed: the strip is made again."""
        self._stale = True
        if self.isVisible():
            self._follow.start()

    @Slot(object)
    def set_face(self, z: np.ndarray) -> None:
        """The current face changed: the strip follows it (after FOLLOW_DELAY_MS without another change)."""
        z = np.asarray(z, np.float32)
        if np.array_equal(z, self._face):
            return
        self._face = z.copy()
        self.settings_changed()

    def is_current(self) -> bool:
        """Whether the strip on screen is the one the face, the target and the settings give."""
        return not self._stale and self._shown_key == self._requested and not self._follow.isActive()

    def strip_latents(self, target: Target | None = None, z: np.ndarray | None = None) -> tuple[Callable, np.ndarray]:
        """(a function making the strip's latents (7, D), the 7 slider values) of `target` around `z` (default: the
        one shown, the current face)."""
        kind, index = target or self.target
        face = (self._face if z is None else np.asarray(z, np.float32)).copy()
        if kind == "attribute":
            loaded = self._attributes()
            if loaded is None:
                raise UserError("attribute strips need attribute directions (attributes.npz)")
            directions, held = loaded
            held = list(held)
            values = explore.strip_values(ATTRIBUTE_RANGE)
            return (lambda: explore.attribute_strip(directions, face, index, ATTRIBUTE_RANGE, held)), values
        extent, mode, space = self._slider_range(), self._slider_mode(), self._space
        return (lambda: explore.component_strip(space, face, index, extent, mode=mode)), explore.strip_values(extent)

    @Slot()
    def refresh(self) -> None:
        """Ask for the strip of the target around the current face (shown when decoded)."""
        self._follow.stop()
        try:
            make, values = self.strip_latents()
        except UserError as exc:
            self.strip.clear(str(exc))
            return
        self._requested += 1
        self._stale = False
        self._pending = (values, self.target_name())
        self.decoder.request(self._requested, make)

    @Slot(int)
    def choose(self, index: int) -> None:
        """Make face `index` of the strip the current face (through `latent_chosen`)."""
        if self.latents is None or not 0 <= index < len(self.latents):
            return
        self.latent_chosen.emit(self.latents[index].copy(), f"{self._label} {self._values[index]:+.2f}")

    def export_strip(self, path: str | Path | None = None) -> BackgroundTask | None:
        """Write the strip of the current target around the current face as one PNG row (in the background)."""
        name = self.target_name()
        make, _ = self.strip_latents()
        path = Path(path) if path else self._ask_save(self, "Export strip", f"strip-{name.replace(' ', '')}.png")
        return None if path is None else self._export(path, [make], f"the strip of {name}")

    def export_components(self, path: str | Path | None = None, count: int | None = None) -> BackgroundTask | None:
        """Write the strips of the first `count` sliders (components, or raw dimensions) as one PNG, a row each."""
        count = int(count or self.components_box.value())
        if not 1 <= count <= self._space.latent_dim:
            raise UserError(f"choose 1 to {self._space.latent_dim} strips")
        makers = [self.strip_latents(("slider", i))[0] for i in range(count)]
        first, last = self.target_name(("slider", 0)), self.target_name(("slider", count - 1))
        suggested = f"strips-{first.replace(' ', '')}-{count}.png"
        path = Path(path) if path else self._ask_save(self, "Export strips", suggested)
        return None if path is None else self._export(path, makers, f"the strips of {first} to {last}")

    def shutdown(self) -> None:
        self._follow.stop()
        if self.export_task is not None:
            self.export_task.cancel()
        self.decoder.stop()

    # ------------------------------------------------------------------------------ private

    def _fill_targets(self) -> None:
        self._targets = [("slider", i) for i in range(self._space.latent_dim)]
        self._targets += [("attribute", i) for i in range(len(self._attribute_names))]
        self.target_box.blockSignals(True)
        for target in self._targets:
            self.target_box.addItem(self.target_name(target))
        self.target_box.blockSignals(False)

    def _export(self, path: Path, makers: list[Callable], what: str) -> BackgroundTask:
        decode = self._decode

        def work(progress, cancelled):
            rows = []
            for done, make in enumerate(makers):
                rows.append(to_uint8(decode(make())))
                progress(done + 1, len(makers))
            images = np.concatenate(rows)
            return save_png(path, make_grid(images, cols=explore.STRIP_FACES))

        task = BackgroundTask(work, self)
        task.finished.connect(lambda written: self.status.emit(f"wrote {what} to {Path(written).name}"))
        task.failed.connect(lambda message: self.status.emit(f"export failed: {message}"))
        self.export_task = task
        return task.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Enter, QEvent.Type.FocusIn) and self.follow_box.isChecked():
            target = self._watched.get(watched)
            if target is not None and target != self.target:
                self.set_target(*target)
        return False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    @Slot()
    def _on_target_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    @Slot(object, object, object, float)
    def _on_decoded(self, key: int, latents: np.ndarray, images: np.ndarray, milliseconds: float) -> None:
        if key != self._requested:
            return
        values, label = self._pending
        self.latents, self._shown_key, self._values, self._label = latents, key, values, label
        unit = "" if label.startswith("dim") else "σ"
        self.strip.set_images(images, [f"{v:+.1f}{unit}" for v in values])
        self.caption.setText(f"{label}: {values[0]:+.1f} … {values[-1]:+.1f}{unit}, the slider's range "
                             f"({milliseconds:.0f} ms)")
        self.strip_shown.emit(latents)
