"""The latent-semantics subcommands of `vae.py`: index (dataset latents + directions), attributes (fit the
directions), manipulate (edit grids), plot-latents (the distribution figure). Their arguments and their commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from latentlab.cli.common import add_json_argument, add_refine_argument, add_weights_argument
from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.latent.directions import DIRECTION_METHODS, read_celeba_attributes
from latentlab.paths import DEFAULT_ATTRIBUTES, DEFAULT_JUDGE, DEFAULT_LATENTS


def _direction_method_arguments(parser: argparse.ArgumentParser) -> None:
    """--method and --judge of the commands that fit attribute directions."""
    parser.add_argument("--method", choices=DIRECTION_METHODS, default="auto",
                        help="auto: the label fit (logistic or mean_diff) with the higher mean validation AUC; "
                             "judged: fitted on the model's decoded faces as --judge reads them, decorrelated from "
                             "Male, Young, Pale_Skin, Eyeglasses and Smiling (how data/attributes.npz is made)")
    parser.add_argument("--judge", type=Path, default=DEFAULT_JUDGE, help="with --method judged: the attribute judge")


def add_parser(commands) -> None:
    """Register `index`, `attributes`, `manipulate` and `plot-latents` on the subparsers `commands`."""
    index = commands.add_parser("index", help="encode every image of a folder into data/latents.npz")
    index.set_defaults(run=cmd_index)
    index.add_argument("--data", type=Path, required=True)
    index.add_argument("--attributes", type=Path, help="CelebA list_attr_celeba.txt (labels stored beside the latents)")
    add_weights_argument(index)
    add_refine_argument(index)
    index.add_argument("--out", type=Path, default=DEFAULT_LATENTS)
    index.add_argument("--limit", type=int)
    index.add_argument("--directions-out", type=Path,
                       help="with --attributes: where the fitted attribute directions go "
                            "(default: attributes.npz beside --out, so data/attributes.npz)")
    _direction_method_arguments(index)
    index.add_argument("--no-atlas", action="store_true",
                       help="skip the map of the latents (the Atlas; add it later with `vae.py atlas`)")

    attributes = commands.add_parser("attributes", help="fit the 40 attribute directions from a latents file")
    attributes.set_defaults(run=cmd_attributes)
    attributes.add_argument("--latents", type=Path, default=DEFAULT_LATENTS, help="written by `index --attributes`")
    attributes.add_argument("--out", type=Path, default=DEFAULT_ATTRIBUTES)
    add_weights_argument(attributes, help="with --method judged: the model whose decoded faces the judge reads")
    _direction_method_arguments(attributes)
    attributes.add_argument("--data", type=Path, help="image folder whose list_eval_partition.txt splits train / val "
                            "(default: the folder the latents were indexed from)")
    add_json_argument(attributes)

    manipulate = commands.add_parser("manipulate", help="a grid of faces moved along an attribute direction")
    manipulate.set_defaults(run=cmd_manipulate)
    manipulate.add_argument("--attr", required=True, help="attribute name, e.g. Smiling")
    faces = manipulate.add_mutually_exclusive_group()
    faces.add_argument("--index", type=int, nargs="+", help="rows of the latents file (default: --n validation faces)")
    faces.add_argument("--photo", type=Path, nargs="+", help="photos (cropped with the model's crop)")
    manipulate.add_argument("--n", type=int, default=4, help="number of validation faces when no --index / --photo")
    manipulate.add_argument("--steps", type=int, default=7, help="columns, from negative to positive strength")
    manipulate.add_argument("--range", type=float, default=3.0,
                            help="largest strength, in slider units as the Attributes panel's sliders (their ends are "
                                 "+-3; each end stands for the attribute's range, stored in --directions)")
    manipulate.add_argument("--hold", nargs="+", default=[], metavar="ATTR", help="attributes to hold fixed")
    manipulate.add_argument("--keep-identity", choices=("on", "off"), default="on",
                            help="as the panel's Keep identity: on, the shipped (judged) directions; off, the "
                                 "label-fitted ones")
    manipulate.add_argument("--seed", type=int, default=0, help="which validation faces")
    manipulate.add_argument("--out", type=Path, help="the grid PNG (rows: faces, columns: strengths)")
    manipulate.add_argument("--out-dir", type=Path,
                            help="also (or instead) one PNG per face and strength: <photo stem>_<strength>.png, "
                                 "e.g. 000123_+3.0.png")
    add_weights_argument(manipulate)
    add_refine_argument(manipulate)
    manipulate.add_argument("--latents", type=Path, default=DEFAULT_LATENTS)
    manipulate.add_argument("--directions", type=Path, default=DEFAULT_ATTRIBUTES)

    plot = commands.add_parser("plot-latents", help="the latent distribution figure: histograms, KL per dimension")
    plot.set_defaults(run=cmd_plot_latents)
    plot.add_argument("--out", type=Path, required=True)
    plot.add_argument("--latents", type=Path, default=DEFAULT_LATENTS)
    marked = plot.add_mutually_exclusive_group()
    marked.add_argument("--latent", type=Path, help="a latent (.npy of shape (D,)) to mark on the histograms")
    marked.add_argument("--index", type=int, help="mark this row of the latents file on the histograms")
    plot.add_argument("--dims", type=lambda s: [int(d) for d in s.split(",")], help="dimensions to plot, e.g. 0,5,9")


def cmd_index(args) -> int:
    from latentlab import images as data_lib
    from latentlab.latent.space import write_latents
    from latentlab.model.codec import Codec
    from latentlab.model.vae import kl_per_dimension

    paths = data_lib.find_split(args.data, "all", args.limit)
    attribute_names, labels = read_celeba_attributes(args.attributes) if args.attributes else ([], {})
    codec = Codec.load(args.weights, refine_steps=args.refine_steps)
    crop = data_lib.prepared_and_model_crop(args.data, codec.config.crop)
    report = data_lib.SkipReport()
    names, means, kl_sum = [], [], np.zeros(codec.latent_dim, np.float64)
    for batch_paths, images in data_lib.iter_batches(paths, codec.image_size, crop, batch_size=128, report=report):
        z_mean, z_log_var = codec.encode_distribution(images)
        kl_sum += np.asarray(kl_per_dimension(z_mean, z_log_var)).sum(axis=0)
        names.extend(str(p.relative_to(args.data)) for p in batch_paths)
        means.append(z_mean)
        print(f"\rindexed {len(names)}/{len(paths)}", end="", flush=True)
    print()
    if not names:
        raise UserError(f"none of the {len(paths)} image file(s) under {args.data} could be read")
    missing = np.zeros(len(attribute_names), np.int8)
    arrays = write_latents(
        args.out, names, np.concatenate(means), kl_sum / len(names), image_size=codec.image_size, crop=crop,
        weights_sha=weights_fingerprint(args.weights), data_root=str(args.data), attribute_names=attribute_names,
        attributes=np.stack([labels.get(Path(n).stem, missing) for n in names]) if attribute_names else None)
    report.warn()
    print(f"wrote {len(names)} latents ({len(report)} skipped) to {args.out}")
    if attribute_names:
        _fit_and_save_directions(arrays, args.directions_out or args.out.with_name(DEFAULT_ATTRIBUTES.name), args)
    if not args.no_atlas and len(names) >= 3:  # the Atlas's map (latent/atlas.py), after the directions it uses
        from latentlab.latent.atlas import add_map

        add_map(args.out, str(arrays["weights_sha"]))
        print(f"added the map of the {len(names)} latents (the Atlas) to {args.out}")
    return 0


def attribute_labels(args):
    """(directions checked against the weights, attribute names of the label file, {stem: labels})."""
    from latentlab.latent.directions import AttributeDirections

    weights_sha = weights_fingerprint(args.weights)
    directions = AttributeDirections.load(args.directions, weights_sha)
    file_names, labels = read_celeba_attributes(args.attributes)
    missing = [n for n in directions.names if n not in file_names]
    if missing:
        raise UserError(f"{args.attributes} lacks the attribute(s) {', '.join(missing[:5])} of {args.directions}")
    return directions, file_names, labels


def attribute_auc(directions, file_names, labels, paths, z) -> dict:
    """{attribute: ROC AUC of the images' projection on its direction against its labels} (None: one class only)."""
    from latentlab.latent.directions import auc_per_attribute

    unknown = np.zeros(len(file_names), np.int8)
    rows = np.stack([labels.get(Path(p).stem, unknown) for p in paths])
    columns = [file_names.index(name) for name in directions.names]
    aucs = auc_per_attribute(directions.scores(z), rows[:, columns])
    return {name: (None if np.isnan(a) else round(float(a), 4)) for name, a in zip(directions.names, aucs)}


def _fit_and_save_directions(latents: dict, out: Path, args, quiet: bool = False) -> dict:
    """Fit the attribute directions of a latents file's arrays by `args.method`, write them to `out`, print the AUC
    table."""
    from latentlab.latent.directions import fit_from_latents

    split_root = str(args.data) if getattr(args, "data", None) else None
    if args.method == "judged":
        directions, report = _judged_directions(latents, args.weights, args.judge, split_root)
    else:
        directions, report = fit_from_latents(latents, args.method, split_root)
    directions.save(out)
    report["out"] = str(out)
    if not quiet:
        aucs = report["auc"]
        methods = list(aucs)
        print(f"validation ROC AUC ({report['split']} split, {report['n_train']} train / {report['n_val']} val):")
        print(f"  {'attribute':<20} " + " ".join(f"{m:>9}" for m in methods))
        rows = [(name, *(aucs[m][name] for m in methods)) for name in directions.names]
        rows.append(("mean", *(report["mean_auc"][m] for m in methods)))
        for name, *values in rows:
            print(f"  {name:<20} " + " ".join("      n/a" if v is None else f"{v:>9.4f}" for v in values))
        print(f"kept {report['method']}: wrote {len(directions.names)} directions to {out}")
    return report


def _judged_directions(latents: dict, weights: Path, judge_path: Path, split_root: str | None):
    """(directions, report) of latentlab.latent.judged_directions for a latents file made with `weights`."""
    from latentlab.eval.judge import Judge
    from latentlab.latent.directions import fit_from_latents, mean_auc, split_mask
    from latentlab.latent.judged_directions import fit_judged_directions
    from latentlab.model.codec import Codec

    weights_sha = weights_fingerprint(weights)
    if str(latents.get("weights_sha", "")) not in ("", weights_sha):
        raise UserError(f"the latents were made with other weights than {weights}: pass the model's --weights")
    if "attributes" not in latents:
        raise UserError("the latents file holds no attribute labels: run `vae.py index --data DIR --attributes "
                        "list_attr_celeba.txt`")
    names = [str(n) for n in latents["names"]]
    train, val, how = split_mask(names, split_root or (str(latents["data_root"]) if "data_root" in latents else None))
    labels = latents["attributes"]
    labelled = (labels != 0).any(axis=1)
    directions, report = fit_judged_directions(
        Judge.load(judge_path), Codec.load(weights), latents["z_mean"], train & labelled, val & labelled, labels,
        [str(n) for n in latents["attribute_names"]], weights_sha)
    directions.extra["split"] = how
    directions.keep_label_directions(fit_from_latents(latents, "auto", split_root)[0])
    mean = mean_auc(directions.val_auc)
    report.update(split=how, auc={"judged": report["auc"]},
                  mean_auc={"judged": None if np.isnan(mean) else round(mean, 4)})
    return directions, report


def cmd_attributes(args) -> int:
    from latentlab.latent.space import read_latents

    report = _fit_and_save_directions(read_latents(args.latents), args.out, args, quiet=args.json)
    if args.json:
        print(json.dumps(report))
    return 0


def _manipulate_latents(args, codec, weights_sha: str) -> tuple[np.ndarray, list[str]]:
    """(latents, stems) of the grid's rows: --photo encoded, --index rows, or --n seeded validation faces."""
    from latentlab import images as data_lib
    from latentlab.latent.directions import split_mask
    from latentlab.latent.space import read_latents

    if args.photo:
        faces = []
        for path in args.photo:
            try:
                faces.append(codec.preprocess(data_lib.open_image(path)))
            except (data_lib.UnreadableImage, FileNotFoundError) as exc:
                raise UserError(f"cannot read photo {path}: {exc}") from None
        return codec.encode(np.stack(faces)), [Path(p).stem for p in args.photo]
    latents = read_latents(args.latents, codec.latent_dim, weights_sha)
    z_all = latents["z_mean"]
    if args.index:
        bad = [i for i in args.index if not 0 <= i < len(z_all)]
        if bad:
            raise UserError(f"--index {bad[0]} is out of range: the latents file holds {len(z_all)} faces")
        rows = np.array(args.index)
    else:
        if args.n < 1:
            raise UserError("--n must be at least 1")
        names = [str(n) for n in latents["names"]]
        _, val, _ = split_mask(names, str(latents["data_root"]) if "data_root" in latents else None)
        candidates = np.flatnonzero(val)
        rows = np.sort(np.random.default_rng(args.seed).choice(candidates, min(args.n, len(candidates)), replace=False))
    names = [Path(str(latents["names"][i])).stem for i in rows]
    return z_all[rows].astype(np.float32), names


def cmd_manipulate(args) -> int:
    from latentlab.latent.directions import AttributeDirections
    from latentlab.latent.edits import slider_edit
    from latentlab.model.codec import Codec
    from latentlab.pictures import make_grid, save_png

    if args.steps < 2 or args.range <= 0:
        raise UserError("--steps must be at least 2 and --range positive")
    if args.out is None and args.out_dir is None:
        raise UserError("give --out (a grid PNG), --out-dir (one PNG per face and strength) or both")
    codec = Codec.load(args.weights, refine_steps=args.refine_steps)
    weights_sha = weights_fingerprint(args.weights)
    directions = AttributeDirections.load(args.directions, weights_sha)
    if directions.latent_dim != codec.latent_dim:
        raise UserError(f"{args.directions} holds {directions.latent_dim}-dimensional directions, "
                        f"the model's latent size is {codec.latent_dim}")
    if args.keep_identity == "off":
        directions = directions.label_fitted()
        if directions is None:
            raise UserError(f"{args.directions} holds no label-fitted directions for --keep-identity off")
    directions.direction(args.attr, args.hold)
    index = directions.index(args.attr)
    held = [directions.index(name) for name in args.hold]
    z, stems = _manipulate_latents(args, codec, weights_sha)
    strengths = np.linspace(-args.range, args.range, args.steps)
    moved = np.stack([slider_edit(directions, z, index, s, held) for s in strengths], axis=1)  # the panel's move
    images = codec.decode(moved.reshape(-1, codec.latent_dim))
    holding = f", holding {', '.join(args.hold)}" if args.hold else ""
    what = f"{directions.names[index]} from {-args.range:g} to {args.range:+g}{holding}"
    if args.out is not None:
        save_png(args.out, make_grid(images, cols=args.steps))
        print(f"wrote {len(z)} x {args.steps} grid ({what}) to {args.out}")
    if args.out_dir is not None:
        files = [f"{stem}_{strength:+.1f}.png" for stem in stems for strength in strengths]
        if len(set(files)) < len(files):
            raise UserError("two faces or strengths would write the same file: give photos with different names, "
                            "or fewer --steps")
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for name, image in zip(files, images):
            save_png(args.out_dir / name, image)
        print(f"wrote {len(files)} PNGs ({what}) to {args.out_dir}")
    return 0


def cmd_plot_latents(args) -> int:
    from latentlab.latent.distribution_plot import active_dimensions, save_latent_distribution
    from latentlab.latent.space import load_latent_file, read_latents

    latents = read_latents(args.latents)
    z = latents["z_mean"].astype(np.float32)
    kl = latents["kl_per_dim"] if "kl_per_dim" in latents else np.full(z.shape[1], np.nan)
    current = None
    if args.latent:
        current = load_latent_file(args.latent, z.shape[1])
    if args.index is not None:
        if not 0 <= args.index < len(z):
            raise UserError(f"--index {args.index} is out of range: the latents file holds {len(z)} faces")
        current = z[args.index]
    if args.dims and not all(0 <= d < z.shape[1] for d in args.dims):
        raise UserError(f"--dims must lie in 0..{z.shape[1] - 1}")
    save_latent_distribution(args.out, z, kl, current, args.dims)
    print(f"wrote {args.out}: {active_dimensions(kl)} of {z.shape[1]} dimensions active (KL > 0.01 nats)")
    return 0
