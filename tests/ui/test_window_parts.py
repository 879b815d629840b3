"""The window's parts alone: FileCommands and DatasetCommands driven through a fake FaceHost, no MainWindow."""

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QWidget

from latentlab.pictures import to_uint8
from latentlab.ui.panels.indexer import DatasetIndexer
from latentlab.ui.panels.interpolation import InterpolationPanel
from latentlab.ui.undo import LatentCommand, LatentState
from latentlab.ui.window.dataset import DatasetCommands
from latentlab.ui.window.files import FileCommands
from tests.helpers import N_IMAGES


class FakeHost:
    """A FaceHost without a window: each face change is a step on a QUndoStack, messages go into lists."""

    def __init__(self, codec, space):
        self.codec, self.space = codec, space
        self.state = LatentState(space.reset(), "average face")
        self.undo_stack = QUndoStack()
        self.messages: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.gesture = 0
        self._widget = QWidget()

    def set_latent(self, z, source, original=None, original_caption="", merge_key=None, dataset_index=None):
        after = LatentState(np.asarray(z, np.float32), source, original, original_caption, dataset_index)
        self.undo_stack.push(LatentCommand(self._apply, self.state, after, merge_key))

    def _apply(self, state):
        self.state = state

    def gesture_key(self, control):
        return f"{control}:{self.gesture}"

    def decode_then(self, z, use):
        use(to_uint8(self.codec.decode(z)))

    def status(self, message):
        self.messages.append(message)

    def show_error(self, title, message):
        self.errors.append((title, message))

    def window(self):
        return self._widget


@pytest.fixture
def host(qtbot, tiny_codec, space):
    return FakeHost(tiny_codec, space)


def test_file_commands_save_and_open_latents_through_the_host(host, space, tmp_path):
    files = FileCommands(host, InterpolationPanel(space))
    z = space.latent(5)
    host.set_latent(z, "dataset #5")
    saved = files.save_latent(tmp_path / "face")
    assert saved == tmp_path / "face.npy"
    stored = np.load(saved)
    assert stored.dtype == np.float32 and np.array_equal(stored, z)
    assert host.messages == [f"saved latent to {saved}"]

    host.set_latent(space.reset(), "average face")
    assert files.load_latent(saved)
    assert np.array_equal(host.state.z, z) and host.state.source == "file face.npy"
    assert host.undo_stack.count() == 3
    np.save(tmp_path / "short.npy", np.zeros(5, np.float32))
    assert not files.load_latent(tmp_path / "short.npy")
    assert host.errors[-1][0] == "Open latent" and "8 numbers" in host.errors[-1][1]
    assert host.undo_stack.count() == 3, "a refused file changes nothing"

    assert files.export_animation(tmp_path / "ab.gif") is None and files.export_task is None
    assert host.errors[-1] == ("Export animation", "Set A and B first: the animation goes from A to B and back")


def test_dataset_commands_show_images_and_make_a_sweep_of_t_one_step(host, space, dataset):
    indexer, interpolation = DatasetIndexer(space.names), InterpolationPanel(space)
    commands = DatasetCommands(host, indexer, interpolation, np.random.default_rng(0))
    folders = []
    commands.data_dir_changed.connect(folders.append)
    assert commands.set_data_dir(dataset[1]) and folders == [dataset[1]]

    indexer.choose(3)
    assert np.array_equal(host.state.z, space.latent(3)) and host.state.dataset_index == 3
    assert host.state.source == "dataset #3 (000003.png)"
    assert host.state.original.shape == (40, 40, 3)  # the centre crop of the 40 x 48 photo
    assert host.state.original_caption == "Original · 000003.png"
    assert not commands.show_dataset_image(N_IMAGES)
    assert host.messages[-1] == f"no dataset image #{N_IMAGES}"
    host.set_latent(space.latent(17) + 0.01, "near 17")
    commands.nearest_dataset_image()
    assert indexer.index == 17 and host.state.dataset_index == 17
    assert host.messages[-1].startswith("nearest dataset image: #17 at distance 0.")
    count = host.undo_stack.count()

    commands.toggle_play()
    assert host.messages[-1] == "set A and B first (Latent menu or the Interpolation group)"
    commands.capture_endpoint("A")
    assert commands.set_endpoint_from_index("B", 9)
    assert not interpolation.thumbnails["B"].pixmap().isNull()
    for t in (0.2, 0.5, 0.8):
        interpolation.set_t(t)
    assert host.undo_stack.count() == count + 1, "one sweep of t is one undo step"
    np.testing.assert_allclose(host.state.z, interpolation.blend(0.8), atol=1e-6)
    host.gesture += 1
    interpolation.set_t(0.3)
    assert host.undo_stack.count() == count + 2, "a new gesture is a new step"
