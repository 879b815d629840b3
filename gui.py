"""Open the latent-space explorer window: `python gui.py --help`."""

import argparse
import os
import sys
from pathlib import Path

from latentlab.model.config import DEFAULT_WEIGHTS  # light: no TensorFlow, no Qt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gui.py", description="Explore the VAE's latent space in a window.")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, metavar="FILE",
                        help="trained weights (model.json beside them); default data/vae.weights.h5")
    parser.add_argument("--data", type=Path, metavar="DIR", help="dataset folder, to show originals beside reconstructions")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--index", type=int, metavar="I", help="start on dataset image I")
    start.add_argument("--latent", type=Path, metavar="FILE.npy", help="start on a latent saved as .npy")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="where the model runs (cpu hides GPUs; gpu fails without one)")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="build the window, decode the face, save a PNG of the whole window and exit (works offscreen)")
    parser.add_argument("--startup-times", action="store_true", help=argparse.SUPPRESS)  # for `vae.py bench`
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    from latentlab.ui.app import run  # Qt and the splash first; Keras loads behind the splash

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
