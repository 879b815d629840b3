"""`vae.py evaluate --edits`: the calibrated measure of each attribute slider at its two ends
(latentlab.eval.edits), with `--calibrate` (the judge's thresholds from the validation photos), `--fit-ranges` (each
slider's range, fitted on train-partition faces) and `--save-effects` (what the window marks weak). The older raw
measure stays behind `--raw` (latentlab.cli.judge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from latentlab.cli.judge import EDIT_FACES, RANGE_FACES
from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.model.config import require_weights
from latentlab.paths import ModelFiles, shown

LABELS_FILE = "list_attr_celeba.txt"


def _progress(what: str):
    def report(done: int, total: int) -> None:
        print(f"\r{what} {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)
    return report


def label_file(args) -> Path:
    """--attributes, else list_attr_celeba.txt in or beside --data."""
    if args.attributes:
        return args.attributes
    for candidate in (args.data / LABELS_FILE, args.data.parent / LABELS_FILE):
        if candidate.is_file():
            return candidate
    raise UserError(f"--edits needs the photos' labels: pass --attributes {LABELS_FILE} (none in or beside "
                    f"{shown(args.data)})")


def dataset_latents(args, codec, weights_sha: str) -> dict | None:
    """{file stem: row} and z_mean of the latents file made for these weights, or None (then faces are encoded)."""
    from latentlab.latent.space import read_latents

    path = args.latents or ModelFiles(args.weights).latents
    try:
        latents = read_latents(path, codec.latent_dim, weights_sha)
    except UserError:
        return None
    return {"rows": {Path(str(n)).stem: i for i, n in enumerate(latents["names"])}, "z": latents["z_mean"],
            "latents": latents}


def faces_of(paths, codec, crop, known: dict | None) -> tuple[list[Path], np.ndarray]:
    """The latents of `paths`: their rows of the dataset latents (what the window shows for a dataset image), the
    others encoded."""
    from latentlab import images as data_lib

    rows = known["rows"] if known else {}
    inside = [p for p in paths if p.stem in rows]
    outside = [p for p in paths if p.stem not in rows]
    kept, latents = list(inside), [known["z"][[rows[p.stem] for p in inside]]] if inside else []
    report = data_lib.SkipReport()
    for batch_paths, images in data_lib.iter_batches(outside, codec.image_size, crop, 64, report):
        kept.extend(batch_paths)
        latents.append(codec.encode(images))
    report.warn()
    if not kept:
        raise UserError(f"none of the {len(paths)} image file(s) could be read")
    return kept, np.concatenate(latents).astype(np.float32)


def calibrate(args, judge, codec, crop, paths, names, labels) -> dict:
    """Fit the judge's thresholds on the photos `paths` and store them in its judge.json."""
    from latentlab import images as data_lib
    from latentlab.eval.edits import THRESHOLDS, fit_thresholds, save_thresholds
    from latentlab.eval.judge import label_rows

    missing = [n for n in judge.names if n not in names]
    if missing:
        raise UserError(f"the label file lacks the attribute(s) {', '.join(missing[:5])} the judge reads")
    columns = [names.index(n) for n in judge.names]
    kept, probabilities = [], []
    report = data_lib.SkipReport()
    for batch_paths, images in data_lib.iter_batches(paths, codec.image_size, crop, 128, report):
        kept.extend(batch_paths)
        probabilities.append(judge.probabilities(images))
    report.warn()
    if not kept:
        raise UserError(f"none of the {len(paths)} photo(s) could be read")
    rows = label_rows(kept, {k: v[columns] for k, v in labels.items()}, len(judge.names))
    section = fit_thresholds(np.concatenate(probabilities), rows, judge.names) | {"split": args.split}
    save_thresholds(args.judge, section)
    judge.summary[THRESHOLDS] = section
    return section


def cmd_calibrated_edits(args) -> int:
    from latentlab import images as data_lib
    from latentlab.eval import edits as measure
    from latentlab.eval.judge import IDENTITY_ATTRIBUTES, Judge
    from latentlab.latent.directions import AttributeDirections, read_celeba_attributes, split_mask
    from latentlab.latent.edits import SLIDER_END, set_slider_ranges, slider_ranges
    from latentlab.model.codec import Codec

    if args.save_effects and (args.hold or args.only):
        raise UserError("--save-effects stores the measure of every plain slider: leave out --hold and --only")
    judge = Judge.load(args.judge)
    codec = Codec.load(require_weights(args.weights), refine_steps=args.refine_steps)
    weights_sha = weights_fingerprint(args.weights)
    directions = AttributeDirections.load(args.directions, weights_sha, codec.latent_dim)
    only = [directions.names[directions.index(n)] for n in args.only] if args.only else None
    hold = [directions.names[directions.index(n)] for n in args.hold]
    names, labels = read_celeba_attributes(label_file(args))
    if "Male" not in names:
        raise UserError("the label file has no Male column: the populations (men, women) need it")
    male_column = names.index("Male")
    paths = data_lib.select_split(data_lib.find_images(args.data), args.data, args.split)
    paths = [p for p in paths if p.stem in labels]
    if not paths:
        raise UserError(f"no image of the {args.split} split under {shown(args.data)} has a label")
    crop = args.crop or data_lib.prepared_and_model_crop(args.data, codec.config.crop)
    if args.calibrate:
        section = calibrate(args, judge, codec, crop, paths, names, labels)
        print(f"calibrated the judge's thresholds on {section['n_photos']} {args.split} photos into "
              f"{shown(args.judge).replace('.weights.h5', '.json')}", file=sys.stderr)
    calibration = measure.require_calibration(judge, args.judge)
    known = dataset_latents(args, codec, weights_sha)
    if args.fit_ranges:
        if known is None or "attributes" not in known["latents"]:
            raise UserError("--fit-ranges reads train-partition faces of the dataset latents (--latents, with labels)")
        latents = known["latents"]
        train, _, _ = split_mask([str(n) for n in latents["names"]],
                                 str(latents["data_root"]) if "data_root" in latents else str(args.data))
        rows = np.sort(np.random.default_rng(0).choice(np.flatnonzero(train), min(
            RANGE_FACES, int(train.sum())), replace=False))
        train_male = latents["attributes"][rows, list(map(str, latents["attribute_names"])).index("Male")] > 0
        ranges, _ = measure.fit_slider_ranges(judge, codec, directions, latents["z_mean"][rows].astype(np.float32),
                                              train_male, calibration, names=only,
                                              progress=_progress("fitted the range of"))
        set_slider_ranges(directions, ranges)
        directions.save(args.directions)
    kept, z = faces_of(paths[: args.limit or EDIT_FACES], codec, crop, known)
    male = np.array([labels[p.stem][male_column] > 0 for p in kept])
    rows = measure.measure_edits(judge, codec, directions, z, male, calibration, names=only, hold=hold,
                                 progress=_progress("measured"))
    measured = [r for r in rows if r["effect"] is not None]
    named = [r for r in measured if r["attribute"] in measure.NAMED_EDITS]
    result = {
        "faces": len(kept), "men": int(male.sum()), "split": args.split, "end": SLIDER_END, "hold": hold,
        "ranges": {n: round(float(r), 2) for n, r in zip(directions.names, slider_ranges(directions))},
        "weak": sum(measure.is_weak(r["effect"]) for r in measured), "measured": len(measured),
        "named_working": sum(measure.works(r) for r in named), "named": len(named),
        "mean_effect": round(float(np.mean([r["effect"] for r in measured])), 4) if measured else None,
        "mean_leakage": round(float(np.mean([r["leakage"] for r in measured])), 4) if measured else None,
        "identity_attributes": list(IDENTITY_ATTRIBUTES), "rows": rows,
        "judge": str(args.judge), "weights": str(args.weights), "directions": str(args.directions),
    }
    if args.save_effects:
        measure.store_measure(directions, rows, len(kept))
        directions.save(args.directions)
        result["saved_effects"] = str(args.directions)
    if args.json:
        print(json.dumps(result))
        return 0
    held = f", holding {', '.join(hold)}" if hold else ""
    print(f"{len(kept)} {args.split} faces ({result['men']} men) moved to each slider's -{SLIDER_END:g} and "
          f"+{SLIDER_END:g} end as the panel does{held}; read at the judge's calibrated thresholds. effect = share "
          f"read as having it at + minus at -; leakage = share whose {', '.join(IDENTITY_ATTRIBUTES)} reading flips:")
    print(f"  {'attribute':<20} {'faces':>9} {'range':>5} {'effect':>7} {'leakage':>7}  top-3 flips (share of faces)")
    for row in rows:
        if row["effect"] is None:
            print(f"  {row['attribute']:<20} {'held':>9}")
            continue
        flips = ", ".join(f"{name} {row['flips'][name]:.2f}" for name in row["top_flips"])
        mark = "  weak" if measure.is_weak(row["effect"]) else "  works" if measure.works(row) else ""
        print(f"  {row['attribute']:<20} {row['faces']:>4} {row['population'][:5]:<4} "
              f"{result['ranges'][row['attribute']]:>5.1f} {row['effect']:>+7.3f} {row['leakage']:>7.3f}  "
              f"{flips}{mark}")
    if measured:
        print(f"  {f'mean ({len(measured)})':<20} {'':>9} {'':>5} {result['mean_effect']:>+7.3f} "
              f"{result['mean_leakage']:>7.3f}")
    print(f"weak (effect < {measure.WEAK_EFFECT}): {result['weak']} of {len(measured)}; named edits working (effect "
          f">= {measure.WORKS[0]}, leakage <= {measure.WORKS[1]}): {result['named_working']} of {len(named)}")
    if args.save_effects:
        print(f"stored the measure in {shown(args.directions)}: the window marks sliders below "
              f"{measure.WEAK_EFFECT} as weak")
    return 0

