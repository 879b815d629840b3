"""`python gui.py` (the `latentlab-gui` command): its arguments, and a check that Qt can open a window on this
machine (a display, the system libraries of Qt's xcb plugin) that says in one line what is missing instead of
letting Qt abort. Nothing here imports Qt before that check."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from latentlab.paths import DEFAULT_WEIGHTS

NO_PROBE_PLATFORMS = ("offscreen", "minimal")  # Qt plugins that need no display and no system library
PROBE_TIMEOUT_S = 20.0
APT_PACKAGES = {"libglib-2.0.so.0": "libglib2.0-0"}  # where Debian's name is not the library's with its version
XCB_HINT = ("sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-xinerama0 "
            "libegl1")
OFFSCREEN_HINT = ("or write a picture of the window without one: "
                  "QT_QPA_PLATFORM=offscreen python gui.py --screenshot PNG")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Explore the VAE's latent space in a window.")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, metavar="FILE",
                        help="trained weights (model.json beside them); default data/vae.weights.h5")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="dataset folder, to show originals beside reconstructions")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--index", type=int, metavar="I", help="start on dataset image I")
    start.add_argument("--latent", type=Path, metavar="FILE.npy", help="start on a latent saved as .npy")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="where the model runs (cpu hides GPUs; gpu fails without one)")
    parser.add_argument("--camera", metavar="N|FILE",
                        help="start Your face on camera N, or on a video file played as the camera (it loops)")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="build the window, decode the face, save a PNG of the whole window and exit "
                             "(works offscreen)")
    parser.add_argument("--size", type=window_size, metavar="WxH",
                        help="the window's size for --screenshot (default 1600x960), e.g. 1366x768")
    parser.add_argument("--all-docks", action="store_true", help="open every dock (for --screenshot)")
    parser.add_argument("--startup-times", action="store_true", help=argparse.SUPPRESS)  # for `vae.py bench`
    return parser


def window_size(text: str) -> tuple[int, int]:
    """'1366x768' -> (1366, 768), for --size."""
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and 320 <= int(width) <= 8192 and 240 <= int(height) <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: give the size as WIDTHxHEIGHT in pixels, e.g. 1366x768")
    return int(width), int(height)


def camera_problem(spec: str | None) -> str | None:
    """One line when --camera names a missing file or one that is not a video (a camera index is tried later, in
    the window); None when it is fine."""
    if spec is None:
        return None
    from latentlab.errors import UserError
    from latentlab.faces.camera import check_video, parse_source

    chosen = parse_source(spec)
    if isinstance(chosen, int):
        return None
    try:
        check_video(chosen)
    except UserError as exc:
        return f"--camera: {exc}"
    return None


def requested_platform() -> str:
    """The Qt platform plugin this process would load: QT_QPA_PLATFORM's first choice, else Qt's default for the
    session (wayland in a Wayland session, xcb elsewhere on Linux; '' on other systems)."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen or not sys.platform.startswith("linux"):
        return chosen
    return "wayland" if os.environ.get("WAYLAND_DISPLAY") else "xcb"


def xcb_plugin() -> Path:
    """Qt's xcb platform plugin in the installed PySide6 (found without importing Qt)."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    root = Path(spec.origin).parent if spec and spec.origin else Path()
    return root / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries (e.g. libxcb-icccm.so.4) that `ldd` cannot find for `plugin`; [] when ldd is absent."""
    try:
        listed = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    names = [line.split("=>")[0].strip() for line in listed.splitlines() if "not found" in line]
    return list(dict.fromkeys(names))


def apt_package(library: str) -> str:
    """Debian / Ubuntu's package of a shared library: libxcb-icccm.so.4 -> libxcb-icccm4, libEGL.so.1 -> libegl1,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    if library in APT_PACKAGES:
        return APT_PACKAGES[library]
    name, _, version = library.partition(".so.")
    name = name.lower()
    return f"{name}{'-' if name[-1].isdigit() else ''}{version.split('.')[0]}"


def display_problem() -> str | None:
    """One line saying why Qt cannot open a window here and how to fix it; None when it can (or needs no display).

    Cheap checks first (QT_QPA_PLATFORM, DISPLAY / WAYLAND_DISPLAY, `ldd` of the xcb plugin), then Qt itself
    creating a QGuiApplication in a separate process, where a failure aborts that process and not this one."""
    platform = requested_platform()
    if platform in NO_PROBE_PLATFORMS or not sys.platform.startswith("linux"):
        return None
    missing = missing_libraries(xcb_plugin()) if platform == "xcb" else []
    lacking = (f"Qt's xcb platform plugin lacks {', '.join(missing)}: sudo apt install "
               f"{' '.join(dict.fromkeys(apt_package(m) for m in missing))}") if missing else ""
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return ("no display to open the window on (DISPLAY is not set): start gui.py in a desktop session or over "
                f"ssh -X, {OFFSCREEN_HINT}" + (f"; also, {lacking}" if lacking else ""))
    if platform == "wayland" and not os.environ.get("WAYLAND_DISPLAY"):
        return f"no Wayland display (WAYLAND_DISPLAY is not set): start gui.py in a desktop session, {OFFSCREEN_HINT}"
    if lacking:
        return lacking
    return probe_failure(platform)


def probe_failure(platform: str) -> str | None:
    """Start a QGuiApplication in a child process with this environment: None when it starts, else one line of
    what Qt said and the fix (`platform`: the plugin it loads). The child cannot dump core when Qt aborts."""
    import resource

    code = "import sys; from PySide6.QtGui import QGuiApplication; QGuiApplication(sys.argv[:1]); print('ok')"
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
    except subprocess.TimeoutExpired:
        return f"Qt did not start the {platform} platform within {PROBE_TIMEOUT_S:g} s: is the display reachable?"
    if done.returncode == 0 and done.stdout.strip() == "ok":
        return None
    said = [re.sub(r"^qt\.qpa\.\w+: ", "", line.strip()) for line in done.stderr.splitlines() if line.strip()]
    reason = next((line for line in said if "could not connect" in line.lower() or "could not load" in line.lower()),
                  said[0] if said else f"exit status {done.returncode}")
    fix = f"the libraries Qt's xcb plugin needs: {XCB_HINT}" if platform == "xcb" else "a working display"
    return f"Qt cannot open a window ({reason.rstrip('.')}); check the display and {fix}"


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]), check --camera's video and that Qt can start, run the explorer; the exit
    status (2 with one line on stderr when the video cannot be played or Qt cannot open a window here)."""
    args = build_parser().parse_args(argv)
    problem = camera_problem(args.camera) or (None if _qt_started() else display_problem())
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    from latentlab.ui.app import run  # Qt and the splash first; Keras loads behind the splash

    return run(args)


def _qt_started() -> bool:
    """Whether this process already has a Qt application (then Qt evidently starts)."""
    gui = sys.modules.get("PySide6.QtGui")
    return gui is not None and gui.QGuiApplication.instance() is not None


if __name__ == "__main__":  # `python -m latentlab.ui.launch`, as `vae.py bench` starts the window
    sys.exit(main())
