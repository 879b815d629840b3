"""The command line of `vae.py`: every subcommand's arguments, in one parser. No TensorFlow is imported here,
so `--help` and argument mistakes answer at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentlab.latent.directions import DIRECTION_METHODS
from latentlab.latent.prior import PRIORS
from latentlab.model.config import CROPS, DECODER_HEADS, DEFAULT_REFINE_STEPS, DISTILL_DECODER_TARGETS, LOSSES
from latentlab.paths import DEFAULT_ATTRIBUTES, DEFAULT_JUDGE, DEFAULT_LATENTS, DEFAULT_WEIGHTS, PROJECT_ROOT
from latentlab.train.distributed import STRATEGIES, WORKER_TIMEOUT_S

SUBCOMMANDS = ("train", "distill", "evaluate", "sample", "reconstruct", "index", "prepare", "attributes", "manipulate",
               "plot-latents", "bench", "encode", "train-judge")
DEFAULT_DATA = PROJECT_ROOT / "data" / "img_align_celeba"
EDIT_FACES = 200  # faces `evaluate --edits` moves when no --limit is given


def add_architecture_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--widths", type=lambda s: tuple(int(w) for w in s.split(",")),
                        help="encoder widths, e.g. 32,64,128,256")
    parser.add_argument("--encoder-kernel", type=int, choices=(3, 4), help="size of the encoder's strided convolutions")
    parser.add_argument("--batch-norm", choices=("on", "off"), help="BatchNormalization after each strided layer")
    parser.add_argument("--decoder-head", choices=DECODER_HEADS,
                        help="transpose: the last transposed convolution writes RGB; conv: one more full-size layer; "
                             "resize: conv's layers as bilinear upsampling + 3x3 convolution (no transposed convolution)")
    parser.add_argument("--encoder-blocks", type=int,
                        help="residual blocks after each encoder layer at 1/4 of the image size or less (0-4); "
                             "with --init-from new ones start as pass-throughs")
    parser.add_argument("--decoder-blocks", type=int,
                        help="the same after each decoder layer at 1/8 of the image size or less")
    parser.add_argument("--detail-width", type=int,
                        help="a full-resolution detail stage of this width after the transpose head (0: none); "
                             "with --init-from it starts as a pass-through")


def architecture_changes(args) -> dict:
    """The ModelConfig fields set by add_architecture_args' flags (None where not given)."""
    return {"widths": args.widths, "encoder_kernel": args.encoder_kernel, "decoder_head": args.decoder_head,
            "encoder_blocks": args.encoder_blocks, "decoder_blocks": args.decoder_blocks,
            "detail_width": args.detail_width,
            "batch_norm": None if args.batch_norm is None else args.batch_norm == "on"}


def _refine_argument(parser: argparse.ArgumentParser) -> None:
    """--refine-steps of the commands that encode images."""
    parser.add_argument("--refine-steps", type=int, metavar="N",
                        help="Adam steps that refine each encoder mean on the model's own loss (default: the model's "
                             f"refine_steps in model.json, {DEFAULT_REFINE_STEPS} for new models; 0: the encoder alone)")


def _direction_method_arguments(parser: argparse.ArgumentParser) -> None:
    """--method and --judge of the commands that fit attribute directions."""
    parser.add_argument("--method", choices=DIRECTION_METHODS, default="auto",
                        help="auto: the label fit (logistic or mean_diff) with the higher mean validation AUC; judged: "
                             "fitted on the model's decoded faces as --judge reads them, decorrelated from Male, Young, "
                             "Pale_Skin, Eyeglasses and Smiling (how data/attributes.npz is made)")
    parser.add_argument("--judge", type=Path, default=DEFAULT_JUDGE, help="with --method judged: the attribute judge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vae.py", description="Train and use the latentlab VAE.")
    commands = parser.add_subparsers(dest="command", metavar="{" + ",".join(SUBCOMMANDS) + "}")

    train = commands.add_parser("train", help="train on a folder of images (default subcommand)")
    train.add_argument("--data", type=Path, default=None, help=f"image folder (default {DEFAULT_DATA.relative_to(PROJECT_ROOT)})")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, help="the global batch, shared by every replica and worker")
    train.add_argument("--image-size", type=int)
    train.add_argument("--latent-dim", type=int)
    add_architecture_args(train)
    train.add_argument("--loss", choices=LOSSES)
    train.add_argument("--beta", type=float, help="KL weight")
    train.add_argument("--beta-warmup", type=int, dest="beta_warmup_steps", help="steps to ramp the KL weight from 0")
    train.add_argument("--perceptual-weight", type=float,
                       help="weight of the perceptual loss (0: none; the shipped model's recipe is in the README)")
    train.add_argument("--perceptual-net", help="the perceptual loss's feature network, a judge-format weights file "
                                                "that is not the judge (default data/perceptual.weights.h5)")
    train.add_argument("--spectral-weight", type=float,
                       help="weight of the log power by which the reconstructions' spectrum exceeds twice the "
                            "photos' at any frequency: a guard against grids, stripes and grain (0: none)")
    train.add_argument("--adversarial-weight", type=float,
                       help="weight of a PatchGAN discriminator's hinge loss on the reconstructions (0: none)")
    train.add_argument("--feature-matching-weight", type=float,
                       help="weight of the L1 distance between the discriminator's features of each image and of "
                            "its reconstruction (needs --adversarial-weight)")
    train.add_argument("--discriminator-warmup", type=int, dest="discriminator_warmup_steps",
                       help="steps the discriminator trains alone before the decoder's adversarial terms start")
    train.add_argument("--freeze-encoder", choices=("on", "off"),
                       help="on: train the decoder only, keeping every latent made from the encoder valid")
    train.add_argument("--freeze-decoder-base", choices=("on", "off"),
                       help="on (with --detail-width and --freeze-encoder on): train the detail stage only, on top of "
                            "the decoder's unchanged face")
    train.add_argument("--lr", type=float, dest="learning_rate")
    train.add_argument("--lr-schedule", choices=("cosine", "constant"), default="cosine")
    train.add_argument("--lr-warmup", type=int, dest="lr_warmup_steps",
                       help="ramp the learning rate up from 0 over this many steps "
                            "(default: a tenth of the run, at most 1000; 0: none)")
    train.add_argument("--crop", choices=CROPS, help="default: celeba for 178x218 CelebA images, else center")
    train.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="weights file (model.json goes beside it)")
    train.add_argument("--name", help="run name: logs and checkpoints go to runs/NAME")
    train.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    train.add_argument("--init-from", type=Path,
                       help="start from these weights; their model.json gives every setting not named here")
    train.add_argument("--strategy", choices=STRATEGIES, default="default",
                       help="mirrored: every GPU of this machine; multiworker: several machines, set up by TF_CONFIG")
    train.add_argument("--cpu-devices", type=int, metavar="N",
                       help="split the CPU into N devices (to try --strategy mirrored without GPUs)")
    train.add_argument("--worker-timeout", type=float, default=WORKER_TIMEOUT_S, metavar="SECONDS",
                       help="multiworker: how long to wait for every worker in TF_CONFIG to come up")
    train.add_argument("--no-cache", action="store_true", help="do not cache preprocessed images on disk")
    train.add_argument("--runs-dir", type=Path, default=PROJECT_ROOT / "runs", help="where runs/NAME/ logs and checkpoints go")
    train.add_argument("--limit", type=int, help="use only the first N images")

    distill = commands.add_parser(
        "distill", help="move a trained model to another architecture, keeping its latent space")
    distill.add_argument("--data", type=Path, required=True, help="image folder (the teacher's training images)")
    distill.add_argument("--out", type=Path, required=True, help="the student's weights file (model.json beside it)")
    distill.add_argument("--teacher", type=Path, default=DEFAULT_WEIGHTS)
    distill.add_argument("--epochs", type=int, default=5)
    distill.add_argument("--batch-size", type=int)
    distill.add_argument("--lr", type=float, dest="learning_rate", default=1e-3)
    distill.add_argument("--decoder-target", choices=DISTILL_DECODER_TARGETS, default="images",
                         help="what the student decoder learns to draw from the teacher's latents: the images, or "
                              "the teacher decoder's output for the same latents")
    add_architecture_args(distill)
    distill.add_argument("--name", help="run name (the image cache goes to runs/.cache)")
    distill.add_argument("--no-cache", action="store_true", help="do not cache preprocessed images on disk")
    distill.add_argument("--runs-dir", type=Path, default=PROJECT_ROOT / "runs")
    distill.add_argument("--limit", type=int, help="use only the first N images")

    evaluate = commands.add_parser("evaluate", help="reconstruction MSE / PSNR, sharpness, checkerboard on a folder "
                                   "of images (--quality: also identity kept and the face rate of prior samples)")
    evaluate.add_argument("--data", type=Path, required=True)
    evaluate.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    _refine_argument(evaluate)
    evaluate.add_argument("--split", choices=("all", "train", "val"), default="all",
                          help="evaluate one part of the folder (official partition or seeded split)")
    evaluate.add_argument("--limit", type=int)
    evaluate.add_argument("--crop", choices=CROPS, help="override the crop the model was trained with")
    evaluate.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")
    evaluate.add_argument("--grid", type=Path, default=PROJECT_ROOT / "runs" / "evaluate" / "reconstructions.png",
                          help="originals-vs-reconstructions PNG")
    evaluate.add_argument("--attributes", type=Path,
                          help="CelebA list_attr_celeba.txt: the JSON gains attribute_auc (projection on --directions)")
    evaluate.add_argument("--directions", type=Path, default=DEFAULT_ATTRIBUTES, help="attribute directions file")
    evaluate.add_argument("--quality", action="store_true",
                          help="also identity_kept, identity_distance_median (dlib face descriptor) and face_rate "
                               "(dlib face detector on --samples prior samples); needs requirements-eval.txt")
    evaluate.add_argument("--samples", type=int, default=200, help="with --quality: prior samples for face_rate")
    evaluate.add_argument("--prior", choices=PRIORS, default="fitted",
                          help="with --quality: the prior of the face_rate samples, as for `sample`")
    evaluate.add_argument("--latents", type=Path, default=None,
                          help=f"with --quality: dataset latents holding the fitted prior "
                               f"(default {DEFAULT_LATENTS.relative_to(PROJECT_ROOT)})")
    evaluate.add_argument("--edits", action="store_true",
                          help="instead: move --limit faces (default 200) of --split by -2 and +2 sd along each of "
                               "--directions and let --judge read what changed (effect, identity leakage, top leaks)")
    evaluate.add_argument("--judge", type=Path, default=DEFAULT_JUDGE,
                          help="with --edits: the attribute judge (`train-judge`), its judge.json beside it")
    evaluate.add_argument("--hold", nargs="+", default=[], metavar="ATTR",
                          help="with --edits: attributes held fixed, as for `manipulate --hold`")
    evaluate.add_argument("--save-effects", action="store_true",
                          help="with --edits: store each direction's effect in --directions (attributes.npz), where "
                               "the window reads it to mark weak directions")

    sample = commands.add_parser("sample", help="faces decoded from random latents: a grid and / or one PNG each")
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--out", type=Path, help="the grid PNG")
    sample.add_argument("--out-dir", type=Path, help="one PNG per face: sample_000.png, ...")
    sample.add_argument("--seed", type=int)
    sample.add_argument("--prior", choices=PRIORS, default="fitted",
                        help="fitted: the Gaussian fitted to the dataset latents (--latents); normal: N(0, I)")
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="scale of the draws around the prior's mean (1: the prior itself)")
    sample.add_argument("--cols", type=int)
    sample.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    sample.add_argument("--latents", type=Path, default=None,
                        help="dataset latents holding the fitted prior (default "
                             f"{DEFAULT_LATENTS.relative_to(PROJECT_ROOT)}; when that one is missing or made for "
                             "other weights, N(0, I) with a note)")

    reconstruct = commands.add_parser("reconstruct", help="the model's version of each image: one PNG per input")
    reconstruct.add_argument("--data", type=Path, required=True, metavar="DIR|PHOTO",
                             help="a folder of images (searched recursively) or one image file")
    reconstruct.add_argument("--out-dir", type=Path, required=True,
                             help="where the PNGs go (same relative path and stem as each input)")
    reconstruct.add_argument("--limit", type=int, help="only the first N images")
    reconstruct.add_argument("--align", action="store_true",
                             help="detect and align each photo's face first, as `encode` and the window do (for photos "
                                  "that are not CelebA-aligned; photos without a face are skipped and counted)")
    reconstruct.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    _refine_argument(reconstruct)

    index = commands.add_parser("index", help="encode every image of a folder into data/latents.npz")
    index.add_argument("--data", type=Path, required=True)
    index.add_argument("--attributes", type=Path, help="CelebA list_attr_celeba.txt (labels stored beside the latents)")
    index.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    _refine_argument(index)
    index.add_argument("--out", type=Path, default=DEFAULT_LATENTS)
    index.add_argument("--limit", type=int)
    index.add_argument("--directions-out", type=Path,
                       help="with --attributes: where the fitted attribute directions go "
                            "(default: attributes.npz beside --out, so data/attributes.npz)")
    _direction_method_arguments(index)

    prepare = commands.add_parser("prepare", help="write a compact cropped + resized WebP copy of an image folder")
    prepare.add_argument("--data", type=Path, required=True)
    prepare.add_argument("--out", type=Path, required=True)
    prepare.add_argument("--image-size", type=int, default=128)
    prepare.add_argument("--crop", choices=CROPS)
    prepare.add_argument("--quality", type=int, default=75)

    attributes = commands.add_parser("attributes", help="fit the 40 attribute directions from a latents file")
    attributes.add_argument("--latents", type=Path, default=DEFAULT_LATENTS, help="written by `index --attributes`")
    attributes.add_argument("--out", type=Path, default=DEFAULT_ATTRIBUTES)
    attributes.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                            help="with --method judged: the model whose decoded faces the judge reads")
    _direction_method_arguments(attributes)
    attributes.add_argument("--data", type=Path, help="image folder whose list_eval_partition.txt splits train / val "
                            "(default: the folder the latents were indexed from)")
    attributes.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")

    manipulate = commands.add_parser("manipulate", help="a grid of faces moved along an attribute direction")
    manipulate.add_argument("--attr", required=True, help="attribute name, e.g. Smiling")
    faces = manipulate.add_mutually_exclusive_group()
    faces.add_argument("--index", type=int, nargs="+", help="rows of the latents file (default: --n validation faces)")
    faces.add_argument("--photo", type=Path, nargs="+", help="photos (cropped with the model's crop)")
    manipulate.add_argument("--n", type=int, default=4, help="number of validation faces when no --index / --photo")
    manipulate.add_argument("--steps", type=int, default=7, help="columns, from negative to positive strength")
    manipulate.add_argument("--range", type=float, default=3.0, help="largest strength, in score standard deviations")
    manipulate.add_argument("--hold", nargs="+", default=[], metavar="ATTR", help="attributes to hold fixed")
    manipulate.add_argument("--seed", type=int, default=0, help="which validation faces")
    manipulate.add_argument("--out", type=Path, required=True)
    manipulate.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    _refine_argument(manipulate)
    manipulate.add_argument("--latents", type=Path, default=DEFAULT_LATENTS)
    manipulate.add_argument("--directions", type=Path, default=DEFAULT_ATTRIBUTES)

    plot = commands.add_parser("plot-latents", help="the latent distribution figure: histograms, KL per dimension")
    plot.add_argument("--out", type=Path, required=True)
    plot.add_argument("--latents", type=Path, default=DEFAULT_LATENTS)
    marked = plot.add_mutually_exclusive_group()
    marked.add_argument("--latent", type=Path, help="a latent (.npy of shape (D,)) to mark on the histograms")
    marked.add_argument("--index", type=int, help="mark this row of the latents file on the histograms")
    plot.add_argument("--dims", type=lambda s: [int(d) for d in s.split(",")], help="dimensions to plot, e.g. 0,5,9")

    bench = commands.add_parser("bench", help="speed: decode, frame, encode, nearest search, training")
    bench.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    bench.add_argument("--repeats", type=int, default=200, help="timed decodes per figure")
    bench.add_argument("--train-steps", type=int, default=10, help="timed training steps (after 2 warm-up steps)")
    bench.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")

    encode = commands.add_parser("encode", help="a photo's latent: detect and align the face, encode, nearest faces")
    encode.add_argument("photo", type=Path, metavar="PHOTO", help="any image file with a face")
    encode.add_argument("--out", type=Path, required=True, help="the latent (z_mean) as .npy of shape (latent_dim,)")
    encode.add_argument("--neighbours", type=int, default=5, metavar="K", help="dataset faces to list (0: none)")
    encode.add_argument("--no-align", action="store_true", help="encode the whole picture (the model's crop for "
                        "CelebA-sized images, else the centred square) instead of the detected, aligned face")
    encode.add_argument("--aligned-out", type=Path, metavar="PNG", help="write the aligned 178x218 face "
                        "(with --no-align: the model's input)")
    encode.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    _refine_argument(encode)
    encode.add_argument("--latents", type=Path, default=None,
                        help=f"dataset latents for the neighbours (default {DEFAULT_LATENTS.relative_to(PROJECT_ROOT)})")

    judge = commands.add_parser("train-judge", help="train the attribute judge (a small CNN reading the 40 labels, "
                                "photos and decoded faces alike) and measure its validation AUC on photos and on "
                                "their reconstructions")
    judge.add_argument("--data", type=Path, required=True, help="labelled image folder (its official partition "
                       "or a seeded split gives train / validation)")
    judge.add_argument("--attributes", type=Path, required=True, help="CelebA list_attr_celeba.txt")
    judge.add_argument("--epochs", type=int, default=12, help="0: only measure the judge already at --out")
    judge.add_argument("--batch-size", type=int, default=64)
    judge.add_argument("--lr", type=float, dest="learning_rate", default=2e-3)
    judge.add_argument("--out", type=Path, default=DEFAULT_JUDGE, help="weights file (judge.json goes beside it)")
    judge.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                       help="the VAE whose crop the judge reads and whose reconstructions it is measured on")
    judge.add_argument("--runs-dir", type=Path, default=PROJECT_ROOT / "runs",
                       help="the preprocessed images are cached in RUNS_DIR/.cache")
    judge.add_argument("--json", action="store_true", help="stdout: one JSON object")
    return parser
