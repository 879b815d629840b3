"""The measurements behind `vae.py bench`: decode / frame / encode latency, the window's UI-thread time per face
change, the attribute judge's time per face, start-up, nearest search, training throughput.

Every figure goes through the code the app uses: Codec.decode (batch 1) for the sliders, the real MainWindow
(through latentlab.ui.measure) for frames and face changes, the window (gui.py's main) as a new process for start-up,
the real Your face panel (through latentlab.ui.live_measure) on a video made in code, of faces the model decodes
or photos of a given folder, for the live mirror, LatentSpace.nearest for the nearest-face search, the VAE's own
compiled train step for training. Those two ui modules are the only Qt this module reaches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from latentlab.errors import UserError
from latentlab.files import weights_fingerprint
from latentlab.paths import DEFAULT_WEIGHTS, ModelFiles, shown

CELEBA_IMAGES = 202_599
NN_K = 5
LIVE_FACES = 6  # faces of the live mirror's video, each in turn for 4 s
LIVE_TEMPERATURE = 0.7  # of the prior draws the live video's faces are decoded from
LIVE_KEYS = ("live_fps", "live_latency_ms_p95", "live_jitter_raw", "live_jitter_smoothed")
KEYS = ("decode_ms_p50", "decode_ms_p95", "predict_ms_p50", "decode_speedup", "frame_ms_p95",
        "ui_ms_per_face_change_p95", "judge_ms_p50", "startup_window_s", "startup_first_face_s",
        "encode_ms_p50", "encode_refined_ms_p50", "nn_ms_200k", "train_img_per_s", "live_fps", "live_latency_ms_p95",
        "live_jitter_raw", "live_jitter_smoothed", "grid_ms_p50", "strip_ms_p50")
ATLAS_KEYS = ("atlas_place_ms_p50", "atlas_frame_ms_p95", "atlas_frame_ms_p95_202k", "atlas_hover_ms_p95",
              "atlas_walk_ms_p95", "ui_ms_per_face_change_atlas_p95")
KEYS = KEYS + ATLAS_KEYS


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def timed_ms(function: Callable[[int], object], repeats: int, warmup: int = 3) -> np.ndarray:
    """Wall-clock milliseconds of `function(i)` for i in range(repeats), after `warmup` untimed calls."""
    for i in range(warmup):
        function(i)
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        function(i)
        times[i] = (time.perf_counter() - start) * 1000.0
    return times


def synthetic_face(size: int, seed: int = 0) -> np.ndarray:
    """A smooth uint8 RGB picture at the model's size (a stand-in for an aligned face)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * (xx * rng.uniform(0.5, 2) + yy * rng.uniform(0.5, 2) + c))
                      for c in rng.uniform(0, 1, 3)], axis=-1)
    return (image * 255).astype(np.uint8)


def bench_decode(codec, repeats: int) -> dict:
    """Batch-1 Codec.decode (the GUI path) against the naive decoder.predict, same run."""
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((repeats + 8, codec.latent_dim)).astype(np.float32)
    decode = timed_ms(lambda i: codec.decode(latents[i]), repeats)
    predict_repeats = max(5, repeats // 10)
    predict = timed_ms(lambda i: codec.vae.decoder.predict(latents[i][None], verbose=0), predict_repeats, warmup=2)
    p50 = float(np.percentile(decode, 50))
    return {
        "decode_ms_p50": round(p50, 2), "decode_ms_p95": round(float(np.percentile(decode, 95)), 2),
        "predict_ms_p50": round(float(np.percentile(predict, 50)), 2),
        "decode_speedup": round(float(np.percentile(predict, 50)) / p50, 1),
    }


def bench_frame(codec, repeats: int) -> dict:
    """Slider value -> latent -> Codec.decode -> uint8 -> QImage, as one drag of one slider."""
    from latentlab.ui.measure import frame_function

    show = frame_function(codec)
    base = np.random.default_rng(1).standard_normal(codec.latent_dim).astype(np.float32)

    def frame(i):
        slider_value = (i * 37) % 1001
        z = base.copy()
        z[0] = (slider_value / 1000.0 * 2.0 - 1.0) * 3.0
        return show(z)

    times = timed_ms(frame, repeats)
    return {"frame_ms_p95": round(float(np.percentile(times, 95)), 2)}


def load_judge_if_any(weights: Path):
    """The attribute judge of the model at `weights` (ModelFiles(weights).judge), None when absent or unusable."""
    from latentlab.eval.judge import Judge

    try:
        return Judge.load(ModelFiles(weights).judge)
    except UserError:
        return None


def bench_ui(codec, weights: Path, repeats: int) -> dict:
    """The UI thread's time per face change in the real window (256 sliders and 40 attributes in sync, the judge's
    probabilities shown when the model has a judge)."""
    from latentlab.latent.directions import open_attributes
    from latentlab.latent.space import LatentSpace
    from latentlab.ui.measure import face_change_ms

    files, sha = ModelFiles(weights), weights_fingerprint(weights)
    space = LatentSpace.open(files.latents, codec.latent_dim, weights_sha=sha)
    attributes, _ = open_attributes(files.attributes, codec.latent_dim, sha)
    judge = load_judge_if_any(weights)
    times = face_change_ms(codec, space, attributes, max(50, repeats), judge=judge)
    return {"ui_ms_per_face_change_p50": round(float(np.percentile(times, 50)), 2),
            "ui_ms_per_face_change_p95": round(float(np.percentile(times, 95)), 2),
            "ui_attributes": 0 if attributes is None else len(attributes.names), "ui_judge": judge is not None}


def bench_explore(codec, weights: Path, repeats: int) -> dict:
    """A 3x3 grid of children (Children dock, Re-roll) and a 7-face strip (Strips dock, PC 1 of a new face), each
    from the request to the faces painted in the real 1366x768 window (made and decoded as one batch in its
    decoder thread)."""
    from latentlab.latent.directions import open_attributes
    from latentlab.latent.space import LatentSpace
    from latentlab.ui.explore_measure import grid_and_strip_ms

    files, sha = ModelFiles(weights), weights_fingerprint(weights)
    space = LatentSpace.open(files.latents, codec.latent_dim, weights_sha=sha)
    attributes, _ = open_attributes(files.attributes, codec.latent_dim, sha)
    grid, strip = grid_and_strip_ms(codec, space, attributes, max(20, repeats // 5))
    return {"grid_ms_p50": round(float(np.percentile(grid, 50)), 2),
            "grid_ms_p95": round(float(np.percentile(grid, 95)), 2),
            "strip_ms_p50": round(float(np.percentile(strip, 50)), 2),
            "strip_ms_p95": round(float(np.percentile(strip, 95)), 2)}


def bench_judge(codec, weights: Path, repeats: int) -> dict:
    """The attribute judge reading one decoded face (uint8 at the model's size), as the Attributes panel's worker
    does after each frame; None with a note when the model has no judge."""
    from latentlab.pictures import to_uint8

    judge = load_judge_if_any(weights)
    if judge is None:
        return {"judge_ms_p50": None, "judge_note": f"no attribute judge at {shown(ModelFiles(weights).judge)}"}
    rng = np.random.default_rng(4)
    faces = to_uint8(codec.decode(rng.standard_normal((16, codec.latent_dim)).astype(np.float32)))
    times = timed_ms(lambda i: judge.probabilities(faces[i % len(faces)][None]), max(20, repeats // 2))
    return {"judge_ms_p50": round(float(np.percentile(times, 50)), 2)}


def decoded_faces(codec, weights: Path, n: int = LIVE_FACES, candidates: int = 12) -> list[np.ndarray]:
    """Up to n faces (S, S, 3) uint8 the model at `weights` decodes from its prior (the Gaussian fitted to its
    dataset latents, else N(0, I)) in which mtcnn finds a face."""
    from latentlab.faces.align import detect_faces
    from latentlab.latent.prior import GaussianPrior, standard_normal
    from latentlab.latent.space import read_latents
    from latentlab.pictures import to_uint8

    try:
        prior = GaussianPrior.from_arrays(read_latents(ModelFiles(weights).latents, codec.latent_dim,
                                                       weights_fingerprint(weights)))
    except UserError:
        prior = standard_normal(codec.latent_dim)
    faces = to_uint8(codec.sample(prior, candidates, LIVE_TEMPERATURE, seed=0)[1])
    return [face for face in faces if detect_faces(face)][:n]


def live_clip_faces(codec, weights: Path, celeba_dir: Path | None) -> tuple[list[np.ndarray], str]:
    """(the face pictures of the live mirror's video, where they come from): photos 1-6 of `celeba_dir` when given,
    else faces the model decodes from its prior, else (a model that draws no face mtcnn finds) the shipped
    model's."""
    from latentlab.images import find_images, open_image
    from latentlab.model.codec import Codec

    if celeba_dir is not None:
        return [open_image(path) for path in find_images(celeba_dir)[1:1 + LIVE_FACES]], f"photos of {celeba_dir}"
    faces = decoded_faces(codec, weights)
    if faces:
        return faces, "faces the model decodes"
    if DEFAULT_WEIGHTS.is_file() and Path(weights).resolve() != DEFAULT_WEIGHTS.resolve():
        return decoded_faces(Codec.load(DEFAULT_WEIGHTS), DEFAULT_WEIGHTS), "faces the shipped model decodes"
    return [], "no face"


def bench_live(codec, weights: Path, seconds: float = 20.0, celeba_dir: Path | None = None) -> dict:
    """The live mirror through the real Your face panel, on a 640x480 30 fps video of faces (live_clip_faces)
    moved, turned and scaled over time (with 2 grey levels of sensor noise): faces shown per second and the p95
    latency, frame captured -> decoded face given to the view. Then the frame-to-frame latent jitter of a still
    face (4 grey levels of noise), with and without smoothing, through the same LivePipeline."""
    from latentlab.faces.camera import MovingFaceSource
    from latentlab.faces.live import LivePipeline
    from latentlab.ui.live_measure import live_mirror_run

    faces, made_of = live_clip_faces(codec, weights, celeba_dir)
    if not faces:
        return {**dict.fromkeys(LIVE_KEYS), "live_video": made_of,
                "live_note": "live figures skipped: mtcnn finds no face in what the model decodes"}
    run = live_mirror_run(codec, lambda index: MovingFaceSource(faces, noise=2.0), seconds)
    latencies = run["latencies_ms"]
    figures = {"live_fps": round(run["shown"] / run["seconds"], 1),
               "live_latency_ms_p95": round(float(np.percentile(latencies, 95)), 1) if len(latencies) else None,
               "live_latency_ms_p50": round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None,
               "live_camera_fps": round(run["camera_frames"] / run["seconds"], 1),
               "live_detections": run["detections"], "live_video": made_of}
    still = MovingFaceSource(faces[:1], noise=4.0, still=True, pace=False)
    for smooth, key in ((False, "live_jitter_raw"), (True, "live_jitter_smoothed")):
        pipeline = LivePipeline(codec, smooth=smooth)
        latents = [pipeline.process(still.frame(i), captured_at=i / still.fps).z for i in range(100)]
        steps = np.linalg.norm(np.diff(np.array(latents[10:]), axis=0), axis=1)
        figures[key] = round(float(steps.mean()), 3)
    return figures


def bench_startup(weights: Path, runs: int = 2) -> dict:
    """Seconds from starting the window (`gui.py`'s main, latentlab.ui.launch, in a new Python process) to its
    start-up window, and to the first face on screen (the best of `runs` separate processes, offscreen)."""
    from latentlab.paths import PROJECT_ROOT

    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    window, face = [], []
    for _ in range(runs):
        started = time.time()
        done = subprocess.run([sys.executable, "-m", "latentlab.ui.launch", "--weights", str(Path(weights).resolve()),
                               "--startup-times"], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT,
                              timeout=300)
        if done.returncode != 0:
            return {"startup_window_s": None, "startup_first_face_s": None,
                    "startup_note": f"the window's --startup-times failed: {done.stderr.strip()[-200:]}"}
        stamps = json.loads(done.stdout.strip().splitlines()[-1])
        window.append(stamps["window_shown"] - started)
        face.append(stamps["first_face"] - started)
    return {"startup_window_s": round(min(window), 2), "startup_first_face_s": round(min(face), 2)}


def bench_encode(codec, repeats: int) -> dict:
    """One aligned face (uint8 at the model's size) to z_mean: the encoder alone (as the live mirror does), and
    with the model's refinement steps (as a photo, a capture and the index are encoded)."""
    face = synthetic_face(codec.image_size)
    alone = timed_ms(lambda i: codec.encode(face, refine_steps=0), max(10, repeats // 2))
    refined = timed_ms(lambda i: codec.encode(face), max(10, repeats // 8))
    return {"encode_ms_p50": round(float(np.percentile(alone, 50)), 2),
            "encode_refined_ms_p50": round(float(np.percentile(refined, 50)), 2),
            "refine_steps": codec.config.refine_steps}


def bench_nearest(latent_dim: int, repeats: int, n: int = CELEBA_IMAGES) -> dict:
    """Top-5 nearest dataset latents by LatentSpace.nearest over n synthetic latents, with the metric the app uses
    (z_mean and 40 attribute scores)."""
    from latentlab.latent.directions import AttributeDirections
    from latentlab.latent.space import LatentSpace

    rng = np.random.default_rng(2)
    directions = rng.standard_normal((40, latent_dim)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    attributes = AttributeDirections([f"Attribute_{i}" for i in range(40)], directions, np.zeros(40, np.float32),
                                     np.ones(40, np.float32), "logistic")
    space = LatentSpace(latent_dim, rng.standard_normal((n, latent_dim), dtype=np.float32), directions=attributes)
    queries = rng.standard_normal((repeats, latent_dim)).astype(np.float32)
    times = timed_ms(lambda i: space.nearest(queries[i % repeats], NN_K), max(10, repeats // 4), warmup=2)
    return {"nn_ms_200k": round(float(np.percentile(times, 50)), 2), "nn_latents": n}


def bench_atlas(codec, weights: Path, repeats: int) -> dict:
    """The Atlas (latent/atlas.py, ui/atlas_measure.py): placing a new latent on the map (LatentSpace.nearest + a
    weighted mean), one redraw of the map while panning / zooming with the model's dataset points and with 202,599
    synthetic ones, the UI thread per hover, a walk step (map position -> latent -> decoded face), and the window's
    UI time per face change with the Atlas shown. None with a note when the latents hold no map."""
    from latentlab.latent.atlas import atlas_of
    from latentlab.latent.directions import open_attributes
    from latentlab.latent.space import LatentSpace
    from latentlab.pictures import to_uint8
    from latentlab.ui import atlas_measure
    from latentlab.ui.measure import face_change_ms
    from latentlab.ui.widgets.atlas_view import argb

    files, sha = ModelFiles(weights), weights_fingerprint(weights)
    space = LatentSpace.open(files.latents, codec.latent_dim, weights_sha=sha)
    atlas = atlas_of(space)
    if atlas is None:
        return {key: None for key in ATLAS_KEYS} | {"atlas_note": space.atlas_note or space.note}
    rng = np.random.default_rng(4)
    queries = space.prior.draw(repeats, 1.0, rng)
    place = timed_ms(lambda i: atlas.place(queries[i % repeats]), repeats)
    labels = np.asarray(space.attributes)[:, 0] > 0 if space.attributes is not None else rng.random(len(atlas)) > .5
    palette = np.array([[31, 119, 180], [255, 127, 14]], np.uint8)
    frames = max(60, repeats // 2)
    shipped = atlas_measure.frame_ms(atlas.xy, argb(palette[labels.astype(int)]), frames)
    centres = rng.normal(0, 6, (40, 2))
    synthetic = (centres[rng.integers(40, size=CELEBA_IMAGES)] + rng.normal(0, 1, (CELEBA_IMAGES, 2)))
    full = atlas_measure.frame_ms(synthetic.astype(np.float32), argb(palette[rng.integers(2, size=CELEBA_IMAGES)]),
                                  frames)
    hover = atlas_measure.hover_ms(space, codec.decode, max(50, repeats // 2))
    low, high = atlas.bounds
    positions = low + rng.random((repeats, 2)) * (high - low)
    walk = timed_ms(lambda i: to_uint8(codec.decode(atlas.walk(positions[i % repeats])[0])), repeats)
    attributes, _ = open_attributes(files.attributes, codec.latent_dim, sha)
    changes = face_change_ms(codec, space, attributes, max(50, repeats), judge=load_judge_if_any(weights), atlas=True)
    return {"atlas_place_ms_p50": round(float(np.percentile(place, 50)), 2),
            "atlas_frame_ms_p95": round(float(np.percentile(shipped, 95)), 2),
            "atlas_frame_ms_p95_202k": round(float(np.percentile(full, 95)), 2),
            "atlas_hover_ms_p95": round(float(np.percentile(hover, 95)), 2),
            "atlas_walk_ms_p95": round(float(np.percentile(walk, 95)), 2),
            "ui_ms_per_face_change_atlas_p95": round(float(np.percentile(changes, 95)), 2),
            "atlas_points": len(atlas)}


def bench_train(config, steps: int, warmup: int = 2) -> dict:
    """Images per second of the VAE's compiled train step at `config` (optimizer as in training),
    on a fixed batch of synthetic images, after `warmup` steps (the first one compiles).

    A 128 px step of batch 128 takes about 2.5 s on 2 cores, hence 10 steps by default."""
    from latentlab.model.vae import build_vae
    from latentlab.train.loop import compile_for_training

    vae = build_vae(config)
    compile_for_training(vae, config.learning_rate)
    batch = np.random.default_rng(3).random((config.batch_size, *config.image_shape), dtype=np.float32)
    for _ in range(warmup):
        vae.train_on_batch(batch)
    start = time.perf_counter()
    for _ in range(steps):
        vae.train_on_batch(batch)
    seconds = time.perf_counter() - start
    return {"train_img_per_s": round(steps * config.batch_size / seconds, 1), "train_steps": steps,
            "train_batch_size": config.batch_size}


def run_bench(weights: str | Path = DEFAULT_WEIGHTS, repeats: int = 200, train_steps: int = 10,
              log: Callable[[str], None] = print, celeba_dir: Path | None = None) -> dict:
    """Every figure of `vae.py bench` for the model at `weights`, as one dict (KEYS plus context; None where a
    figure could not be measured, with a note). `celeba_dir`: the live mirror's video is made of its photos
    instead of faces the model decodes."""
    import keras

    from latentlab.model.codec import Codec

    weights = Path(weights)
    codec = Codec.load(weights)
    config = codec.config
    result = {"cores": cpu_cores(), "backend": keras.backend.backend(), "image_size": config.image_size,
              "latent_dim": config.latent_dim, "weights": str(weights), "repeats": repeats}
    log(f"{result['cores']} CPU cores, {result['backend']} backend, model {config.image_size} px, "
        f"latent {config.latent_dim}")
    for name, step in (("decode", lambda: bench_decode(codec, repeats)),
                       ("frame", lambda: bench_frame(codec, repeats)),
                       ("window", lambda: bench_ui(codec, weights, repeats)),
                       ("judge", lambda: bench_judge(codec, weights, repeats)),
                       ("explore", lambda: bench_explore(codec, weights, repeats)),
                       ("atlas", lambda: bench_atlas(codec, weights, repeats)),
                       ("startup", lambda: bench_startup(weights)),
                       ("encode", lambda: bench_encode(codec, repeats)),
                       ("nearest", lambda: bench_nearest(config.latent_dim, repeats)),
                       ("live", lambda: bench_live(codec, weights, celeba_dir=celeba_dir)),
                       ("train", lambda: bench_train(config, train_steps))):
        start = time.perf_counter()
        figures = step()
        result.update(figures)
        shown = ", ".join(f"{k} {v}" for k, v in figures.items())
        log(f"{name}: {shown} ({time.perf_counter() - start:.1f} s)")
    return result
