"""Attributes dock: sliders move the face along attribute directions fitted (by latentlab.latent.directions) on the
synthetic latents, hold ticks keep scores fixed, and the panel is off with a note when attributes.npz is unusable."""

import numpy as np
import pytest

from latentlab.latent.directions import fit_directions, open_attributes, split_mask
from latentlab.ui.panels.attributes_panel import AttributesPanel
from tests.helpers import LATENT_DIM

SHA = "0123456789abcdef"  # the weights_sha conftest's latents.npz carries
NAMES = ["Smiling", "Male", "Eyeglasses", "Young", "Wearing_Hat"]
REBUILD = "python vae.py index --data DIR --attributes list_attr_celeba.txt"


@pytest.fixture
def attributes_file(tmp_path, space):
    """attributes.npz fitted on the synthetic latents; Male is planted close to Smiling (entangled)."""
    rng = np.random.default_rng(3)
    planted = rng.standard_normal((len(NAMES), LATENT_DIM))
    planted[1] = 0.7 * planted[0] + planted[1]
    z = space.z_mean.astype(np.float32)
    logits = (z - z.mean(0)) @ planted.T + 0.3 * rng.standard_normal((len(z), len(NAMES)))
    labels = np.where(logits > np.median(logits, axis=0), 1, -1).astype(np.int8)
    train, val, _ = split_mask(space.names, None, val_fraction=0.3)
    directions, _ = fit_directions(z, labels, NAMES, train, val, weights_sha=SHA)
    return directions.save(tmp_path / "attributes.npz")


@pytest.fixture
def directions(attributes_file):
    loaded, note = open_attributes(attributes_file, LATENT_DIM, SHA)
    assert note == ""
    return loaded


@pytest.fixture
def attr_window(qtbot, tiny_codec, space, dataset, directions):
    from latentlab.ui.window.main_window import MainWindow

    window = MainWindow(tiny_codec, space, data_dir=dataset[1], rng=np.random.default_rng(7), attributes=directions,
                        cameras=[])
    qtbot.addWidget(window)
    window.resize(1400, 850)
    window.show()
    yield window
    window.shutdown()


def standardized(directions, z, name):
    return float(directions.standardized_scores(z)[directions.index(name)])


def test_a_slider_moves_the_face_along_its_direction(attr_window, directions, space):
    panel = attr_window.attributes_panel
    assert panel.available and panel.names == NAMES and attr_window.attributes_dock.widget() is panel
    assert not attr_window.attributes_dock.visibleRegion().isEmpty(), "loaded attributes are the left tab in front"
    before = attr_window.latent
    d = directions.directions[directions.index("Smiling")]
    panel.set_target("Smiling", 1.5)
    after = attr_window.latent
    assert standardized(directions, after, "Smiling") == pytest.approx(1.5, abs=1e-4)
    step = (after - before).astype(np.float64)
    expected = (1.5 - standardized(directions, before, "Smiling")) * directions.score_std[directions.index("Smiling")]
    assert step @ d == pytest.approx(expected, rel=1e-4)
    assert np.allclose(step - (step @ d) * d, 0.0, atol=1e-5), "components orthogonal to the direction are kept"
    assert panel.value_of("Smiling") == pytest.approx(1.5)
    assert panel.score_labels[0].text() == "+1.50"
    assert attr_window.source == "average face, edited"
    attr_window.commands.undo_action.trigger()
    assert np.array_equal(attr_window.latent, before)
    assert float(panel.score_labels[0].text()) == pytest.approx(standardized(directions, before, "Smiling"), abs=0.006)


def test_holding_an_attribute_keeps_its_score_while_another_moves(attr_window, directions):
    panel = attr_window.attributes_panel
    attr_window.randomize()
    smiling, male = (directions.directions[directions.index(n)] for n in ("Smiling", "Male"))
    assert abs(float(smiling @ male)) > 0.3, "the planted directions are entangled"
    free = directions.move_to_score(attr_window.latent, directions.index("Smiling"), -2.0)
    assert abs(standardized(directions, free, "Male") - standardized(directions, attr_window.latent, "Male")) > 0.1

    held_before = {n: standardized(directions, attr_window.latent, n) for n in ("Male", "Young")}
    panel.set_held("Male")
    panel.set_held("young")
    assert not panel.sliders[directions.index("Male")].isEnabled() and panel.clear_holds_button.isEnabled()
    panel.set_target("Smiling", -2.0)
    assert standardized(directions, attr_window.latent, "Smiling") == pytest.approx(-2.0, abs=1e-4)
    for name, score in held_before.items():
        assert standardized(directions, attr_window.latent, name) == pytest.approx(score, abs=1e-4)
    panel.release_holds()
    assert panel.held() == [] and panel.sliders[directions.index("Male")].isEnabled()


def test_scores_follow_other_controls_without_feedback(attr_window, directions):
    panel = attr_window.attributes_panel
    edits = []
    panel.latent_edited.connect(lambda z, name: edits.append(name))
    attr_window.randomize()
    scores = directions.standardized_scores(attr_window.latent)
    for i, value in enumerate(scores):
        assert float(panel.score_labels[i].text()) == pytest.approx(value, abs=0.006)
        assert panel.sliders[i].value() == int(round(np.clip(value / 3.0, -1, 1) * 300))
    assert edits == [] and attr_window.undo_stack.count() == 1


def test_one_drag_is_one_undo_step_and_the_filter_finds_attributes(attr_window):
    panel = attr_window.attributes_panel
    for value in (0.5, 1.0, 1.5):
        panel.set_target("Eyeglasses", value)
    panel.gesture_finished.emit()
    panel.set_target("Young", -1.0)
    assert attr_window.undo_stack.count() == 2
    panel.filter_box.setText("wearing hat")
    assert panel.visible_names() == ["Wearing_Hat"] and panel.count_label.text() == "1 of 5 attributes"
    panel.filter_box.setText("ING")
    assert panel.visible_names() == ["Smiling", "Wearing_Hat"]


def test_holding_every_direction_refuses_with_a_message(qtbot, directions, space):
    panel = AttributesPanel(directions)
    qtbot.addWidget(panel)
    panel.show_latent(space.mean)
    edits = []
    panel.latent_edited.connect(lambda z, name: edits.append(name))
    directions.directions[directions.index("Male")] = directions.directions[directions.index("Smiling")]
    panel.set_held("Male")
    panel.set_target("Smiling", 1.0)
    assert edits == [] and "span of the held attributes" in panel.message_label.text()


def test_without_a_usable_attributes_file_the_panel_is_off_with_a_note(qtbot, tmp_path, directions, attributes_file,
                                                                      window):
    directions_none, note = open_attributes(tmp_path / "absent.npz", LATENT_DIM, SHA)
    assert directions_none is None and "not found" in note and REBUILD in note
    assert open_attributes(attributes_file, LATENT_DIM, "ffffffffffffffff")[1].count("other weights") == 1
    assert "latent size is 16" in open_attributes(attributes_file, 16, SHA)[1]
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert "not an attribute-directions file" in open_attributes(tmp_path / "junk.npz", LATENT_DIM)[1]

    panel = AttributesPanel(None, note)
    qtbot.addWidget(panel)
    assert not panel.available and not panel.content.isEnabled() and panel.note() == note
    panel.show_latent(np.zeros(LATENT_DIM, np.float32))

    default = window.attributes_panel
    assert not default.available and not default.content.isEnabled() and REBUILD in default.note()
    assert window.sliders_dock.visibleRegion().isEmpty() is False, "without attributes the sliders tab is in front"
