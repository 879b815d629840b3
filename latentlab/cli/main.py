"""`python vae.py SUBCOMMAND ...`: train (the default), distill, evaluate, sample, reconstruct, index, prepare,
attributes, manipulate, plot-latents, bench, encode, train-judge (in cli_judge, with evaluate --edits)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from latentlab.cli.judge import cmd_evaluate_edits, cmd_train_judge
from latentlab.cli.parser import DEFAULT_DATA, SUBCOMMANDS, architecture_changes, build_parser
from latentlab.cli.semantics import (
    attribute_auc,
    attribute_labels,
    cmd_attributes,
    cmd_index,
    cmd_manipulate,
    cmd_plot_latents,
)
from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.model.config import ModelConfig, load_model_json
from latentlab.paths import DEFAULT_LATENTS, model_json_path
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
    config = base.replace(
        image_size=args.image_size, latent_dim=args.latent_dim, loss=args.loss, beta=args.beta,
        beta_warmup_steps=args.beta_warmup_steps, learning_rate=args.learning_rate, batch_size=args.batch_size,
        crop=args.crop, perceptual_weight=args.perceptual_weight, perceptual_net=args.perceptual_net,
        spectral_weight=args.spectral_weight, adversarial_weight=args.adversarial_weight,
        feature_matching_weight=args.feature_matching_weight, discriminator_warmup_steps=args.discriminator_warmup_steps,
        freeze_encoder=None if args.freeze_encoder is None else args.freeze_encoder == "on",
        freeze_decoder_base=None if args.freeze_decoder_base is None else args.freeze_decoder_base == "on",
        **architecture_changes(args),
    )
    if config.perceptual_weight:  # before the images are read and cached
        from latentlab.train.terms.perceptual import require_network

        require_network(config.perceptual_path)
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
    ).replace(batch_size=args.batch_size, learning_rate=args.learning_rate, **architecture_changes(args))
    from latentlab.train.distill import distill
    from latentlab.train.loop import TrainOptions

    options = TrainOptions(data=args.data, out=args.out, epochs=args.epochs, name=args.name,
                           cache=not args.no_cache, limit=args.limit, runs_dir=args.runs_dir)
    print(json.dumps(distill(args.teacher, student_config, options, args.decoder_target)))
    return 0


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
        prior, prior_name = _sample_prior(args, codec.latent_dim)
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


def cmd_sample(args) -> int:
    from latentlab.model.codec import Codec
    from latentlab.pictures import make_grid, save_png

    if args.n < 1:
        raise UserError("--n must be at least 1")
    if args.temperature < 0:
        raise UserError("--temperature must be 0 or more")
    if args.out is None and args.out_dir is None:
        raise UserError("say where the samples go: --out PNG (a grid), --out-dir DIR (one PNG each), or both")
    codec = Codec.load(args.weights)
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
    from latentlab.latent.prior import GaussianPrior, standard_normal
    from latentlab.latent.space import read_latents

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
    from latentlab import images as data_lib
    from latentlab.model.codec import Codec
    from latentlab.pictures import save_png

    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.out_dir.is_file():
        raise UserError(f"--out-dir {args.out_dir} is a file, not a folder")
    single = args.data.is_file()
    paths = [args.data] if single else data_lib.find_images(args.data)[: args.limit]
    codec = Codec.load(args.weights, refine_steps=args.refine_steps)
    if args.align:
        report = data_lib.SkipReport(what="image(s), unreadable or without a face")
        reconstructions, made_how = _aligned_reconstructions(codec, paths, report), "aligned faces"
    else:
        report = data_lib.SkipReport()
        crop = data_lib.prepared_and_model_crop(args.data, codec.config.crop)
        batches = data_lib.iter_batches(paths, codec.image_size, crop, batch_size=64, report=report)
        reconstructions = ((path, reconstruction) for batch_paths, images in batches
                           for path, reconstruction in zip(batch_paths, codec.reconstruct(images)))
        made_how = f"{crop} crop"
    written = 0
    for path, reconstruction in reconstructions:
        relative = Path(path.name) if single else path.relative_to(args.data)
        save_png(args.out_dir / relative.with_suffix(".png"), reconstruction)
        written += 1
    if not written:
        raise UserError(f"none of the {len(paths)} image file(s) could be used: {report.message()}")
    if report:
        print(report.message(), file=sys.stderr)
    print(f"wrote {written} reconstructions ({codec.image_size} px, {made_how}; {len(report)} skipped) "
          f"to {args.out_dir}")
    return 0


def _aligned_reconstructions(codec, paths, report):
    """(path, reconstruction) of each photo's largest face, aligned as `encode` aligns it; unreadable photos and
    photos without a face go to `report`."""
    from latentlab.faces.align import NoFaceFound, encode_photo
    from latentlab.images import UnreadableImage, open_image

    for path in paths:
        try:
            yield path, codec.decode(encode_photo(codec, open_image(path)).z)
        except UnreadableImage as exc:
            report.add(path, str(exc))
        except NoFaceFound:
            report.add(path, "no face found")


def cmd_prepare(args) -> int:
    from latentlab import images as data_lib

    paths = data_lib.find_images(args.data)
    crop = args.crop or data_lib.default_crop(paths)
    report = data_lib.SkipReport()
    written = data_lib.prepare_folder(args.data, args.out, args.image_size, crop, args.quality, report)
    report.warn()
    print(f"wrote {written} images ({crop} crop, {args.image_size} px) to {args.out}")
    return 0


def cmd_bench(args) -> int:
    from latentlab.eval.bench import KEYS, run_bench

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
    from latentlab.faces.align import NoFaceFound, encode_photo
    from latentlab.images import UnreadableImage, open_image
    from latentlab.latent.space import save_latent_file
    from latentlab.model.codec import Codec
    from latentlab.pictures import save_png

    if args.neighbours < 0:
        raise UserError("--neighbours must be 0 or more")
    try:
        rgb = open_image(args.photo)
    except UnreadableImage as exc:
        raise UserError(f"cannot read {args.photo}: {exc}") from None
    codec = Codec.load(args.weights, refine_steps=args.refine_steps)
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
    from latentlab.latent.space import LatentSpace

    try:
        space = LatentSpace.load(latents or DEFAULT_LATENTS, latent_dim, weights_fingerprint(weights))
    except UserError as exc:
        if latents is not None:
            raise
        print(f"note: no nearest faces: {exc}", file=sys.stderr)
        return
    indices, distances = space.nearest(z, k)
    print(f"{len(indices)} nearest dataset images (nearest by {space.metric_label}):")
    width = max(len(space.names[i]) for i in indices)
    for rank, (index, distance) in enumerate(zip(indices, distances), 1):
        print(f"{rank:3d}. {space.names[index]:<{width}}  #{index:<6d} distance {distance:.3f}")
