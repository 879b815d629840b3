"""Arguments that several subcommands share (--weights, --refine-steps, --json) and the prior that `sample` and
`evaluate --quality` draw from."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.model.config import DEFAULT_REFINE_STEPS
from latentlab.paths import DEFAULT_WEIGHTS, ModelFiles


def add_weights_argument(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """--weights: the VAE's weights file (model.json beside it)."""
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help=help)


def add_refine_argument(parser: argparse.ArgumentParser) -> None:
    """--refine-steps of the commands that encode images."""
    parser.add_argument("--refine-steps", type=int, metavar="N",
                        help="Adam steps that refine each encoder mean on the model's own loss (default: the "
                             f"model's refine_steps in model.json, {DEFAULT_REFINE_STEPS} for new models; 0: the "
                             "encoder alone)")


def add_json_argument(parser: argparse.ArgumentParser, help: str = "last line of stdout: one JSON object") -> None:
    """--json: the command's result as JSON on stdout."""
    parser.add_argument("--json", action="store_true", help=help)


def sample_prior(args, latent_dim: int):
    """(prior, its name): N(0, I) for --prior normal, else the prior stored with (or fitted to) the dataset latents
    of these weights. A missing or mismatched default latents file is a note and N(0, I); a given --latents must fit."""
    from latentlab.latent.prior import GaussianPrior, standard_normal
    from latentlab.latent.space import read_latents

    normal = (standard_normal(latent_dim), "N(0, I)")
    if args.prior == "normal":
        return normal
    path = args.latents or ModelFiles(args.weights).latents
    try:
        latents = read_latents(path, latent_dim, weights_fingerprint(args.weights))
    except UserError as exc:
        if args.latents is not None:
            raise
        print(f"note: sampling from N(0, I): {exc}", file=sys.stderr)
        return normal
    return GaussianPrior.from_arrays(latents), f"the Gaussian fitted to {path}"
