"""`vae.py` end to end on a tiny model: train (+ resume), evaluate --json, sample, reconstruct, index, prepare,
errors; the parser: every subcommand dispatches to its own command, --help without TensorFlow."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from latentlab.cli.main import main
from latentlab.files import weights_fingerprint
from latentlab.latent.explore import seeded_latents
from latentlab.latent.prior import standard_normal
from latentlab.model.config import load_model_json
from latentlab.paths import PROJECT_ROOT
from tests.helpers import portrait, write_images


def test_train_writes_weights_summary_and_run_files(trained_tiny):
    config, summary = load_model_json(trained_tiny.with_name("model.json"))
    assert config.image_size == 32 and config.latent_dim == 8
    assert summary["epochs"] == 2 and summary["images_seen"] == 2 * 5 * 8
    assert summary["train_images"] == 46 and summary["val_images"] == 2
    assert {"train_loss", "val_loss", "val_psnr", "date", "dataset"} <= set(summary)
    run = trained_tiny.parent / "runs" / "tiny"
    for name in ("log.csv", "loss.png", "checkpoint.weights.h5", "state.json",
                 "samples/epoch_002.png", "reconstructions/epoch_002.png"):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").rglob("*tfevents*"))


@pytest.mark.slow
def test_resume_continues_from_the_checkpoint(tmp_path, image_folder):
    args = ["train", "--data", str(image_folder), "--image-size", "32", "--latent-dim", "8", "--widths", "8,16",
            "--batch-size", "8", "--out", str(tmp_path / "vae.weights.h5"), "--runs-dir", str(tmp_path / "runs"),
            "--name", "r"]
    assert main(args + ["--epochs", "1"]) == 0
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    state = json.loads((tmp_path / "runs" / "r" / "state.json").read_text())
    assert state["epoch"] == 2 and state["images_seen"] == 2 * 5 * 8
    with open(tmp_path / "runs" / "r" / "log.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]
    assert main(args + ["--epochs", "2", "--resume"]) == 2, "a finished run says so instead of training"


def test_evaluate_json_last_line(trained_tiny, image_folder, tmp_path, capsys):
    grid = tmp_path / "grid.png"
    code = main(["evaluate", "--data", str(image_folder), "--weights", str(trained_tiny), "--limit", "20",
                 "--json", "--grid", str(grid)])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n_images"] == 20 and result["skipped"] == 0
    assert 0.0 < result["mse"] < 1.0
    assert result["psnr"] >= 10 * np.log10(1.0 / result["mse"]) - 1e-6 > 0  # mean PSNR >= PSNR of the mean MSE
    assert Image.open(grid).size[0] > 32


def test_evaluate_refines_the_latents_unless_told_not_to(trained_tiny, image_folder, tmp_path, capsys):
    psnr = {}
    for steps in ("0", "30"):
        assert main(["evaluate", "--data", str(image_folder), "--weights", str(trained_tiny), "--limit", "16",
                     "--json", "--grid", str(tmp_path / "g.png"), "--refine-steps", steps]) == 0
        psnr[steps] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["psnr"]
    assert psnr["30"] > psnr["0"], "refined latents fit the images more closely"
    assert main(["evaluate", "--data", str(image_folder), "--weights", str(trained_tiny), "--refine-steps", "-2"]) == 2
    assert "error: refine steps must be 0 to" in capsys.readouterr().err


def test_evaluate_counts_unreadable_files(trained_tiny, tmp_path, capsys):
    write_images(tmp_path, 3)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.warns(UserWarning, match="skipped 1"):
        assert main(["evaluate", "--data", str(tmp_path), "--weights", str(trained_tiny), "--json",
                     "--grid", str(tmp_path / "g.png")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["n_images"], result["skipped"]) == (3, 1)


def test_sample_writes_grid(trained_tiny, tmp_path):
    out = tmp_path / "samples.png"
    assert main(["sample", "--n", "6", "--cols", "3", "--out", str(out), "--seed", "1", "--prior", "normal",
                 "--weights", str(trained_tiny)]) == 0
    assert Image.open(out).size == (3 * 34 + 2, 2 * 34 + 2)


def tiny_latents(path, weights):
    """A latents.npz for the tiny model, its latents far from N(0, I): mean 2, standard deviations 3 .. 0.3."""
    from latentlab.latent.space import write_latents

    z = np.random.default_rng(4).standard_normal((300, 8)) * np.linspace(3.0, 0.3, 8) + 2.0
    write_latents(path, [f"{i}.png" for i in range(300)], z, np.ones(8), image_size=32, crop="center",
                  weights_sha=weights_fingerprint(weights), data_root=str(path.parent))
    return path


@pytest.mark.parametrize("prior", ["fitted", "normal"])
def test_sample_out_dir_writes_one_png_per_face_drawn_from_the_prior(trained_tiny, tmp_path, prior):
    from latentlab.latent.space import LatentSpace
    from latentlab.model.codec import Codec
    from latentlab.pictures import to_uint8

    latents = tiny_latents(tmp_path / "latents.npz", trained_tiny)
    out_dir = tmp_path / "faces"
    assert main(["sample", "--n", "5", "--out-dir", str(out_dir), "--seed", "3", "--temperature", "0.7",
                 "--prior", prior, "--latents", str(latents), "--weights", str(trained_tiny)]) == 0
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == [f"sample_{i:03d}.png" for i in range(5)]
    written = np.stack([np.asarray(Image.open(out_dir / name)) for name in files])
    assert written.shape == (5, 32, 32, 3)
    expected_prior = LatentSpace.load(latents, 8).prior if prior == "fitted" else standard_normal(8)
    z = seeded_latents(expected_prior, range(3, 8), 0.7)  # face i is the face of seed 3 + i, as in the window
    expected = to_uint8(Codec.load(trained_tiny).decode(z))
    assert np.abs(written.astype(int) - expected).max() <= 1


def test_sample_falls_back_to_normal_without_fitting_latents(trained_tiny, tmp_path, capsys):
    assert main(["sample", "--n", "2", "--out", str(tmp_path / "g.png"), "--weights", str(trained_tiny)]) == 0
    assert "note: sampling from N(0, I)" in capsys.readouterr().err
    other = tiny_latents(tmp_path / "other.npz", trained_tiny.with_name("model.json"))  # fingerprint of other bytes
    assert main(["sample", "--n", "2", "--out", str(tmp_path / "g.png"), "--latents", str(other),
                 "--weights", str(trained_tiny)]) == 2
    assert "other weights" in capsys.readouterr().err
    assert main(["sample", "--n", "2", "--weights", str(trained_tiny)]) == 2
    assert "--out-dir" in capsys.readouterr().err


def test_reconstruct_writes_one_png_per_readable_image_and_counts_unreadable(trained_tiny, tmp_path, capsys):
    from latentlab.images import load_preprocessed
    from latentlab.model.codec import Codec
    from latentlab.pictures import to_uint8

    photos = tmp_path / "photos"
    paths = write_images(photos, 3) + write_images(photos / "more", 1, seed=1)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    out_dir = tmp_path / "out"
    assert main(["reconstruct", "--data", str(photos), "--out-dir", str(out_dir), "--weights", str(trained_tiny)]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 unreadable image(s): broken.jpg" in captured.err
    assert "wrote 4 reconstructions" in captured.out and "1 skipped" in captured.out
    written = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*.png"))
    assert written == ["000000.png", "000001.png", "000002.png", "more/000000.png"]
    codec = Codec.load(trained_tiny)
    expected = to_uint8(codec.reconstruct(load_preprocessed(paths[1], 32, codec.config.crop)))
    assert np.abs(np.asarray(Image.open(out_dir / "000001.png")).astype(int) - expected).max() <= 1

    assert main(["reconstruct", "--data", str(paths[2]), "--out-dir", str(tmp_path / "one"),
                 "--weights", str(trained_tiny)]) == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["000002.png"]
    assert main(["reconstruct", "--data", str(photos), "--out-dir", str(tmp_path / "two"), "--limit", "2",
                 "--weights", str(trained_tiny)]) == 0
    assert len(list((tmp_path / "two").rglob("*.png"))) == 2
    capsys.readouterr()
    assert main(["reconstruct", "--data", str(photos / "broken.jpg"), "--out-dir", str(tmp_path / "none"),
                 "--weights", str(trained_tiny)]) == 2
    assert "none of the 1 image file(s) could be used" in capsys.readouterr().err


def test_reconstruct_align_finds_the_face_of_a_real_photo_and_skips_photos_without_one(trained_tiny, tmp_path, capsys):
    from latentlab.faces.align import encode_photo
    from latentlab.model.codec import Codec
    from latentlab.pictures import to_uint8

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(portrait()).save(photos / "hopper.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 90, 3), dtype=np.uint8)).save(photos / "noise.png")
    out_dir = tmp_path / "out"
    assert main(["reconstruct", "--data", str(photos), "--out-dir", str(out_dir), "--align",
                 "--weights", str(trained_tiny)]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 image(s), unreadable or without a face: noise.png (no face found)" in captured.err
    assert "wrote 1 reconstructions (32 px, aligned faces; 1 skipped)" in captured.out
    assert [p.name for p in out_dir.iterdir()] == ["hopper.png"]
    codec = Codec.load(trained_tiny)
    expected = to_uint8(codec.decode(encode_photo(codec, portrait()).z))
    assert np.abs(np.asarray(Image.open(out_dir / "hopper.png")).astype(int) - expected).max() <= 1
    unaligned = tmp_path / "unaligned"
    assert main(["reconstruct", "--data", str(photos / "hopper.png"), "--out-dir", str(unaligned),
                 "--weights", str(trained_tiny)]) == 0
    pixels = lambda path: np.asarray(Image.open(path))  # noqa: E731
    assert not np.array_equal(pixels(unaligned / "hopper.png"), pixels(out_dir / "hopper.png"))


def test_index_writes_latents_and_attributes(trained_tiny, image_folder, tmp_path):
    attributes = tmp_path / "list_attr_celeba.txt"
    rows = [f"{i:06d}.jpg " + " ".join("1" if (i + j) % 2 else "-1" for j in range(3)) for i in range(48)]
    attributes.write_text("48\nSmiling Eyeglasses Young\n" + "\n".join(rows) + "\n")
    out = tmp_path / "latents.npz"
    assert main(["index", "--data", str(image_folder), "--weights", str(trained_tiny), "--out", str(out),
                 "--attributes", str(attributes)]) == 0
    index = np.load(out)
    assert index["z_mean"].shape == (48, 8) and index["z_mean"].dtype == np.float16
    assert index["names"][0] == "000000.png"
    assert list(index["attribute_names"]) == ["Smiling", "Eyeglasses", "Young"]
    assert index["attributes"].shape == (48, 3) and index["attributes"][1, 0] == 1
    assert index["kl_per_dim"].shape == (8,) and int(index["latent_dim"]) == 8


@pytest.mark.slow
def test_prepare_then_train_records_the_original_crop(tmp_path, image_folder):
    assert main(["prepare", "--data", str(image_folder), "--out", str(tmp_path / "prep"), "--image-size", "32",
                 "--crop", "celeba"]) == 0
    assert main(["train", "--data", str(tmp_path / "prep"), "--epochs", "1", "--image-size", "32", "--latent-dim", "4",
                 "--widths", "8,16", "--batch-size", "8", "--out", str(tmp_path / "vae.weights.h5"),
                 "--runs-dir", str(tmp_path / "runs")]) == 0
    config, _ = load_model_json(tmp_path / "model.json")
    assert config.crop == "celeba"


def run_cli(*args):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "vae.py"), *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)


@pytest.mark.parametrize("args, message", [
    (["evaluate", "--data", "/nonexistent/folder"], "does not exist"),
    (["sample", "--out", "x.png", "--weights", "/nonexistent/vae.weights.h5"], "not found"),
    (["reconstruct", "--data", "/nonexistent/folder", "--out-dir", "out"], "does not exist"),
    (["train", "--data", "/nonexistent/folder"], "does not exist"),
    (["train", "--data", str(PROJECT_ROOT / "vae.py")], "is a file"),
    (["distill", "--data", "/nonexistent/folder", "--out", "s.weights.h5", "--teacher", "/nonexistent/t.weights.h5"],
     "not found"),
    (["train", "--data", "/nonexistent/folder", "--init-from", "/nonexistent/vae.weights.h5"], "not found"),
])
def test_user_mistakes_give_one_line_and_exit_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]


def test_train_without_data_explains_where_to_get_celeba():
    if (PROJECT_ROOT / "data" / "img_align_celeba").is_dir():
        pytest.skip("data/img_align_celeba exists here, so training would start")
    result = run_cli()
    assert result.returncode == 2
    assert "--data" in result.stderr and "CelebA" in result.stderr


def test_help_and_argument_mistakes_answer_without_tensorflow():
    code = ("import sys\nfrom latentlab.cli.main import main\ncodes = []\n"
            "for argv in (['--help'], ['bench', '--repeats', 'x']):\n"
            "    try:\n        main(argv)\n    except SystemExit as exc:\n        codes.append(exc.code)\n"
            "print(codes, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert "train-judge" in result.stdout and "invalid int value: 'x'" in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[0, 2] False False", result.stderr[-2000:]


def test_every_subcommand_runs_its_own_command():
    from latentlab.cli.main import build_parser, subcommands

    parser = build_parser()
    names = subcommands(parser)
    assert {"train", "evaluate", "bench", "sample", "reconstruct", "encode", "index", "attributes", "manipulate",
            "plot-latents", "prepare", "train-judge"} <= set(names)
    runs = {name: parser.parse_args(_minimal_args(name)).run for name in names}
    assert len(set(runs.values())) == len(runs)
    assert runs["train"].__name__ == "cmd_train" and runs["bench"].__name__ == "cmd_bench"


def _minimal_args(name: str) -> list[str]:
    """The fewest arguments `name` parses with."""
    required = {"evaluate": ["--data", "d"], "reconstruct": ["--data", "d", "--out-dir", "o"],
                "encode": ["p.jpg", "--out", "z.npy"], "index": ["--data", "d"],
                "prepare": ["--data", "d", "--out", "o"], "manipulate": ["--attr", "Smiling", "--out", "o.png"],
                "plot-latents": ["--out", "o.png"], "train-judge": ["--data", "d", "--attributes", "a.txt"],
                "distill": ["--data", "d", "--out", "o"], "mix": ["--a", "1", "--b", "2", "--out", "o.png"]}
    return [name, *required.get(name, [])]


def test_bench_data_must_be_a_folder(tmp_path):
    result = run_cli("bench", "--data", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: --data {tmp_path / 'absent'} is not a folder of images"
