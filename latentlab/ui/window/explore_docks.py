"""ExploreDocks: the window's part for exploring by sight: the Children grid, the Strips and the Mixing panels,
wired to the current face.

Given the window as a FaceHost and the panels it wires (Latent sliders, Attributes, Interpolation, the seed box),
nothing else. Every face a panel proposes becomes current through `host.set_latent`: a child or a strip face is
one undo step, one drag of k one merged step. The three panels decode their batches in the window's decoder
thread (`decoder_thread`), each latest wins, so the face on screen and the batches take turns on the model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Slot
from PySide6.QtWidgets import QDockWidget, QWidget

from latentlab.latent.prior import GaussianPrior
from latentlab.ui.panels.attributes_panel import AttributesPanel
from latentlab.ui.panels.children_grid import ChildrenGridPanel
from latentlab.ui.panels.interpolation import InterpolationPanel
from latentlab.ui.panels.mixing import MixingPanel
from latentlab.ui.panels.slider_panel import SliderPanel
from latentlab.ui.panels.strips import StripsPanel
from latentlab.ui.widgets.seed_box import SeedBox
from latentlab.ui.window.host import FaceHost


class ExploreDocks(QObject):
    """`children`, `strips` and `mixing`: the panels of the three docks (the window lays them out)."""

    def __init__(self, host: FaceHost, sliders: SliderPanel, attributes: AttributesPanel,
                 interpolation: InterpolationPanel, seed_box: SeedBox,
                 random_prior: Callable[[], tuple[GaussianPrior, str]], temperature: Callable[[], float],
                 rng: np.random.Generator, decoder_thread: QThread | None, parent: QObject | None = None):
        super().__init__(parent)
        self._host = host
        self.docks: list[QDockWidget] = []
        self._interpolation = interpolation
        self._seed_box = seed_box
        decode = host.codec.decode
        self.children = ChildrenGridPanel(decode, host.space.prior, random_prior, temperature, rng, decoder_thread)
        self.children.face_chosen.connect(self._on_child_chosen)

        def attribute_edits():
            return None if attributes.directions is None else (attributes.directions, attributes.held())

        self.strips = StripsPanel(host.space, decode, lambda: sliders.mode, sliders.range_box.value,
                                  attribute_edits, attributes.names, decoder_thread,
                                  ask_save=self._ask_save)
        self.strips.watch_rows("slider", [[label, slider] for label, slider in zip(sliders.name_labels,
                                                                                   sliders.sliders)])
        self.strips.watch_rows("attribute", [[label, slider] for label, slider in zip(attributes.name_labels,
                                                                                      attributes.sliders)])
        sliders.mode_changed.connect(self.strips.slider_mode_changed)
        sliders.range_box.valueChanged.connect(self.strips.settings_changed)
        for check in attributes.hold_checks:
            check.toggled.connect(self.strips.settings_changed)
        self.strips.latent_chosen.connect(self._on_strip_chosen)
        self.strips.status.connect(host.status)

        self.mixing = MixingPanel(host.space, decode, decoder_thread)
        self.mixing.mix_changed.connect(self._on_mix_changed)
        self.mixing.gesture_finished.connect(self._end_gesture)
        interpolation.endpoints_changed.connect(self._on_endpoints_changed)

    def set_docks(self, children: QDockWidget, strips: QDockWidget, mixing: QDockWidget) -> None:
        """The docks the window put the three panels in (the actions show them)."""
        self.docks = [children, strips, mixing]

    @Slot()
    def show_children(self) -> None:
        """The Children dock in front."""
        self._raise(self.docks[0])

    @Slot()
    def reroll_children(self) -> None:
        """New faces in the Children grid (the dock comes to the front)."""
        self._raise(self.docks[0])
        self.children.reroll()

    @Slot()
    def show_strips(self) -> None:
        self._raise(self.docks[1])

    @Slot()
    def show_mixing(self) -> None:
        self._raise(self.docks[2])

    @staticmethod
    def _raise(dock: QDockWidget) -> None:
        dock.show()
        dock.raise_()

    @Slot(object)
    def show_latent(self, z: np.ndarray) -> None:
        """The current face changed: the grid of children and the strip follow it (coalesced, while shown)."""
        self.children.set_face(z)
        self.strips.set_face(z)

    def shutdown(self) -> None:
        for panel in (self.children, self.strips, self.mixing):
            panel.shutdown()

    def _ask_save(self, parent: QWidget, title: str, name: str):
        """A save dialog in the last strips folder, offering `name` (remembered like every dialog: ui/settings.py)."""
        from latentlab.ui import settings

        return settings.ask_save_path(self._host.window(), "strips", title, "PNG image (*.png)", name)

    @Slot(object, str, int)
    def _on_child_chosen(self, z: np.ndarray, source: str, seed: int) -> None:
        self._host.set_latent(z, source)
        if seed >= 0:
            self._seed_box.show_seed(seed)
            self._host.status(f"seed {seed}")

    @Slot(object, str)
    def _on_strip_chosen(self, z: np.ndarray, description: str) -> None:
        self._host.set_latent(z, f"strip: {description}")

    @Slot(object, str)
    def _on_mix_changed(self, z: np.ndarray, description: str) -> None:
        self._host.set_latent(z, description, merge_key=self._host.gesture_key("mix"))

    @Slot()
    def _end_gesture(self) -> None:
        end = getattr(self._host, "end_gesture", None)
        if callable(end):
            end()

    @Slot()
    def _on_endpoints_changed(self) -> None:
        self.mixing.set_endpoints(self._interpolation.endpoint("A"), self._interpolation.endpoint("B"))
