"""`vae.py train` (the default subcommand) and `vae.py distill`: their arguments and their commands."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from latentlab.errors import UserError
from latentlab.model.config import CROPS, DECODER_HEADS, LOSSES, ModelConfig, load_model_json
from latentlab.paths import DEFAULT_WEIGHTS, PROJECT_ROOT, model_json_path
from latentlab.train.distributed import STRATEGIES, WORKER_TIMEOUT_S
from latentlab.train.terms import add_arguments as add_term_arguments
from latentlab.train.terms import terms_from_args

DEFAULT_DATA = PROJECT_ROOT / "data" / "img_align_celeba"
CELEBA_HINT = (
    "get CelebA's aligned images (img_align_celeba, https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) "
    "into data/img_align_celeba, or point --data at any folder of images"
)


CONFIG_FIELDS = {field.name for field in dataclasses.fields(ModelConfig)}


def on_off(text: str) -> bool:
    """An on / off argument as a bool."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from 'on', 'off')")
    return text == "on"


def add_architecture_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--widths", type=lambda s: tuple(int(w) for w in s.split(",")),
                        help="encoder widths, e.g. 32,64,128,256")
    parser.add_argument("--encoder-kernel", type=int, choices=(3, 4), help="size of the encoder's strided convolutions")
    parser.add_argument("--batch-norm", type=on_off, metavar="{on,off}",
                        help="BatchNormalization after each strided layer")
    parser.add_argument("--decoder-head", choices=DECODER_HEADS,
                        help="transpose: the last transposed convolution writes RGB; conv: one more full-size layer "
                             "(the first architecture)")
    parser.add_argument("--encoder-blocks", type=int,
                        help="residual blocks after each encoder layer at 1/4 of the image size or less (0-4); "
                             "with --init-from new ones start as pass-throughs")
    parser.add_argument("--decoder-blocks", type=int,
                        help="the same after each decoder layer at 1/8 of the image size or less")


def config_changes(args: argparse.Namespace) -> dict:
    """The ModelConfig fields the command line sets: every argument whose dest is a field (None where not given)."""
    return {name: value for name, value in vars(args).items() if name in CONFIG_FIELDS}


def add_parser(commands) -> None:
    """Register `train` and `distill` on the subparsers `commands`."""
    train = commands.add_parser("train", help="train on a folder of images (default subcommand)")
    train.set_defaults(run=cmd_train)
    train.add_argument("--data", type=Path, default=None,
                       help=f"image folder (default {DEFAULT_DATA.relative_to(PROJECT_ROOT)})")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, help="the global batch, shared by every replica and worker")
    train.add_argument("--image-size", type=int)
    train.add_argument("--latent-dim", type=int)
    add_architecture_args(train)
    train.add_argument("--loss", choices=LOSSES)
    train.add_argument("--beta", type=float, help="KL weight")
    train.add_argument("--beta-warmup", type=int, dest="beta_warmup_steps", help="steps to ramp the KL weight from 0")
    train.add_argument("--freeze-encoder", type=on_off, metavar="{on,off}",
                       help="on: train the decoder only, keeping every latent made from the encoder valid")
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
    train.add_argument("--runs-dir", type=Path, default=PROJECT_ROOT / "runs",
                       help="where runs/NAME/ logs and checkpoints go")
    train.add_argument("--limit", type=int, help="use only the first N images")
    add_term_arguments(train)

    distill = commands.add_parser(
        "distill", help="move a trained model to another architecture, keeping its latent space")
    distill.set_defaults(run=cmd_distill)
    distill.add_argument("--data", type=Path, required=True, help="image folder (the teacher's training images)")
    distill.add_argument("--out", type=Path, required=True, help="the student's weights file (model.json beside it)")
    distill.add_argument("--teacher", type=Path, default=DEFAULT_WEIGHTS)
    distill.add_argument("--epochs", type=int, default=5)
    distill.add_argument("--batch-size", type=int)
    distill.add_argument("--lr", type=float, dest="learning_rate", default=1e-3)
    add_architecture_args(distill)
    distill.add_argument("--name", help="run name (the image cache goes to runs/.cache)")
    distill.add_argument("--no-cache", action="store_true", help="do not cache preprocessed images on disk")
    distill.add_argument("--runs-dir", type=Path, default=PROJECT_ROOT / "runs")
    distill.add_argument("--limit", type=int, help="use only the first N images")


def cmd_train(args) -> int:
    from latentlab.train.distributed import start_strategy

    strategy, worker = start_strategy(args.strategy, args.cpu_devices, args.worker_timeout)  # before any TF op
    from latentlab import images as data_lib

    if args.init_from and not args.init_from.is_file():
        raise UserError(f"--init-from {args.init_from} not found")
    data_dir = args.data or DEFAULT_DATA
    if args.data is None and not DEFAULT_DATA.is_dir():
        raise UserError(f"no training data: {CELEBA_HINT}")
    paths = data_lib.find_images(data_dir)
    crop = args.crop or data_lib.default_crop(paths)
    base = load_model_json(model_json_path(args.init_from))[0] if args.init_from else ModelConfig(crop=crop)
    config = base.replace(**config_changes(args), terms=terms_from_args(args, base.terms))  # checks before any image
    from latentlab.train.loop import TrainOptions, train

    options = TrainOptions(
        data=data_dir, out=args.out, epochs=args.epochs, name=args.name, resume=args.resume,
        init_from=args.init_from, strategy=strategy, worker=worker, cache=not args.no_cache,
        lr_schedule=args.lr_schedule, lr_warmup_steps=args.lr_warmup_steps, limit=args.limit, runs_dir=args.runs_dir,
    )
    summary = train(config, options)
    print(json.dumps(summary))
    return 0


def cmd_distill(args) -> int:
    if not args.teacher.is_file():
        raise UserError(f"teacher weights {args.teacher} not found")
    teacher_config, _ = load_model_json(model_json_path(args.teacher))
    current = ModelConfig()
    student_config = teacher_config.replace(
        encoder_kernel=current.encoder_kernel, batch_norm=current.batch_norm, decoder_head=current.decoder_head,
    ).replace(**config_changes(args))
    from latentlab.train.distill import distill
    from latentlab.train.loop import TrainOptions

    options = TrainOptions(data=args.data, out=args.out, epochs=args.epochs, name=args.name,
                           cache=not args.no_cache, limit=args.limit, runs_dir=args.runs_dir)
    print(json.dumps(distill(args.teacher, student_config, options)))
    return 0
