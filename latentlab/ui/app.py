"""Start the explorer from parsed `gui.py` arguments: load the model and latents, open the window,
or write a screenshot of it (`--screenshot`) and exit."""

from __future__ import annotations

import json
import sys
import time
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.model.config import require_weights
from latentlab.paths import DEFAULT_WEIGHTS, PROJECT_ROOT, ModelFiles
from latentlab.quiet import import_keras

if TYPE_CHECKING:
    from latentlab.ui.window.main_window import MainWindow

SCREENSHOT_SIZE = (1600, 960)
WINDOW_SIZE = (1500, 900)
SPLASH_SIZE = (420, 160)
FRAME_TIMEOUT_MS = 120_000
JUDGE_WAIT_MS = 5_000
CAMERA_WAIT_MS = 5_000
TRAIN_HINT = (
    f"train a model with `python vae.py train --data DIR` (it writes {DEFAULT_WEIGHTS.relative_to(PROJECT_ROOT)} "
    "and model.json beside it) or pass --weights FILE"
)


def show_splash(app):
    """A small start-up window, shown before TensorFlow is imported; `progress` writes on it."""
    from PySide6.QtGui import QColor, QPixmap
    from PySide6.QtWidgets import QSplashScreen

    pixmap = QPixmap(*SPLASH_SIZE)
    pixmap.fill(QColor(32, 33, 36))
    splash = QSplashScreen(pixmap)
    splash.setFont(app.font())
    splash.show()
    progress(splash, "starting…")
    return splash


def progress(splash, message: str) -> None:
    """Show `message` on the splash (if any) and paint it now: the next step blocks the event loop."""
    if splash is None:
        return
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication

    splash.showMessage(f"latentlab\n\n{message}", Qt.AlignmentFlag.AlignCenter, QColor(220, 220, 220))
    QApplication.processEvents()


def show_window(window: MainWindow, screenshot_size: tuple[int, int] | None) -> None:
    """Show the window: at `screenshot_size` for a screenshot; else where the last session left it (geometry and
    docks, latentlab.ui.settings), or the first time at WINDOW_SIZE inside the screen with its frame counted,
    maximised where the screen is no larger than that (latentlab.ui.geometry)."""
    from PySide6.QtCore import QSize

    from latentlab.ui import settings as remembered
    from latentlab.ui.geometry import place_window

    if screenshot_size is not None:
        window.resize(*screenshot_size)
        window.show()
    elif remembered.installed() is not None and remembered.restore_layout(window):
        window.show()
    elif place_window(window, QSize(*WINDOW_SIZE), maximise_when_small=True):
        window.showMaximized()
    else:
        window.show()


def start_camera(window: MainWindow, spec: str) -> None:
    """`--camera N|FILE`: the Your face dock in front, on camera N or the video file, its preview started."""
    from latentlab.faces.camera import parse_source

    window.show_face_panel()
    chosen = parse_source(spec)
    if isinstance(chosen, int):
        window.face_panel.use_camera(chosen, start=True)
    else:
        window.face_panel.use_video(chosen, start=True)


def wait_for_camera(window: MainWindow, timeout_ms: int = CAMERA_WAIT_MS) -> None:
    """For a screenshot with --camera: let the preview show its first frames (at most `timeout_ms`)."""
    from PySide6.QtCore import QDeadlineTimer, QEventLoop
    from PySide6.QtWidgets import QApplication

    deadline = QDeadlineTimer(timeout_ms)
    panel = window.face_panel
    while panel.camera_running and panel.preview.qimage() is None and not deadline.hasExpired():
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def wait_for_judge(window: MainWindow, timeout_ms: int = JUDGE_WAIT_MS) -> None:
    """Let the attribute judge read the face on screen (at most `timeout_ms`), so a screenshot shows its p column
    for that face, not for one shown before it."""
    from PySide6.QtCore import QDeadlineTimer, QEventLoop
    from PySide6.QtWidgets import QApplication

    panel = window.attributes_panel
    if panel.async_judge is None:
        return
    deadline = QDeadlineTimer(timeout_ms)
    while not panel.judged_current_face() and not deadline.hasExpired():
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def fail(message: str, screenshot: bool) -> int:
    """Report a fatal problem: one stderr line with --screenshot, a message box otherwise; exit code 2."""
    line = " ".join(message.split())
    if screenshot:
        print(f"error: {line}", file=sys.stderr)
    else:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "latentlab", line)
    return 2


def check_device(device: str) -> None:
    """With --device gpu, insist that the backend sees a GPU (cpu is arranged before TF is imported)."""
    if device != "gpu":
        return
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            raise UserError("--device gpu: TensorFlow sees no GPU here; use --device cpu or auto")


def load_codec(weights: Path):
    """Codec.load with the message saying how to get weights."""
    require_weights(weights)
    from latentlab.model.codec import Codec

    try:
        return Codec.load(weights)
    except UserError as exc:
        raise UserError(f"cannot load the model: {exc}. To get one, {TRAIN_HINT}") from None



def load_latent_space(weights: Path, latent_dim: int, sha: str | None = None):
    """The dataset latents beside the weights (else data/latents.npz), checked against those weights;
    a LatentSpace without dataset (and a note saying why) when none fits."""
    from latentlab.latent.space import LatentSpace

    path = ModelFiles(weights).latents
    return LatentSpace.open(path, latent_dim, weights_sha=sha or weights_fingerprint(weights))


def load_attributes(weights: Path, latent_dim: int, sha: str | None = None):
    """(AttributeDirections, "") from attributes.npz beside the weights (else data/attributes.npz) when it was
    computed for these weights, else (None, a note saying why and how to build it)."""
    from latentlab.latent.directions import open_attributes

    return open_attributes(ModelFiles(weights).attributes, latent_dim, sha or weights_fingerprint(weights))


def load_judge(weights: Path, crop: str):
    """The attribute judge beside the weights (else data/judge.weights.h5) when it loads and reads the model's crop;
    None otherwise: the Attributes panel then shows no probabilities, which is not a problem to report."""
    from latentlab.eval.judge import Judge

    try:
        judge = Judge.load(ModelFiles(weights).judge)
    except UserError:
        return None
    return judge if judge.config.crop == crop else None


def dataset_folder(requested: Path | None, remembered: str | None, space) -> Path | None:
    """--data, else the remembered folder, else the folder the latents were indexed from, if it exists."""
    if requested is not None:
        if not requested.is_dir():
            raise UserError(f"--data {requested} is not a folder: originals cannot be shown")
        return requested
    for candidate in (remembered, space.data_root):
        if candidate:
            for path in (Path(candidate), PROJECT_ROOT / candidate):
                if path.is_dir():
                    return path
    return None


def run(args: Namespace) -> int:
    """Open the window (or write the screenshot); the process exit code."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("latentlab")
    app.setOrganizationName("latentlab")
    app.setStyle("Fusion")
    screenshot = args.screenshot is not None
    splash = None if screenshot else show_splash(app)
    startup = {"window_shown": time.time()} if args.startup_times else None
    settings = None if screenshot else QSettings("latentlab", "explorer")
    from latentlab.ui import settings as remembered

    remembered.install(settings)  # every dialog's last folder, the window's geometry and docks
    try:
        require_weights(args.weights)  # a missing file is said before TensorFlow loads
        progress(splash, "Loading TensorFlow and Keras…")
        import_keras()
        progress(splash, f"Loading the model ({args.weights.name})…")
        codec = load_codec(args.weights)
        check_device(args.device)
        sha = weights_fingerprint(args.weights)
        space = load_latent_space(args.weights, codec.latent_dim, sha)
        attributes, attributes_note = load_attributes(args.weights, codec.latent_dim, sha)
        judge = load_judge(args.weights, codec.config.crop) if attributes is not None else None
    except UserError as exc:
        if splash is not None:
            splash.close()
        return fail(str(exc), screenshot)

    progress(splash, "Opening the window…")
    from latentlab.latent.space import load_latent_file
    from latentlab.ui.window.main_window import MainWindow

    codec.decode(np.zeros(codec.latent_dim, np.float32))  # trace the compiled decoder before the first frame

    problems = []
    try:
        data_dir = dataset_folder(args.data, settings.value("data_dir") if settings else None, space)
    except UserError as exc:
        problems.append(str(exc))
        data_dir = None
    start_latent = None
    try:
        if args.latent is not None:
            start_latent = load_latent_file(args.latent, codec.latent_dim)
        if args.index is not None and not (space.has_dataset and 0 <= args.index < len(space)):
            raise UserError(f"--index {args.index}: " + (
                f"choose 0 to {len(space) - 1}" if space.has_dataset else space.note or "no dataset latents"))
    except UserError as exc:
        problems.append(str(exc))
    if problems and screenshot:
        return fail(problems[0], screenshot)

    window = MainWindow(codec, space, data_dir=data_dir, rng=np.random.default_rng(0 if screenshot else None),
                        settings=settings, attributes=attributes, attributes_note=attributes_note, judge=judge)
    if args.all_docks:
        from PySide6.QtWidgets import QDockWidget

        for dock in window.findChildren(QDockWidget):
            dock.show()
    show_window(window, (args.size or SCREENSHOT_SIZE) if screenshot else None)
    if args.all_docks:
        window.show_face_panel()  # the widest dock in front of those tabbed with it
    if splash is not None:
        splash.finish(window)
    if args.camera is not None:
        start_camera(window, args.camera)
    if start_latent is not None:
        window.set_latent(start_latent, f"file {args.latent.name}")
    elif args.index is not None and not problems:
        window.dataset.show_dataset_image(args.index)
    if startup is not None:
        window.wait_for_frame(FRAME_TIMEOUT_MS)
        startup["first_face"] = time.time()
        print(json.dumps(startup))
        window.close()
        return 0
    if not screenshot:
        for problem in problems:
            window.show_error("latentlab", problem)
        return app.exec()

    if not window.wait_for_frame(FRAME_TIMEOUT_MS):
        window.shutdown()
        return fail("the face was not decoded in time; nothing was saved", screenshot)
    wait_for_judge(window)
    if args.camera is not None:
        wait_for_camera(window)
    app.processEvents()
    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    saved = window.grab().save(str(args.screenshot), "PNG")
    window.close()
    if not saved:
        return fail(f"could not write {args.screenshot}", screenshot)
    print(f"wrote {args.screenshot}")
    return 0
