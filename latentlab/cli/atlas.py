"""`vae.py atlas`: the map of the dataset latents (latent/atlas.py): compute it into a latents file (in place,
atomically, when missing or with --refit), draw it coloured by a label (--out), as a mosaic of decoded faces
(--mosaic), and report its quality (--json). Computing the map also stores the attribute judge's reading of each
decoded dataset face (when the model and its judge are there); --judge-readings adds them to a file that holds a map,
without refitting it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from latentlab.cli.common import add_json_argument, add_weights_argument
from latentlab.errors import UserError
from latentlab.files import atomic_path, weights_fingerprint
from latentlab.paths import DEFAULT_LATENTS, shown

MOSAIC_CELLS = 14
MOSAIC_THUMB = 48


def add_parser(commands) -> None:
    """Register `atlas` on the subparsers `commands`."""
    atlas = commands.add_parser("atlas", help="the map of the dataset latents: compute it, draw it, its quality")
    atlas.set_defaults(run=cmd_atlas)
    atlas.add_argument("--latents", type=Path, default=DEFAULT_LATENTS,
                       help="the latents file (its map is computed and written into it when it has none)")
    add_weights_argument(atlas, help="the model the latents were indexed with (checked by fingerprint; decodes the "
                                     "mosaic)")
    atlas.add_argument("--refit", action="store_true", help="compute the map again even when the file holds one")
    atlas.add_argument("--judge-readings", action="store_true",
                       help="decode every dataset latent, let the attribute judge read each face, and store its "
                            "probabilities in the latents file (the map is kept; colour by 'judge: ATTRIBUTE')")
    atlas.add_argument("--seed", type=int, default=0, help="UMAP's seed (the shipped map uses 0)")
    atlas.add_argument("--out", type=Path, help="a PNG of the map, every face a point")
    atlas.add_argument("--color-by", default="plain",
                       help="a CelebA label (Male, Smiling, ...), 'PC 1' .. 'PC 5', 'score: ATTRIBUTE', "
                            "'judge: ATTRIBUTE' (when the file holds the judge's readings), or plain")
    atlas.add_argument("--mosaic", type=Path, help="a PNG of the map as decoded faces: in each cell of a grid, the "
                                                   "face nearest its centre")
    atlas.add_argument("--cells", type=int, default=MOSAIC_CELLS, help="the mosaic's grid (cells x cells)")
    add_json_argument(atlas, help="last line of stdout: the map's quality as one JSON object")


def cmd_atlas(args) -> int:
    from latentlab.latent.atlas import ATLAS_KEY, Atlas, add_map, colour_values, map_quality
    from latentlab.latent.space import LatentSpace, read_latents

    sha = weights_fingerprint(args.weights) if Path(args.weights).is_file() else None
    arrays = read_latents(args.latents, weights_sha=sha)  # refused before any work: other weights, damaged file
    if not 2 <= args.cells <= 64:
        raise UserError(f"--cells must be 2..64, got {args.cells}")
    if ATLAS_KEY not in arrays or args.refit:
        started = time.perf_counter()
        print(f"computing the map of {len(arrays['z_mean']):,} latents (UMAP, seed {args.seed})...", flush=True)
        add_map(args.latents, sha, seed=args.seed)
        print(f"wrote the map into {shown(args.latents)} in {time.perf_counter() - started:.1f} s")
        if not args.judge_readings:
            if judge_available(args.weights):
                add_readings(args, sha, len(arrays["z_mean"]))
            else:
                print("no model or judge to read the faces: the map has no judge colours (add them with "
                      "--judge-readings)")
    if args.judge_readings:
        if not Path(args.weights).is_file():
            raise UserError(f"--judge-readings decodes the latents: model weights {args.weights} not found")
        add_readings(args, sha, len(arrays["z_mean"]))
    latent_dim = int(np.asarray(arrays["z_mean"]).shape[1])
    space = LatentSpace.load(args.latents, latent_dim, sha)
    if space.atlas_xy is None:
        raise UserError(space.atlas_note)
    atlas = Atlas(space, space.atlas_xy)
    if args.out:
        values, kind = colour_values(space, args.color_by)
        draw_map(args.out, atlas, values, kind, args.color_by)
        print(f"wrote {shown(args.out)}")
    if args.mosaic:
        draw_mosaic(args.mosaic, atlas, args.weights, args.cells)
        print(f"wrote {shown(args.mosaic)}")
    if args.json:
        quality = map_quality(space, atlas.xy)
        print(f"trustworthiness {quality['trustworthiness']} against the {quality['features']} features the map is "
              f"fitted on, {quality['trustworthiness_z_mean']} against z_mean (10 neighbours, {quality['sample']} "
              "faces)")
        for name, value in quality.get("label_agreement", {}).items():
            print(f"  {name}: {value:.3f} of the 10 nearest map neighbours share the label "
                  f"(chance {quality['label_agreement_chance'][name]:.3f})")
        print(json.dumps(quality))
    return 0


def judge_available(weights: Path) -> bool:
    from latentlab.paths import ModelFiles

    return Path(weights).is_file() and ModelFiles(Path(weights)).judge.is_file()


def add_readings(args, sha: str | None, count: int) -> None:
    """The judge's reading of every decoded dataset face, stored in the latents file (latent/atlas.py)."""
    from latentlab.latent.atlas import add_judge_readings

    started = time.perf_counter()
    print(f"the judge reads {count:,} decoded faces (batches of 256)...", flush=True)
    add_judge_readings(args.latents, args.weights, sha)
    print(f"wrote the judge's readings into {shown(args.latents)} in {time.perf_counter() - started:.1f} s")


def draw_map(path: Path, atlas, values, kind: str, title: str) -> None:
    """The map as a PNG (matplotlib, Agg): every face a point, coloured by `values` with a legend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 5.6), dpi=100)
    axes = figure.add_subplot()
    xy = atlas.xy
    size = max(0.5, min(4.0, 20000 / len(xy)))
    if kind == "label":
        for value, colour, label in ((0, "#1f77b4", f"not {title}"), (1, "#ff7f0e", title)):
            rows = values == value
            axes.scatter(xy[rows, 0], xy[rows, 1], s=size, c=colour, linewidths=0, alpha=0.6,
                         label=f"{label} ({int(rows.sum()):,})")
        axes.legend(loc="best", markerscale=6, frameon=True)
    elif kind == "scale":
        points = axes.scatter(xy[:, 0], xy[:, 1], s=size, c=values, cmap="coolwarm", linewidths=0,
                              vmin=-2.5, vmax=2.5)
        figure.colorbar(points, ax=axes, shrink=0.8, label=title)
    elif kind == "probability":
        points = axes.scatter(xy[:, 0], xy[:, 1], s=size, c=values, cmap="viridis", linewidths=0, vmin=0, vmax=1)
        figure.colorbar(points, ax=axes, shrink=0.8, label=f"{title} (probability)")
    else:
        axes.scatter(xy[:, 0], xy[:, 1], s=size, c="#444444", linewidths=0, alpha=0.5)
    axes.set_title(f"{len(xy):,} dataset faces (UMAP of the latents)" + (f", by {title}" if kind != "plain" else ""))
    axes.set_xticks([])
    axes.set_yticks([])
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


def draw_mosaic(path: Path, atlas, weights: Path, cells: int, thumb: int = MOSAIC_THUMB) -> None:
    """The map as decoded faces: a cells x cells grid, in each cell holding points the reconstruction of the face
    nearest its centre (grey where the map is empty)."""
    from PIL import Image

    from latentlab.latent.atlas import mosaic_cells
    from latentlab.model.codec import Codec
    from latentlab.pictures import save_png, to_uint8

    chosen = mosaic_cells(atlas, cells)
    codec = Codec.load(weights)
    faces = to_uint8(codec.decode(atlas.space.z_mean[[i for _, _, i in chosen]]))
    canvas = np.full((cells * thumb, cells * thumb, 3), 235, np.uint8)
    for (r, c, _), face in zip(chosen, faces):
        small = np.asarray(Image.fromarray(face).resize((thumb, thumb), Image.Resampling.LANCZOS))
        canvas[r * thumb:(r + 1) * thumb, c * thumb:(c + 1) * thumb] = small
    save_png(path, canvas)
