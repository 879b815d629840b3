"""`python vae.py SUBCOMMAND ...`: train (the default), distill, evaluate, sample, reconstruct, index, prepare,
attributes, manipulate, plot-latents, bench, encode, train-judge (in cli_judge, with evaluate --edits)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from latentlab.attributes import DEFAULT_ATTRIBUTES
from latentlab.cli_judge import cmd_evaluate_edits, cmd_train_judge
from latentlab.cli_parser import DEFAULT_DATA, SUBCOMMANDS, architecture_changes, build_parser
from latentlab.config import DEFAULT_LATENTS, ModelConfig, load_model_json, model_json_path, require_weights
from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.quiet import import_keras

CELEBA_HINT = (
    "get CelebA's aligned images (img_align_celeba, https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) "
    "into data/img_align_celeba, or point --data at any folder of images"
)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "train")
    args = build_parser().parse_args(argv)
    import_keras()
    try:
        return {"train": cmd_train, "distill": cmd_distill, "evaluate": cmd_evaluate, "sample": cmd_sample,
                "reconstruct": cmd_reconstruct, "index": cmd_index, "prepare": cmd_prepare,
                "attributes": cmd_attributes, "manipulate": cmd_manipulate, "plot-latents": cmd_plot_latents,
                "bench": cmd_bench, "encode": cmd_encode, "train-judge": cmd_train_judge}[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_train(args) -> int:
    from latentlab.distributed import start_strategy

    strategy, worker = start_strategy(args.strategy, args.cpu_devices, args.worker_timeout)  # before any TF op
    from latentlab import data as data_lib

    if args.init_from and not args.init_from.is_file():
        raise UserError(f"--init-from {args.init_from} not found")
    data_dir = args.data or DEFAULT_DATA
    if args.data is None and not DEFAULT_DATA.is_dir():
        raise UserError(f"no training data: {CELEBA_HINT}")
    paths = data_lib.find_images(data_dir)
    crop = args.crop or data_lib.default_crop(paths)
    base = load_model_json(model_json_path(args.init_from))[0] if args.init_from else ModelConfig(crop=crop)
    config = base.replace(
        image_size=args.image_size, latent_dim=args.latent_dim, loss=args.loss, beta=args.beta,
        beta_warmup_steps=args.beta_warmup_steps, learning_rate=args.learning_rate, batch_size=args.batch_size,
        crop=args.crop, **architecture_changes(args),
    )
    from latentlab.training import TrainOptions, train

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
    ).replace(batch_size=args.batch_size, learning_rate=args.learning_rate, **architecture_changes(args))
    from latentlab.distill import distill
    from latentlab.training import TrainOptions

    options = TrainOptions(data=args.data, out=args.out, epochs=args.epochs, name=args.name,
                           cache=not args.no_cache, limit=args.limit, runs_dir=args.runs_dir)
    print(json.dumps(distill(args.teacher, student_config, options)))
    return 0


def _load_codec(weights: Path):
    from latentlab.codec import Codec

    return Codec.load(require_weights(weights))


def _paths(data: Path, split: str = "all", limit: int | None = None) -> list[Path]:
    from latentlab import data as data_lib

    paths = data_lib.select_split(data_lib.find_images(data), data, split)
    return paths[:limit] if limit else paths


def cmd_evaluate(args) -> int:
    if args.edits:
        return cmd_evaluate_edits(args)
    from latentlab import data as data_lib
    from latentlab.imaging import comparison_grid, save_png
    from latentlab.metrics import mse_per_image, psnr
    from latentlab.quality import QualityMeter, load_face_recognizer

    if args.samples < 0:
        raise UserError("--samples must be 0 or more")
    paths = _paths(args.data, args.split, args.limit)
    codec = _load_codec(args.weights)
    crop = args.crop or data_lib.prepared_and_model_crop(args.data, codec.config.crop)
    labelled = _attribute_labels(args) if args.attributes else None
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
        prior, prior_name = _sample_prior(args, codec.latent_dim)
        samples = codec.sample(prior, args.samples, seed=0)[1]
    result = {
        "n_images": int(len(errors)), "skipped": len(report),
        "mse": round(float(errors.mean()), 6), "psnr": round(float(psnr(errors).mean()), 3),
        **meter.result(samples), "samples": 0 if samples is None else len(samples), "prior": prior_name,
        "split": args.split, "data": str(args.data), "weights": str(args.weights), "grid": str(args.grid),
    }
    if labelled is not None:
        result["attribute_auc"] = _attribute_auc(*labelled, kept, np.concatenate(latents))
        known = [v for v in result["attribute_auc"].values() if v is not None]
        result["attribute_auc_mean"] = round(float(np.mean(known)), 4) if known else None
    report.warn()
    if not args.json:
        print(f"{result['n_images']} images ({result['skipped']} skipped): MSE {result['mse']:.5f}, "
              f"PSNR {result['psnr']:.2f} dB; grid: {args.grid}")
        print(f"sharpness {result['sharpness']:.3f} (Laplacian variance, reconstruction / original, median), "
              f"checkerboard {result['checkerboard']:.3f} (8-, 4-, 2-pixel spectral peaks, reconstruction / original, "
              f"median)")
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


def cmd_sample(args) -> int:
    from latentlab.imaging import make_grid, save_png

    if args.n < 1:
        raise UserError("--n must be at least 1")
    if args.temperature < 0:
        raise UserError("--temperature must be 0 or more")
    if args.out is None and args.out_dir is None:
        raise UserError("say where the samples go: --out PNG (a grid), --out-dir DIR (one PNG each), or both")
    codec = _load_codec(args.weights)
    prior, prior_name = _sample_prior(args, codec.latent_dim)
    _, images = codec.sample(prior, args.n, args.temperature, args.seed)
    if args.out:
        save_png(args.out, make_grid(images, cols=args.cols))
        print(f"wrote a grid of {args.n} samples ({prior_name}) to {args.out}")
    if args.out_dir:
        width = max(3, len(str(args.n - 1)))
        for i, image in enumerate(images):
            save_png(args.out_dir / f"sample_{i:0{width}d}.png", image)
        print(f"wrote {args.n} samples ({prior_name}) to {args.out_dir}")
    return 0


def _sample_prior(args, latent_dim: int):
    """(prior, its name): N(0, I) for --prior normal, else the prior stored with (or fitted to) the dataset latents
    of these weights. A missing or mismatched default latents file is a note and N(0, I); a given --latents must fit."""
    from latentlab.latent_space import read_latents
    from latentlab.prior import GaussianPrior, standard_normal

    normal = (standard_normal(latent_dim), "N(0, I)")
    if args.prior == "normal":
        return normal
    path = args.latents or DEFAULT_LATENTS
    try:
        latents = read_latents(path, latent_dim, weights_fingerprint(args.weights))
    except UserError as exc:
        if args.latents is not None:
            raise
        print(f"note: sampling from N(0, I): {exc}", file=sys.stderr)
        return normal
    return GaussianPrior.from_arrays(latents), f"the Gaussian fitted to {path}"


def cmd_reconstruct(args) -> int:
    from latentlab import data as data_lib
    from latentlab.imaging import save_png

    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.out_dir.is_file():
        raise UserError(f"--out-dir {args.out_dir} is a file, not a folder")
    single = args.data.is_file()
    paths = [args.data] if single else data_lib.find_images(args.data)[: args.limit]
    codec = _load_codec(args.weights)
    crop = data_lib.prepared_and_model_crop(args.data, codec.config.crop)
    report = data_lib.SkipReport()
    written = 0
    for batch_paths, images in data_lib.iter_batches(paths, codec.image_size, crop, batch_size=64, report=report):
        for path, reconstruction in zip(batch_paths, codec.reconstruct(images)):
            relative = Path(path.name) if single else path.relative_to(args.data)
            save_png(args.out_dir / relative.with_suffix(".png"), reconstruction)
            written += 1
    if not written:
        raise UserError(f"none of the {len(paths)} image file(s) could be read: {report.message()}")
    if report:
        print(report.message(), file=sys.stderr)
    print(f"wrote {written} reconstructions ({codec.image_size} px, {crop} crop; {len(report)} skipped) "
          f"to {args.out_dir}")
    return 0


def read_attributes(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """CelebA's list_attr_celeba.txt -> (attribute names, {file stem: int8 labels of +1 / -1})."""
    if not path.is_file():
        raise UserError(f"attribute file {path} not found (CelebA's list_attr_celeba.txt)")
    lines = path.read_text().splitlines()
    try:
        names = lines[1].split()
        labels = {}
        for line in lines[2:]:
            parts = line.split()
            if len(parts) == len(names) + 1:
                labels[Path(parts[0]).stem] = np.array(parts[1:], dtype=np.int8)
    except (IndexError, ValueError):
        raise UserError(f"{path} is not in CelebA's list_attr_celeba.txt format") from None
    if not labels:
        raise UserError(f"{path} holds no attribute rows in CelebA's format")
    return names, labels


def cmd_index(args) -> int:
    from latentlab import data as data_lib
    from latentlab.latent_space import write_latents
    from latentlab.model import kl_per_dimension

    paths = _paths(args.data, "all", args.limit)
    attribute_names, labels = read_attributes(args.attributes) if args.attributes else ([], {})
    codec = _load_codec(args.weights)
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
        _fit_and_save_directions(arrays, args.directions_out or args.out.with_name(DEFAULT_ATTRIBUTES.name))
    return 0


def cmd_prepare(args) -> int:
    from latentlab import data as data_lib

    paths = data_lib.find_images(args.data)
    crop = args.crop or data_lib.default_crop(paths)
    report = data_lib.SkipReport()
    written = data_lib.prepare_folder(args.data, args.out, args.image_size, crop, args.quality, report)
    report.warn()
    print(f"wrote {written} images ({crop} crop, {args.image_size} px) to {args.out}")
    return 0


def _attribute_labels(args):
    """(directions checked against the weights, attribute names of the label file, {stem: labels})."""
    from latentlab.attributes import AttributeDirections

    weights_sha = weights_fingerprint(args.weights)
    directions = AttributeDirections.load(args.directions, weights_sha)
    file_names, labels = read_attributes(args.attributes)
    missing = [n for n in directions.names if n not in file_names]
    if missing:
        raise UserError(f"{args.attributes} lacks the attribute(s) {', '.join(missing[:5])} of {args.directions}")
    return directions, file_names, labels


def _attribute_auc(directions, file_names, labels, paths, z) -> dict:
    """{attribute: ROC AUC of the images' projection on its direction against its labels} (None: one class only)."""
    from latentlab.attributes import auc_per_attribute

    unknown = np.zeros(len(file_names), np.int8)
    rows = np.stack([labels.get(Path(p).stem, unknown) for p in paths])
    columns = [file_names.index(name) for name in directions.names]
    aucs = auc_per_attribute(directions.scores(z), rows[:, columns])
    return {name: (None if np.isnan(a) else round(float(a), 4)) for name, a in zip(directions.names, aucs)}


def _fit_and_save_directions(latents: dict, out: Path, method: str = "auto", split_root: Path | None = None,
                             quiet: bool = False) -> dict:
    """Fit the attribute directions of a latents file's arrays, write them to `out`, print the AUC table."""
    from latentlab.attributes import fit_from_latents

    directions, report = fit_from_latents(latents, method, str(split_root) if split_root else None)
    directions.save(out)
    report["out"] = str(out)
    if not quiet:
        aucs = report["auc"]
        print(f"validation ROC AUC ({report['split']} split, {report['n_train']} train / {report['n_val']} val):")
        print(f"  {'attribute':<20} {'logistic':>9} {'mean_diff':>9}")
        rows = [(name, aucs["logistic"][name], aucs["mean_diff"][name]) for name in directions.names]
        rows.append(("mean", report["mean_auc"]["logistic"], report["mean_auc"]["mean_diff"]))
        for name, *values in rows:
            print(f"  {name:<20} " + " ".join("      n/a" if v is None else f"{v:>9.4f}" for v in values))
        print(f"kept {report['method']}: wrote {len(directions.names)} directions to {out}")
    return report


def cmd_attributes(args) -> int:
    from latentlab.latent_space import read_latents

    report = _fit_and_save_directions(read_latents(args.latents), args.out, args.method, args.data, quiet=args.json)
    if args.json:
        print(json.dumps(report))
    return 0


def _manipulate_latents(args, codec, weights_sha: str) -> np.ndarray:
    """The latents of the grid's rows: --photo encoded, --index rows, or --n seeded validation faces."""
    from latentlab import data as data_lib
    from latentlab.attributes import split_mask
    from latentlab.latent_space import read_latents

    if args.photo:
        faces = []
        for path in args.photo:
            try:
                faces.append(codec.preprocess(data_lib.open_image(path)))
            except (data_lib.UnreadableImage, FileNotFoundError) as exc:
                raise UserError(f"cannot read photo {path}: {exc}") from None
        return codec.encode(np.stack(faces))
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
    return z_all[rows].astype(np.float32)


def cmd_manipulate(args) -> int:
    from latentlab.attributes import AttributeDirections
    from latentlab.imaging import make_grid, save_png

    if args.steps < 2 or args.range <= 0:
        raise UserError("--steps must be at least 2 and --range positive")
    codec = _load_codec(args.weights)
    weights_sha = weights_fingerprint(args.weights)
    directions = AttributeDirections.load(args.directions, weights_sha)
    if directions.latent_dim != codec.latent_dim:
        raise UserError(f"{args.directions} holds {directions.latent_dim}-dimensional directions, "
                        f"the model's latent size is {codec.latent_dim}")
    directions.direction(args.attr, args.hold)
    z = _manipulate_latents(args, codec, weights_sha)
    amounts = np.linspace(-args.range, args.range, args.steps)
    moved = directions.edit(z, args.attr, amounts, args.hold).transpose(1, 0, 2)
    images = codec.decode(moved.reshape(-1, codec.latent_dim))
    save_png(args.out, make_grid(images, cols=args.steps))
    held = f", holding {', '.join(args.hold)}" if args.hold else ""
    print(f"wrote {len(z)} x {args.steps} grid ({directions.names[directions.index(args.attr)]} "
          f"from {-args.range:g} to {args.range:g} sd{held}) to {args.out}")
    return 0


def cmd_plot_latents(args) -> int:
    from latentlab.latent_space import load_latent_file, read_latents
    from latentlab.plots import active_dimensions, save_latent_distribution

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


def cmd_bench(args) -> int:
    from latentlab.bench import KEYS, run_bench

    if args.repeats < 10 or args.train_steps < 1:
        raise UserError("--repeats must be at least 10 and --train-steps at least 1")
    result = run_bench(args.weights, args.repeats, args.train_steps, log=print)
    if args.json:
        print(json.dumps(result))
    else:
        for key in KEYS:
            print(f"{key:<16} {result.get(key, 'skipped')}")
    return 0


def cmd_encode(args) -> int:
    from latentlab.data import UnreadableImage, open_image
    from latentlab.faces import NoFaceFound, encode_photo
    from latentlab.imaging import save_png
    from latentlab.latent_space import save_latent_file

    if args.neighbours < 0:
        raise UserError("--neighbours must be 0 or more")
    try:
        rgb = open_image(args.photo)
    except UnreadableImage as exc:
        raise UserError(f"cannot read {args.photo}: {exc}") from None
    codec = _load_codec(args.weights)
    try:
        encoded = encode_photo(codec, rgb, align=not args.no_align)
    except NoFaceFound:
        print(f"no face found in {args.photo}; use --no-align to encode the whole image", file=sys.stderr)
        return 2
    save_latent_file(args.out, encoded.z)
    if encoded.face is not None:
        x1, y1, x2, y2 = encoded.face.box
        print(f"face: {x2 - x1:.0f}x{y2 - y1:.0f} px at ({x1:.0f}, {y1:.0f}), confidence {encoded.face.confidence:.3f}")
    if encoded.crop_note():
        print(encoded.crop_note())
    if args.aligned_out:
        save_png(args.aligned_out, encoded.aligned if encoded.aligned is not None else encoded.model_input)
        print(f"wrote the {'aligned face' if encoded.aligned is not None else 'model input'} to {args.aligned_out}")
    print(f"wrote the latent (z_mean, {encoded.z.size} values) to {args.out}")
    if args.neighbours:
        _print_neighbours(encoded.z, args.neighbours, args.latents, args.weights, codec.latent_dim)
    return 0


def _print_neighbours(z: np.ndarray, k: int, latents: Path | None, weights: Path, latent_dim: int) -> None:
    """List the k dataset latents nearest to z; a missing default latents file is a note, not an error."""
    from latentlab.latent_space import LatentSpace

    try:
        space = LatentSpace.load(latents or DEFAULT_LATENTS, latent_dim, weights_fingerprint(weights))
    except UserError as exc:
        if latents is not None:
            raise
        print(f"note: no nearest faces: {exc}", file=sys.stderr)
        return
    indices, distances = space.nearest(z, k)
    print(f"{len(indices)} nearest dataset images (Euclidean distance between z_mean vectors):")
    width = max(len(space.names[i]) for i in indices)
    for rank, (index, distance) in enumerate(zip(indices, distances), 1):
        print(f"{rank:3d}. {space.names[index]:<{width}}  #{index:<6d} distance {distance:.3f}")
