"""`vae.py evaluate` (reconstruction, sharpness, artifacts; --quality: identity and face rate; --edits: in
latentlab.cli.judge) and `vae.py bench` (speed): their arguments and their commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from latentlab.cli.common import add_json_argument, add_refine_argument, add_weights_argument, sample_prior
from latentlab.cli.judge import add_edit_arguments, cmd_evaluate_edits
from latentlab.cli.semantics import attribute_auc, attribute_labels
from latentlab.errors import UserError
from latentlab.latent.prior import PRIORS
from latentlab.model.config import CROPS
from latentlab.paths import DEFAULT_ATTRIBUTES, DEFAULT_LATENTS, PROJECT_ROOT


def add_parser(commands) -> None:
    """Register `evaluate` and `bench` on the subparsers `commands`."""
    evaluate = commands.add_parser("evaluate", help="reconstruction MSE / PSNR, sharpness, checkerboard on a folder "
                                   "of images (--quality: also identity kept and the face rate of prior samples)")
    evaluate.set_defaults(run=cmd_evaluate)
    evaluate.add_argument("--data", type=Path, required=True)
    add_weights_argument(evaluate)
    add_refine_argument(evaluate)
    evaluate.add_argument("--split", choices=("all", "train", "val"), default="all",
                          help="evaluate one part of the folder (official partition or seeded split)")
    evaluate.add_argument("--limit", type=int)
    evaluate.add_argument("--crop", choices=CROPS, help="override the crop the model was trained with")
    add_json_argument(evaluate)
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
                          help=f"with --quality: dataset latents holding the fitted prior; with --edits: the "
                               f"faces' latents, as the window has them "
                               f"(default {DEFAULT_LATENTS.relative_to(PROJECT_ROOT)})")
    add_edit_arguments(evaluate)

    bench = commands.add_parser("bench", help="speed: decode, frame, encode, nearest search, live mirror, training")
    bench.set_defaults(run=cmd_bench)
    add_weights_argument(bench)
    bench.add_argument("--repeats", type=int, default=200, help="timed decodes per figure")
    bench.add_argument("--train-steps", type=int, default=10, help="timed training steps (after 2 warm-up steps)")
    bench.add_argument("--data", type=Path, metavar="CELEBA_DIR",
                       help="make the live mirror's video of photos 1-6 of this folder (CelebA's aligned images) "
                            "instead of faces the model decodes from its prior")
    add_json_argument(bench)


def cmd_evaluate(args) -> int:
    from latentlab.model.codec import Codec
    if args.edits:
        return cmd_evaluate_edits(args)
    from latentlab import images as data_lib
    from latentlab.eval.metrics import mse_per_image, psnr
    from latentlab.eval.quality import QualityMeter, load_face_recognizer
    from latentlab.pictures import comparison_grid, save_png

    if args.samples < 0:
        raise UserError("--samples must be 0 or more")
    paths = data_lib.find_split(args.data, args.split, args.limit)
    codec = Codec.load(args.weights, refine_steps=args.refine_steps)
    crop = args.crop or data_lib.prepared_and_model_crop(args.data, codec.config.crop)
    labelled = attribute_labels(args) if args.attributes else None
    faces, note = load_face_recognizer() if args.quality else (None, None)
    if note:
        print(f"note: {note}", file=sys.stderr)
    meter = QualityMeter(faces)
    report = data_lib.SkipReport()
    errors, preview, kept, latents = [], None, [], []
    for batch_paths, images in data_lib.iter_batches(paths, codec.image_size, crop, batch_size=64, report=report):
        z = codec.encode(images)
        reconstructions = codec.decode(z)
        if labelled is not None:
            kept.extend(batch_paths)
            latents.append(z)
        errors.append(mse_per_image(images, reconstructions))
        meter.add(images, reconstructions)
        if preview is None:
            preview = (images[:16], reconstructions[:16])
        if faces is not None:
            print(f"\revaluated {sum(map(len, errors))}/{len(paths)}", end="", file=sys.stderr, flush=True)
    if faces is not None:
        print(file=sys.stderr)
    if not errors:
        raise UserError(f"none of the {len(paths)} image file(s) under {args.data} could be read")
    errors = np.concatenate(errors)
    save_png(args.grid, comparison_grid(*preview))
    samples, prior_name = None, None
    if faces is not None and args.samples:
        prior, prior_name = sample_prior(args, codec.latent_dim)
        samples = codec.sample(prior, args.samples, seed=0)[1]
    result = {
        "n_images": int(len(errors)), "skipped": len(report),
        "mse": round(float(errors.mean()), 6), "psnr": round(float(psnr(errors).mean()), 3),
        **meter.result(samples), "samples": 0 if samples is None else len(samples), "prior": prior_name,
        "split": args.split, "data": str(args.data), "weights": str(args.weights), "grid": str(args.grid),
    }
    if labelled is not None:
        result["attribute_auc"] = attribute_auc(*labelled, kept, np.concatenate(latents))
        known = [v for v in result["attribute_auc"].values() if v is not None]
        result["attribute_auc_mean"] = round(float(np.mean(known)), 4) if known else None
    report.warn()
    if not args.json:
        print(f"{result['n_images']} images ({result['skipped']} skipped): MSE {result['mse']:.5f}, "
              f"PSNR {result['psnr']:.2f} dB; grid: {args.grid}")
        print(f"sharpness {result['sharpness']:.3f} (Laplacian variance, reconstruction / original, median), "
              f"checkerboard {result['checkerboard']:.3f} (8-, 4-, 2-pixel spectral peaks, reconstruction / original, "
              f"median), periodic excess {result['periodic_excess']:.2f} (the largest power ratio at or beside those "
              f"periods, any colour)")
        if faces is not None:
            face_rate = ("no samples" if samples is None
                         else f"{result['face_rate']:.1%} of {len(samples)} samples ({prior_name})")
            print(f"identity kept {result['identity_kept']:.1%} (dlib distance <= 0.6; median "
                  f"{result['identity_distance_median']:.3f}); face found in {face_rate}, "
                  f"{result['face_rate_originals']:.1%} of the originals")
        if labelled is not None:
            print(f"attribute AUC (projection on {labelled[0].method} directions): mean {result['attribute_auc_mean']}")
    print(json.dumps(result))
    return 0


def cmd_bench(args) -> int:
    from latentlab.eval.bench import KEYS, run_bench

    if args.repeats < 10 or args.train_steps < 1:
        raise UserError("--repeats must be at least 10 and --train-steps at least 1")
    if args.data is not None and not args.data.is_dir():
        raise UserError(f"--data {args.data} is not a folder of images")
    result = run_bench(args.weights, args.repeats, args.train_steps, log=print, celeba_dir=args.data)
    if args.json:
        print(json.dumps(result))
    else:
        for key in KEYS:
            print(f"{key:<16} {'skipped' if result[key] is None else result[key]}")
    return 0
