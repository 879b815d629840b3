"""`vae.py train-judge` and `vae.py evaluate --edits`: the attribute judge's commands (latentlab.eval.judge) and
their arguments (`evaluate`'s own are in latentlab.cli.evaluate)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from latentlab.cli.common import add_json_argument, add_weights_argument
from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.model.config import require_weights
from latentlab.paths import DEFAULT_JUDGE, PROJECT_ROOT

EDIT_FACES = 200  # faces `evaluate --edits` moves when no --limit is given
RANGE_FACES = 120  # train faces `--fit-ranges` reads per attribute and range


def add_parser(commands) -> None:
    """Register `train-judge` on the subparsers `commands`."""
    judge = commands.add_parser("train-judge", help="train the attribute judge (a small CNN reading the 40 labels, "
                                "photos and decoded faces alike) and measure its validation AUC on photos and on "
                                "their reconstructions")
    judge.set_defaults(run=cmd_train_judge)
    judge.add_argument("--data", type=Path, required=True, help="labelled image folder (its official partition "
                       "or a seeded split gives train / validation)")
    judge.add_argument("--attributes", type=Path, required=True, help="CelebA list_attr_celeba.txt")
    judge.add_argument("--epochs", type=int, default=12, help="0: only measure the judge already at --out")
    judge.add_argument("--batch-size", type=int, default=64)
    judge.add_argument("--lr", type=float, dest="learning_rate", default=2e-3)
    judge.add_argument("--out", type=Path, default=DEFAULT_JUDGE, help="weights file (judge.json goes beside it)")
    add_weights_argument(judge, help="the VAE whose crop the judge reads and whose reconstructions it is measured on")
    judge.add_argument("--runs-dir", type=Path, default=PROJECT_ROOT / "runs",
                       help="the preprocessed images are cached in RUNS_DIR/.cache")
    add_json_argument(judge, help="stdout: one JSON object")


def add_edit_arguments(evaluate: argparse.ArgumentParser) -> None:
    """`evaluate`'s --edits and the arguments that go with it."""
    evaluate.add_argument("--edits", action="store_true",
                          help=f"instead: move --limit faces (default {EDIT_FACES}) of --split by -2 and +2 sd along "
                               "each of --directions and let --judge read what changed (effect, identity leakage, "
                               "top leaks)")
    evaluate.add_argument("--judge", type=Path, default=DEFAULT_JUDGE,
                          help="with --edits: the attribute judge (`train-judge`), its judge.json beside it")
    evaluate.add_argument("--hold", nargs="+", default=[], metavar="ATTR",
                          help="with --edits: attributes held fixed, as for `manipulate --hold`")
    evaluate.add_argument("--save-effects", action="store_true",
                          help="with --edits: store each direction's effect (and leakage) in --directions "
                               "(attributes.npz), where the window reads them to mark weak sliders")
    evaluate.add_argument("--raw", action="store_true",
                          help="with --edits: the older measure instead: the judge's raw probability change from -2 "
                               "to +2 sd")
    evaluate.add_argument("--calibrate", action="store_true",
                          help="with --edits: first fit the judge's thresholds on the --split photos of --data and "
                               "their labels (--attributes, default list_attr_celeba.txt beside --data) and store "
                               "them in judge.json")
    evaluate.add_argument("--fit-ranges", action="store_true",
                          help="with --edits: first fit each slider's range (the score its end stands for) on "
                               f"{RANGE_FACES} train-partition faces of --latents and store it in --directions")
    evaluate.add_argument("--only", nargs="+", metavar="ATTR", help="with --edits: measure only these attributes")


def _rounded(values) -> list[float | None]:
    """Values to 4 decimals, NaN as None (JSON null)."""
    return [None if np.isnan(v) else round(float(v), 4) for v in values]


def cmd_train_judge(args) -> int:
    from latentlab import images as data_lib
    from latentlab.eval.judge import Judge, JudgeConfig, label_rows, photo_and_reconstruction_auc, train_judge
    from latentlab.latent.directions import mean_auc, read_celeba_attributes
    from latentlab.model.codec import Codec

    if args.epochs < 0 or args.batch_size < 1:
        raise UserError("--epochs must be 0 or more and --batch-size at least 1")
    names, labels = read_celeba_attributes(args.attributes)
    codec = Codec.load(require_weights(args.weights))
    paths = [p for p in data_lib.find_images(args.data) if p.stem in labels]
    if not paths:
        raise UserError(f"no image under {args.data} has a label in {args.attributes}")
    crop = data_lib.prepared_and_model_crop(args.data, codec.config.crop)
    train_paths, val_paths = data_lib.split_paths(paths, args.data)
    if args.epochs:
        config = JudgeConfig(names=tuple(names), crop=crop)
        train = (train_paths, label_rows(train_paths, labels, len(names)) > 0)
        val = (val_paths, label_rows(val_paths, labels, len(names)) > 0)
        judge, _ = train_judge(config, train, val, args.epochs, args.batch_size, args.learning_rate,
                               cache_dir=args.runs_dir / ".cache", verbose=0 if args.json else 2)
    else:
        judge = Judge.load(args.out)
    missing = [n for n in judge.names if n not in names]
    if missing:
        raise UserError(f"{args.attributes} lacks the attribute(s) {', '.join(missing[:5])} the judge reads")
    columns = [names.index(n) for n in judge.names]
    report = data_lib.SkipReport()
    aucs = photo_and_reconstruction_auc(judge, codec, val_paths, {k: v[columns] for k, v in labels.items()}, crop,
                                        report)
    report.warn()
    judge.summary["val_auc"] = {
        "n_images": aucs["n_images"], "vae_weights": str(args.weights),
        "vae_images_seen": codec.summary.get("images_seen"),
        "mean_photos": _rounded([mean_auc(aucs["photos"])])[0],
        "mean_reconstructions": _rounded([mean_auc(aucs["reconstructions"])])[0],
        "photos": dict(zip(judge.names, _rounded(aucs["photos"]))),
        "reconstructions": dict(zip(judge.names, _rounded(aucs["reconstructions"]))),
    }
    judge.save(args.out)
    measured = judge.summary["val_auc"]
    if args.json:
        print(json.dumps({"out": str(args.out), **judge.summary}))
        return 0
    print(f"judge validation ROC AUC ({measured['n_images']} images; reconstructions through {args.weights}):")
    print(f"  {'attribute':<20} {'photos':>8} {'recon':>8} {'kept':>7}")
    rows = [(n, measured["photos"][n], measured["reconstructions"][n]) for n in judge.names]
    for name, photo, reconstruction in rows + [("mean", measured["mean_photos"], measured["mean_reconstructions"])]:
        if photo is None or reconstruction is None:
            print(f"  {name:<20} {'n/a':>8} {'n/a':>8}")
        else:
            print(f"  {name:<20} {photo:>8.4f} {reconstruction:>8.4f} {reconstruction - photo:>+7.3f}")
    print(f"wrote the judge to {args.out}")
    return 0


def cmd_evaluate_edits(args) -> int:
    if not args.raw:
        from latentlab.cli.edits import cmd_calibrated_edits

        return cmd_calibrated_edits(args)
    from latentlab import images as data_lib
    from latentlab.eval.judge import EDIT_AMOUNT, IDENTITY_ATTRIBUTES, Judge, edit_effects
    from latentlab.latent.directions import WEAK_EFFECT, AttributeDirections
    from latentlab.model.codec import Codec

    if args.save_effects and args.hold:
        raise UserError("--save-effects stores the effects of the plain directions: leave out --hold")
    judge = Judge.load(args.judge)
    codec = Codec.load(require_weights(args.weights), refine_steps=args.refine_steps)
    directions = AttributeDirections.load(args.directions, weights_fingerprint(args.weights), codec.latent_dim)
    paths = data_lib.select_split(data_lib.find_images(args.data), args.data, args.split)[: args.limit or EDIT_FACES]
    crop = args.crop or data_lib.prepared_and_model_crop(args.data, codec.config.crop)
    report = data_lib.SkipReport()
    latents = [codec.encode(images) for _, images in data_lib.iter_batches(paths, codec.image_size, crop, 64, report)]
    if not latents:
        raise UserError(f"none of the {len(paths)} image file(s) under {args.data} could be read")
    report.warn()

    def progress(done: int, total: int) -> None:
        print(f"\redited {done}/{total} attributes", end="\n" if done == total else "", file=sys.stderr, flush=True)

    rows = edit_effects(judge, codec, directions, np.concatenate(latents), args.hold, progress=progress)
    identity = [r["identity_leakage"] for r in rows if r["identity_leakage"] is not None]
    result = {
        "faces": int(sum(map(len, latents))), "split": args.split, "amount": EDIT_AMOUNT, "hold": args.hold,
        "mean_effect": round(float(np.mean([r["effect"] for r in rows])), 4),
        "mean_identity_leakage": round(float(np.mean(identity)), 4) if identity else None,
        "identity_attributes": list(IDENTITY_ATTRIBUTES), "rows": rows,
        "judge": str(args.judge), "weights": str(args.weights), "directions": str(args.directions),
    }
    if args.save_effects:
        directions.set_edit_effect([row["effect"] for row in rows], result["faces"])
        directions.save(args.directions)
        result["saved_effects"] = str(args.directions)
    if args.json:
        print(json.dumps(result))
        return 0
    held = f", holding {', '.join(args.hold)}" if args.hold else ""
    print(f"{result['faces']} faces moved from {-EDIT_AMOUNT:g} to {EDIT_AMOUNT:+g} sd along each direction{held}; "
          f"effect = mean p(+) - p(-) of the attribute, identity leakage = mean |change| of "
          f"{', '.join(IDENTITY_ATTRIBUTES)} (the edited one left out):")
    print(f"  {'attribute':<20} {'effect':>7} {'identity':>8}  top-3 leaks (mean |change|)")
    for row in rows:
        leaks = ", ".join(f"{name} {row['leakage'][name]:.2f}" for name in row["top_leaks"])
        identity_text = "n/a" if row["identity_leakage"] is None else f"{row['identity_leakage']:.3f}"
        print(f"  {row['attribute']:<20} {row['effect']:>+7.3f} {identity_text:>8}  {leaks}")
    mean_identity = "n/a" if result["mean_identity_leakage"] is None else f"{result['mean_identity_leakage']:.3f}"
    print(f"  {f'mean ({len(rows)})':<20} {result['mean_effect']:>+7.3f} {mean_identity:>8}")
    if args.save_effects:
        print(f"stored the effects in {args.directions}: the window marks directions below {WEAK_EFFECT} as weak")
    return 0
