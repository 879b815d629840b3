"""`vae.py prepare`: a compact cropped + resized WebP copy of an image folder."""

from __future__ import annotations

from pathlib import Path

from latentlab.model.config import CROPS


def add_parser(commands) -> None:
    """Register `prepare` on the subparsers `commands`."""
    prepare = commands.add_parser("prepare", help="write a compact cropped + resized WebP copy of an image folder")
    prepare.set_defaults(run=cmd_prepare)
    prepare.add_argument("--data", type=Path, required=True)
    prepare.add_argument("--out", type=Path, required=True)
    prepare.add_argument("--image-size", type=int, default=128)
    prepare.add_argument("--crop", choices=CROPS)
    prepare.add_argument("--quality", type=int, default=75)


def cmd_prepare(args) -> int:
    from latentlab import images as data_lib

    paths = data_lib.find_images(args.data)
    crop = args.crop or data_lib.default_crop(paths)
    report = data_lib.SkipReport()
    written = data_lib.prepare_folder(args.data, args.out, args.image_size, crop, args.quality, report)
    report.warn()
    print(f"wrote {written} images ({crop} crop, {args.image_size} px) to {args.out}")
    return 0
