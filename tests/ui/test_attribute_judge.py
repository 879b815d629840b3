"""The attribute judge in the Attributes dock: probabilities per row read off the UI thread (latest wins, rows in
view only), weak directions marked from the stored effect, and the side-effect line after a move with its hold
button. A scripted judge (probabilities written into the face's pixels) drives the panel exactly; a tiny untrained
Keras judge drives the real window."""

import threading
import time

import numpy as np
import pytest

from latentlab.eval.judge import Judge, JudgeConfig, build_judge
from latentlab.latent.directions import EDIT_EFFECT, WEAK_EFFECT, AttributeDirections
from latentlab.ui.panels.attributes_panel import WEAK_STYLE, AttributesPanel
from tests.helpers import LATENT_DIM

NAMES = ["Smiling", "Male", "Eyeglasses", "Young", "Wearing_Hat"]


class PixelJudge:
    """A judge that reads its probabilities from the first pixels of the face's red channel (value / 255), in its
    own name order; `delay` seconds per face, and the faces it read."""

    def __init__(self, names, delay: float = 0.0):
        self.names = tuple(names)
        self.delay = delay
        self.read = []
        self.threads = set()

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        time.sleep(self.delay)
        self.read.append(images[0, 0, 0, 0])
        self.threads.add(threading.get_ident())
        return images[:, 0, : len(self.names), 0].astype(np.float32) / 255.0


def face(judge: PixelJudge, **probabilities: float) -> np.ndarray:
    """A decoded face (uint8) that `judge` reads as `probabilities` (0.5 for attributes not given)."""
    image = np.zeros((8, 8, 3), np.uint8)
    values = [probabilities.get(name, 0.5) for name in judge.names]
    image[0, : len(values), 0] = np.rint(np.array(values) * 255)
    return image


def directions(effect=None) -> AttributeDirections:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(NAMES), LATENT_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    extra = {} if effect is None else {EDIT_EFFECT: np.asarray(effect, np.float32)}
    return AttributeDirections(list(NAMES), vectors, np.zeros(len(NAMES), np.float32),
                               np.full(len(NAMES), 1.5, np.float32), "logistic", extra=extra)


@pytest.fixture
def scripted(qtbot):
    """(panel, judge): the judge reads the names in another order than the panel's rows, and lacks Wearing_Hat;
    the panel shows the latents it emits, as the window does."""
    judge = PixelJudge(["Young", "Male", "Smiling", "Eyeglasses", "Bald"])
    panel = AttributesPanel(directions(), judge=judge)
    qtbot.addWidget(panel)
    panel.latent_edited.connect(lambda z, name: panel.show_latent(z))
    panel.resize(420, 600)
    panel.show()
    yield panel, judge
    panel.shutdown()


def show_face(qtbot, panel, image, z) -> None:
    """The window's path: the decoded face arrives; wait until the judge's reading of it is shown."""
    panel.judge_face(image, z, 1.0)
    qtbot.waitUntil(lambda: panel._judged_z is not None and np.array_equal(panel._judged_z, z), timeout=5000)


def drag(panel, name: str, target: float) -> None:
    """Press the slider of `name`, move it to `target` in steps, release it, as a mouse drag does."""
    slider = panel.sliders[panel.index(name)]
    start = panel.value_of(name)
    slider.setSliderDown(True)
    for value in np.linspace(start, target, 5)[1:]:
        panel.set_target(name, float(value))
    slider.setSliderDown(False)  # emits sliderReleased


def shown_text(label) -> str:
    """A label's text with its no-break spaces read as spaces."""
    return label.text().replace("\u00a0", " ")


def test_each_row_shows_the_judges_probability_for_the_decoded_face(qtbot, scripted):
    panel, judge = scripted
    z = np.zeros(LATENT_DIM, np.float32)
    panel.show_latent(z)
    show_face(qtbot, panel, face(judge, Smiling=0.9, Male=0.2, Young=0.66, Eyeglasses=0.03), z)
    expected = {"Smiling": "0.90", "Male": "0.20", "Eyeglasses": "0.03", "Young": "0.66", "Wearing_Hat": "–"}
    assert [label.text() for label in panel.probability_labels] == [expected[n] for n in NAMES]
    np.testing.assert_allclose(panel.probabilities()[:4], [0.9, 0.2, 0.03, 0.66], atol=0.003)
    assert np.isnan(panel.probabilities()[4]), "the judge does not read Wearing_Hat"
    assert "does not read Wearing Hat" in panel.probability_labels[4].toolTip()
    assert judge.threads and threading.get_ident() not in judge.threads, "the judge runs off the UI thread"


def test_a_fast_stream_of_faces_is_judged_latest_wins(qtbot):
    judge = PixelJudge(["Young"], delay=0.05)
    panel = AttributesPanel(directions(), judge=judge)
    qtbot.addWidget(panel)
    panel.show()
    started = time.perf_counter()
    for level in range(1, 21):
        panel.judge_face(face(judge, Young=level / 20), np.full(LATENT_DIM, level, np.float32), 1.0)
    assert time.perf_counter() - started < 0.5, "offering faces never waits for the judge"
    last = np.full(LATENT_DIM, 20, np.float32)
    qtbot.waitUntil(lambda: panel._judged_z is not None and np.array_equal(panel._judged_z, last), timeout=5000)
    assert panel.probability_labels[panel.index("Young")].text() == "1.00"
    assert judge.read == [13, 255], "the first face at once, then only the newest one (JUDGE_INTERVAL_MS later)"
    panel.shutdown()


def test_only_rows_in_view_are_touched_the_rest_follow_when_scrolled_to(qtbot, scripted):
    panel, judge = scripted
    panel.resize(420, 120)  # room for about one row
    qtbot.wait(20)
    z = np.zeros(LATENT_DIM, np.float32)
    panel.show_latent(z)
    show_face(qtbot, panel, face(judge, Young=0.75), z)
    young = panel.index("Young")
    assert young not in panel.rows.rows_in_view()
    assert panel.probability_labels[young].text() == "–", "a row out of view is not touched"
    panel.scroll.verticalScrollBar().setValue(panel.scroll.verticalScrollBar().maximum())
    assert young in panel.rows.rows_in_view() and panel.probability_labels[young].text() == "0.75"


def test_after_a_move_the_largest_side_effect_is_named_and_one_click_holds_it(qtbot, scripted):
    panel, judge = scripted
    before_z = np.zeros(LATENT_DIM, np.float32)
    panel.show_latent(before_z)
    show_face(qtbot, panel, face(judge, Young=0.2, Male=0.8, Smiling=0.5, Eyeglasses=0.1), before_z)

    drag(panel, "Young", 2.0)
    after_z = panel._z.copy()
    assert not np.array_equal(after_z, before_z)
    assert not panel.side_effect_hint.isVisible(), "nothing is said before the judge has read the moved face"
    show_face(qtbot, panel, face(judge, Young=0.9, Male=0.2, Smiling=0.3, Eyeglasses=0.15), after_z)

    hint = panel.side_effect_hint
    moved = float(directions().standardized_scores(after_z)[3] - directions().standardized_scores(before_z)[3])
    assert moved == pytest.approx(2.0, abs=0.01)
    assert hint.isVisible() and shown_text(hint.label) == "Young +2.0 sd also moved Male p -0.60"
    assert hint.hold_button.text() == "Hold Male" and "0.80" in hint.label.toolTip()
    hint.hold_button.click()
    assert panel.held() == [panel.index("Male")] and not panel.sliders[panel.index("Male")].isEnabled()
    assert not hint.isVisible() and panel.clear_holds_button.isEnabled()


def test_held_attributes_and_small_changes_are_not_named(qtbot, scripted):
    panel, judge = scripted
    z = np.zeros(LATENT_DIM, np.float32)
    panel.show_latent(z)
    show_face(qtbot, panel, face(judge, Young=0.2, Male=0.8, Smiling=0.5), z)
    panel.set_held("Male")
    drag(panel, "Young", 1.5)
    show_face(qtbot, panel, face(judge, Young=0.9, Male=0.1, Smiling=0.1), panel._z.copy())
    assert shown_text(panel.side_effect_hint.label) == "Young +1.5 sd also moved Smiling p -0.40", "Male is held"

    panel.release_holds()
    drag(panel, "Smiling", 1.0)
    assert not panel.side_effect_hint.isVisible(), "the face changed: the line about the last one is gone"
    show_face(qtbot, panel, face(judge, Young=0.8, Male=0.25, Smiling=0.6), panel._z.copy())
    assert not panel.side_effect_hint.isVisible(), "no other attribute moved by 0.25 or more"


def test_a_face_changed_before_the_judge_read_the_move_says_nothing(qtbot, scripted):
    panel, judge = scripted
    z = np.zeros(LATENT_DIM, np.float32)
    panel.show_latent(z)
    show_face(qtbot, panel, face(judge, Young=0.2, Male=0.8), z)
    drag(panel, "Young", 2.0)
    other = np.ones(LATENT_DIM, np.float32)
    panel.show_latent(other)  # e.g. Randomize right after the release
    show_face(qtbot, panel, face(judge, Young=0.9, Male=0.1), other)
    assert not panel.side_effect_hint.isVisible()


def test_weak_directions_follow_the_stored_effect(qtbot):
    effect = [0.88, 0.78, 0.19, 0.46, 0.04]
    panel = AttributesPanel(directions(effect))
    qtbot.addWidget(panel)
    weak = [panel.name_labels[i].styleSheet() == WEAK_STYLE for i in range(len(NAMES))]
    assert weak == [e < WEAK_EFFECT for e in effect] == [False, False, True, False, True]
    assert "Weak direction" in panel.name_labels[4].toolTip() and "+0.04" in panel.name_labels[4].toolTip()
    assert "Effect: " in panel.name_labels[0].toolTip() and "+0.88" in panel.name_labels[0].toolTip()
    assert panel.count_label.text() == "5 of 5 attributes · 2 weak (grey)"

    for missing in (None, [0.5, 0.1]):  # not measured, or not one number per direction
        plain = AttributesPanel(directions(missing))
        qtbot.addWidget(plain)
        assert plain.effect is None and not any(label.styleSheet() for label in plain.name_labels)
        assert plain.count_label.text() == "5 of 5 attributes" and "Weak" not in plain.name_labels[4].toolTip()


def test_keep_identity_switches_between_the_judged_and_the_label_fitted_directions(qtbot):
    effect = [0.88, 0.78, 0.19, 0.46, 0.04]
    judged = directions(effect)
    label_fit = directions()
    label_fit.directions = np.roll(label_fit.directions, 1, axis=1)  # other directions, same names
    label_fit.score_std = np.full(len(NAMES), 0.8, np.float32)
    judged.keep_label_directions(label_fit)
    panel = AttributesPanel(judged)
    qtbot.addWidget(panel)
    panel.show()
    z = np.random.default_rng(5).standard_normal(LATENT_DIM).astype(np.float32)
    panel.show_latent(z)
    moved = []
    panel.latent_edited.connect(lambda latent, name: moved.append(latent))
    assert panel.keep_identity_check.isVisible() and panel.keep_identity_check.isChecked()
    np.testing.assert_allclose(panel.scores(), judged.standardized_scores(z), atol=0.01)
    assert panel.count_label.text() == "5 of 5 attributes · 2 weak (grey)"

    panel.keep_identity_check.click()
    assert panel.directions is not judged and not panel.keep_identity_check.isChecked()
    np.testing.assert_allclose(panel.directions.directions, label_fit.directions)
    np.testing.assert_allclose(panel.scores(), label_fit.standardized_scores(z), atol=0.01)
    assert panel.count_label.text() == "5 of 5 attributes", "effects were measured on the judged directions only"
    assert not any(label.styleSheet() for label in panel.name_labels)
    panel.set_target("Smiling", 1.0)
    step = moved[-1] - z
    assert abs(step / np.linalg.norm(step) @ label_fit.directions[0]) == pytest.approx(1.0, abs=1e-4)

    panel.set_keep_identity(True)
    assert panel.keep_identity_check.isChecked() and panel.directions is judged
    assert panel.count_label.text() == "5 of 5 attributes · 2 weak (grey)"
    assert panel.name_labels[4].styleSheet() == WEAK_STYLE


def test_keep_identity_is_hidden_without_label_fitted_directions(qtbot):
    panel = AttributesPanel(directions([0.5] * 5))
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.keep_identity_check.isVisible()
    panel.set_keep_identity(False)
    assert panel.directions.method == "logistic" and panel.keep_identity_check.isChecked()


def test_without_a_judge_the_panel_is_as_before(qtbot):
    panel = AttributesPanel(directions())
    qtbot.addWidget(panel)
    panel.show()
    panel.show_latent(np.zeros(LATENT_DIM, np.float32))
    panel.judge_face(np.zeros((8, 8, 3), np.uint8), np.zeros(LATENT_DIM, np.float32), 1.0)
    drag(panel, "Young", 2.0)
    assert panel.async_judge is None and panel.probability_labels == []
    assert not panel.side_effect_hint.isVisible() and not panel.message_label.isVisible()
    assert np.isnan(panel.probabilities()).all()
    unrelated = AttributesPanel(directions(), judge=PixelJudge(["Bald"]))
    qtbot.addWidget(unrelated)
    assert unrelated.judge is None and unrelated.async_judge is None, "a judge reading none of the rows is left out"


def tiny_judge(names, crop="center") -> Judge:
    config = JudgeConfig(names=tuple(names), image_size=16, widths=(4, 8), strides=(2, 2), crop=crop)
    return Judge(build_judge(config), config)


def test_the_window_shows_the_judges_reading_of_the_face_on_screen(qtbot, tiny_codec, space):
    from latentlab.ui.window.main_window import MainWindow

    judge = tiny_judge(["Young", "Male", "Smiling", "Eyeglasses", "Wearing_Hat"])
    window = MainWindow(tiny_codec, space, rng=np.random.default_rng(3), attributes=directions(), cameras=[],
                        judge=judge)
    qtbot.addWidget(window)
    window.resize(1400, 850)
    window.show()
    panel = window.attributes_panel
    try:
        for change in (lambda: None, window.randomize, lambda: panel.set_target("Smiling", 1.0)):
            change()
            assert window.wait_for_frame(20000)
            qtbot.waitUntil(lambda: panel._judged_z is not None and np.array_equal(panel._judged_z, window.latent),
                            timeout=10000)
            read = judge.probabilities(window.shown_image()[None])[0]
            expected = read[[judge.names.index(n) for n in NAMES]]
            np.testing.assert_allclose(panel.probabilities(), expected, atol=1e-6)
            assert [label.text() for label in panel.probability_labels] == [f"{p:.2f}" for p in expected]
    finally:
        window.shutdown()
    assert not panel.async_judge._thread.isRunning(), "closing the window ends the judge's thread"


def test_a_screenshot_waits_for_the_judges_reading_of_the_face_on_screen_not_an_earlier_one(qtbot, tiny_codec, space):
    from latentlab.ui.app import wait_for_judge
    from latentlab.ui.window.main_window import MainWindow

    slow = PixelJudge(["Young", "Male", "Smiling", "Eyeglasses"], delay=0.3)
    window = MainWindow(tiny_codec, space, rng=np.random.default_rng(3), attributes=directions(), cameras=[],
                        judge=slow)
    qtbot.addWidget(window)
    window.show()
    panel = window.attributes_panel
    try:
        assert window.wait_for_frame(20000)
        window.dataset.show_dataset_image(2)  # while the judge still reads the first face
        assert window.wait_for_frame(20000)
        wait_for_judge(window)
        assert panel.judged_current_face()
        read = slow.probabilities(window.shown_image()[None])[0]
        np.testing.assert_allclose(panel.probabilities()[:4], read[[slow.names.index(n) for n in NAMES[:4]]])
    finally:
        window.shutdown()


def test_the_app_loads_the_judge_beside_the_weights_or_none(tmp_path):
    from latentlab.ui.app import load_judge

    weights = tmp_path / "vae.weights.h5"
    tiny_judge(NAMES).save(tmp_path / "judge.weights.h5")
    loaded = load_judge(weights, "center")
    assert loaded is not None and loaded.names == tuple(NAMES)
    assert load_judge(weights, "celeba") is None, "a judge that reads another crop is left out"
    (tmp_path / "judge.weights.h5").write_bytes(b"not hdf5")
    assert load_judge(weights, "center") is None


def test_calibrated_measure_marks_weak_sliders_and_the_side_effect_line_says_what_turned(qtbot):
    from latentlab.eval.edits import CALIBRATED_EFFECT, CALIBRATED_LEAKAGE
    from latentlab.eval.edits import WEAK_EFFECT as CALIBRATED_WEAK

    attributes = directions([0.9, 0.9, 0.9, 0.9, 0.9])  # the raw effect is overruled by the calibrated one
    attributes.extra |= {CALIBRATED_EFFECT: np.array([0.98, 0.94, 0.77, 0.91, 0.16], np.float32),
                         CALIBRATED_LEAKAGE: np.array([0.2, 0.22, 0.2, 0.04, 0.2], np.float32)}
    judge = PixelJudge(NAMES)
    judge.summary = {"thresholds": {"names": list(NAMES), "values": [0.87, 0.97, 0.48, 0.86, 0.31],
                                    "separating": [0.47, 0.46, 0.2, 0.79, 0.04]}}
    panel = AttributesPanel(attributes, judge=judge)
    qtbot.addWidget(panel)
    panel.latent_edited.connect(lambda z, name: panel.show_latent(z))
    panel.resize(420, 600)
    panel.show()
    assert [panel.name_labels[i].styleSheet() == WEAK_STYLE for i in range(5)] == [False] * 4 + [True]
    assert panel.count_label.text() == "5 of 5 attributes · 1 weak (grey)"
    assert f"{CALIBRATED_WEAK:.0%}" in panel.count_label.toolTip()
    tip = panel.name_labels[panel.index("Wearing_Hat")].toolTip()
    assert "Weak slider" in tip and "16% more faces at +3" in tip and "on 20% of them" in tip
    assert "91% more faces" in panel.name_labels[panel.index("Young")].toolTip()
    hint = panel.side_effect_hint
    assert hint.sizePolicy().retainSizeWhenHidden(), "the line's space is kept: showing it never moves the rows"

    z = np.zeros(LATENT_DIM, np.float32)
    panel.show_latent(z)
    show_face(qtbot, panel, face(judge, Young=0.3, Male=0.99, Smiling=0.6, Eyeglasses=0.1), z)
    drag(panel, "Young", 2.0)
    show_face(qtbot, panel, face(judge, Young=0.9, Male=0.7, Smiling=0.2, Eyeglasses=0.1), panel._z.copy())
    assert not hint.isVisible(), "Male fell by 0.29 but not below 0.46; Smiling never read like a photo of it (0.87)"
    drag(panel, "Young", -1.0)
    top = panel.scroll.mapTo(panel, panel.scroll.rect().topLeft()).y()
    show_face(qtbot, panel, face(judge, Young=0.2, Male=0.6, Smiling=0.2, Eyeglasses=0.6), panel._z.copy())
    assert hint.isVisible() and panel.scroll.mapTo(panel, panel.scroll.rect().topLeft()).y() == top
    assert shown_text(hint.label) == "Young -3.0 sd also turned Eyeglasses on (p 0.10 → 0.60)"
    assert "threshold" in hint.label.toolTip() and hint.hold_button.text() == "Hold Eyeglasses"
    panel.shutdown()
