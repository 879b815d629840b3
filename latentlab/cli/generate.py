"""`vae.py sample`, `mix`, `reconstruct` and `encode`: faces from the prior (one seed per face, as the window's
Randomize), A / B mixed by principal components, the model's version of images, a photo's latent. Their arguments
and their commands."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from latentlab.cli.common import add_refine_argument, add_weights_argument, sample_prior
from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.latent import explore
from latentlab.latent.prior import PRIORS
from latentlab.paths import DEFAULT_LATENTS, PROJECT_ROOT, ModelFiles


def add_parser(commands) -> None:
    """Register `sample`, `mix`, `reconstruct` and `encode` on the subparsers `commands`."""
    sample = commands.add_parser("sample", help="faces decoded from random latents: a grid and / or one PNG each")
    sample.set_defaults(run=cmd_sample)
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--out", type=Path, help="the grid PNG")
    sample.add_argument("--out-dir", type=Path, help="one PNG per face: sample_000.png, ...")
    sample.add_argument("--seed", type=int, metavar="S",
                        help="face i is the face of seed S + i, the same face the window's Randomize shows for that "
                             "seed, range (--temperature) and prior (default: a new seed, printed)")
    sample.add_argument("--prior", choices=PRIORS, default="fitted",
                        help="fitted: the Gaussian fitted to the dataset latents (--latents); normal: N(0, I)")
    sample.add_argument("--temperature", type=float, default=1.0,
                        help="scale of the draws around the prior's mean (1: the prior itself)")
    sample.add_argument("--cols", type=int)
    add_weights_argument(sample)
    sample.add_argument("--latents", type=Path, default=None,
                        help="dataset latents holding the fitted prior (default "
                             f"{DEFAULT_LATENTS.relative_to(PROJECT_ROOT)}; when that one is missing or made for "
                             "other weights, N(0, I) with a note)")

    mix = commands.add_parser("mix", help="A and B mixed by principal components: a row of faces over k, the first k "
                                          "components from A and the rest from B")
    mix.set_defaults(run=cmd_mix)
    mix.add_argument("--a", required=True, metavar="I|seed:S|FILE.npy",
                     help="face A: dataset image I, the face of seed S, or a saved latent")
    mix.add_argument("--b", required=True, metavar="I|seed:S|FILE.npy", help="face B, as --a")
    mix.add_argument("--out", type=Path, required=True, help="the grid PNG: k rises from left (k = 0: B) to right "
                                                             "(k = all: A)")
    mix.add_argument("--ks", metavar="K,K,...", help="the values of k (default: --steps values from 0 to the latent "
                                                    "size, spaced geometrically)")
    mix.add_argument("--steps", type=int, default=9, help="how many values of k without --ks (default 9)")
    mix.add_argument("--temperature", type=float, default=1.0, help="the range of seed faces (as the window's)")
    mix.add_argument("--prior", choices=PRIORS, default="fitted", help="the prior of seed faces")
    add_weights_argument(mix)
    mix.add_argument("--latents", type=Path, default=None,
                     help="dataset latents whose principal axes are mixed (default "
                          f"{DEFAULT_LATENTS.relative_to(PROJECT_ROOT)}; without them, the raw dimensions with a note)")

    reconstruct = commands.add_parser("reconstruct", help="the model's version of each image: one PNG per input")
    reconstruct.set_defaults(run=cmd_reconstruct)
    reconstruct.add_argument("--data", type=Path, required=True, metavar="DIR|PHOTO",
                             help="a folder of images (searched recursively) or one image file")
    reconstruct.add_argument("--out-dir", type=Path, required=True,
                             help="where the PNGs go (same relative path and stem as each input)")
    reconstruct.add_argument("--limit", type=int, help="only the first N images")
    reconstruct.add_argument("--align", action="store_true",
                             help="detect and align each photo's face first, as `encode` and the window do (for photos "
                                  "that are not CelebA-aligned; photos without a face are skipped and counted)")
    add_weights_argument(reconstruct)
    add_refine_argument(reconstruct)

    encode = commands.add_parser("encode", help="a photo's latent: detect and align the face, encode, nearest faces")
    encode.set_defaults(run=cmd_encode)
    encode.add_argument("photo", type=Path, metavar="PHOTO", help="any image file with a face")
    encode.add_argument("--out", type=Path, required=True, help="the latent (z_mean) as .npy of shape (latent_dim,)")
    encode.add_argument("--neighbours", type=int, default=5, metavar="K", help="dataset faces to list (0: none)")
    encode.add_argument("--no-align", action="store_true", help="encode the whole picture (the model's crop for "
                        "CelebA-sized images, else the centred square) instead of the detected, aligned face")
    encode.add_argument("--aligned-out", type=Path, metavar="PNG", help="write the aligned 178x218 face "
                        "(with --no-align: the model's input)")
    add_weights_argument(encode)
    add_refine_argument(encode)
    encode.add_argument("--latents", type=Path, default=None,
                        help="dataset latents for the neighbours "
                             f"(default {DEFAULT_LATENTS.relative_to(PROJECT_ROOT)})")


def cmd_sample(args) -> int:
    from latentlab.model.codec import Codec
    from latentlab.pictures import make_grid, save_png

    if args.n < 1:
        raise UserError("--n must be at least 1")
    if args.temperature < 0:
        raise UserError("--temperature must be 0 or more")
    if args.out is None and args.out_dir is None:
        raise UserError("say where the samples go: --out PNG (a grid), --out-dir DIR (one PNG each), or both")
    first = explore.check_seed(args.seed) if args.seed is not None else explore.new_seed(np.random.default_rng(),
                                                                                       args.n)
    seeds = explore.seed_range(first, args.n)
    codec = Codec.load(args.weights)
    prior, prior_name = sample_prior(args, codec.latent_dim)
    images = codec.decode(explore.seeded_latents(prior, seeds, args.temperature))
    seed_text = f"seed {first}" if args.n == 1 else f"seeds {first} to {seeds[-1]}"
    if args.out:
        save_png(args.out, make_grid(images, cols=args.cols))
        print(f"wrote a grid of {args.n} samples ({prior_name}, {seed_text}) to {args.out}")
    if args.out_dir:
        width = max(3, len(str(args.n - 1)))
        for i, image in enumerate(images):
            save_png(args.out_dir / f"sample_{i:0{width}d}.png", image)
        print(f"wrote {args.n} samples ({prior_name}, {seed_text}) to {args.out_dir}")
    return 0


def mix_face(spec: str, what: str, space, prior, temperature: float, latent_dim: int) -> np.ndarray:
    """The latent --a / --b names: a dataset image index, `seed:S`, or a .npy latent file; UserError otherwise."""
    from latentlab.latent.space import load_latent_file

    text = spec.strip()
    if text.lower().startswith("seed:"):
        try:
            seed = int(text[5:])
        except ValueError:
            raise UserError(f"{what} {spec!r}: write a seed as seed:S with S a whole number") from None
        return explore.seeded_latent(prior, seed, temperature)
    if text.lstrip("-").isdigit():
        if not space.has_dataset:
            raise UserError(f"{what} {spec}: a dataset image needs dataset latents ({space.note})")
        return space.latent(int(text))
    if text.lower().endswith(".npy"):
        return load_latent_file(Path(text), latent_dim)
    raise UserError(f"{what} {spec!r}: give a dataset image number, seed:S, or a .npy latent file")


def parse_ks(text: str | None, steps: int, latent_dim: int) -> list[int]:
    """The k values of `vae.py mix`: --ks as written (checked), else `explore.k_steps`."""
    if text is None:
        if steps < 2:
            raise UserError("--steps must be at least 2")
        return explore.k_steps(latent_dim, steps)
    try:
        ks = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise UserError(f"--ks {text!r}: write whole numbers separated by commas, e.g. 0,4,16,{latent_dim}") from None
    if not ks or any(not 0 <= k <= latent_dim for k in ks):
        raise UserError(f"--ks {text!r}: each k must be 0 to {latent_dim}")
    return ks


def cmd_mix(args) -> int:
    from latentlab.latent.space import LatentSpace
    from latentlab.model.codec import Codec
    from latentlab.pictures import make_grid, save_png

    if args.temperature < 0:
        raise UserError("--temperature must be 0 or more")
    codec = Codec.load(args.weights)
    sha = weights_fingerprint(args.weights)
    if args.latents is not None:
        space = LatentSpace.load(args.latents, codec.latent_dim, sha)
    else:
        space = LatentSpace.open(ModelFiles(args.weights).latents, codec.latent_dim, sha)
        if not space.has_dataset:
            print(f"note: mixing raw latent dimensions: {space.note}", file=sys.stderr)
    ks = parse_ks(args.ks, args.steps, codec.latent_dim)
    prior, _ = sample_prior(args, codec.latent_dim)
    a = mix_face(args.a, "--a", space, prior, args.temperature, codec.latent_dim)
    b = mix_face(args.b, "--b", space, prior, args.temperature, codec.latent_dim)
    images = codec.decode(explore.mix_series(space, a, b, ks))
    save_png(args.out, make_grid(images, cols=len(ks)))
    axes = "principal components" if space.has_dataset else "raw dimensions"
    print(f"wrote {len(ks)} mixes of A and B (the first k {axes} from A, k = {', '.join(map(str, ks))}) "
          f"to {args.out}")
    return 0


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
        space = LatentSpace.load(latents or ModelFiles(weights).latents, latent_dim, weights_fingerprint(weights))
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
