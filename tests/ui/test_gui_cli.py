"""`python gui.py`: --screenshot writes a PNG of the whole window; bad weights / options give exit 2 and one line;
no display or missing system libraries for Qt give exit 2 and one line naming the fix (not a core dump)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

import gui
from latentlab.model.config import save_model_json
from latentlab.paths import DEFAULT_WEIGHTS, PROJECT_ROOT
from tests.helpers import write_latents


@pytest.fixture
def tiny_weights(tmp_path, tiny_codec, dataset):
    """The tiny model saved as vae.weights.h5 + model.json, with latents.npz (matching sha) beside it."""
    from latentlab.model.weights import save_weights_atomic

    folder = tmp_path / "model"
    weights = folder / "vae.weights.h5"
    save_weights_atomic(tiny_codec.vae, weights)
    save_model_json(folder / "model.json", tiny_codec.config)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    names = sorted(p.name for p in dataset[1].iterdir())
    write_latents(folder / "latents.npz", names, weights_sha=sha)
    return weights


def test_screenshot_of_a_dataset_image(qapp, tmp_path, tiny_weights, dataset, capsys):
    out = tmp_path / "shots" / "gui.png"
    code = gui.main(["--weights", str(tiny_weights), "--data", str(dataset[1]), "--index", "3",
                     "--screenshot", str(out)])
    assert code == 0
    image = iio.imread(out)
    assert image.shape[:2] == (960, 1600) and image.std() > 10
    assert f"wrote {out}" in capsys.readouterr().out


def test_screenshot_of_a_saved_latent(qapp, tmp_path, tiny_weights):
    latent = tmp_path / "face.npy"
    np.save(latent, np.ones(8, np.float32))
    out = tmp_path / "latent.png"
    assert gui.main(["--weights", str(tiny_weights), "--latent", str(latent), "--screenshot", str(out)]) == 0
    assert out.is_file()


def test_latents_from_other_weights_leave_the_window_working_without_dataset(qapp, tmp_path, tiny_weights, dataset):
    from latentlab.ui.app import load_latent_space

    names = sorted(p.name for p in dataset[1].iterdir())
    write_latents(tiny_weights.parent / "latents.npz", names, weights_sha="0123456789abcdef")
    space = load_latent_space(tiny_weights, 8)
    assert not space.has_dataset and "python vae.py index --data DIR" in space.note
    out = tmp_path / "stale.png"
    assert gui.main(["--weights", str(tiny_weights), "--screenshot", str(out)]) == 0
    assert out.is_file()


@pytest.mark.parametrize("options, message", [
    (["--weights", "{tmp}/absent.weights.h5"], "python vae.py train --data DIR"),
    (["--index", "99"], "--index 99: choose 0 to 29"),
    (["--index", "-1"], "--index -1: choose 0 to 29"),
    (["--latent", "{tmp}/short.npy"], "latent is 8 numbers"),
    (["--data", "{tmp}/no-such-folder"], "is not a folder"),
])
def test_unusable_inputs_exit_2_with_one_line(qapp, tmp_path, tiny_weights, capsys, options, message):
    np.save(tmp_path / "short.npy", np.zeros(3, np.float32))
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    if "--weights" not in options:
        options = ["--weights", str(tiny_weights)] + options
    out = tmp_path / "never.png"
    assert gui.main(options + ["--screenshot", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists()


def test_missing_weights_without_screenshot_explain_how_to_train(qapp, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    assert gui.main(["--weights", str(tmp_path / "absent.weights.h5")]) == 2
    assert "python vae.py train --data DIR" in shown[0] and "data/vae.weights.h5" in shown[0]


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason="committed weights data/vae.weights.h5 absent")
def test_screenshot_with_the_committed_weights_in_a_fresh_process(tmp_path):
    out = tmp_path / "gui.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "gui.py", "--device", "cpu", "--screenshot", str(out)], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert iio.imread(out).shape[:2] == (960, 1600)
    assert Path(out).stat().st_size > 10_000


def test_no_display_for_xcb_exits_2_with_one_line_naming_the_fix():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    result = subprocess.run([sys.executable, "gui.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no display") and "DISPLAY is not set" in lines[0]
    assert "QT_QPA_PLATFORM=offscreen python gui.py --screenshot PNG" in lines[0]


def test_missing_xcb_libraries_are_named_with_their_apt_packages(monkeypatch):
    from latentlab.ui import launch

    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(launch, "missing_libraries", lambda plugin: ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0",
                                                                     "libEGL.so.1"])
    problem = launch.display_problem()
    assert problem == ("Qt's xcb platform plugin lacks libxcb-icccm.so.4, libxkbcommon-x11.so.0, libEGL.so.1: "
                       "sudo apt install libxcb-icccm4 libxkbcommon-x11-0 libegl1")


def test_the_xcb_plugin_is_found_and_offscreen_needs_no_probe(monkeypatch):
    from latentlab.ui import launch

    assert launch.xcb_plugin().is_file()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(launch, "probe_failure", lambda platform: pytest.fail("offscreen was probed"))
    assert launch.display_problem() is None
