"""Loading any image folder: modes converted to RGB, corrupt files skipped and counted, crops, splits, tf.data."""

import json

import numpy as np
import pytest
from PIL import Image

from latentlab import images as data
from latentlab.errors import UserError
from latentlab.train.dataset import tf_dataset
from tests.helpers import write_images


def test_modes_are_converted_to_rgb(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :6, 3] = 255  # left half opaque red, right half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    palette = Image.new("P", (10, 12))
    palette.putpalette([0, 0, 255] * 256)
    palette.save(tmp_path / "palette.png")
    Image.fromarray(np.full((10, 12), 77, np.uint8), "L").save(tmp_path / "gray.png")
    Image.fromarray(np.full((10, 12), 65535 // 2, np.uint16)).save(tmp_path / "sixteen.png")

    image = data.open_image(tmp_path / "rgba.png")
    assert image.shape == (10, 12, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == (200, 0, 0)
    assert tuple(image[0, -1]) == (255, 255, 255), "transparent pixels are composited onto white"
    assert tuple(data.open_image(tmp_path / "palette.png")[0, 0]) == (0, 0, 255)
    assert tuple(data.open_image(tmp_path / "gray.png")[0, 0]) == (77, 77, 77)
    sixteen = data.open_image(tmp_path / "sixteen.png")
    assert sixteen.shape == (12, 10, 3) or sixteen.shape == (10, 12, 3)
    assert abs(int(sixteen[0, 0, 0]) - 128) <= 1, "16-bit values are scaled to 8 bits"


def test_corrupt_files_are_skipped_and_counted(tmp_path):
    paths = write_images(tmp_path, 5)
    (tmp_path / "truncated.png").write_bytes(paths[0].read_bytes()[:60])
    (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(500))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not an image")
    found = data.find_images(tmp_path)
    assert len(found) == 8, "the .txt file is not an image file"
    report = data.SkipReport()
    kept, images = data.load_array(found, 16, "center", report)
    assert images.shape == (5, 16, 16, 3)
    assert len(report) == 3
    assert {p.name for p, _ in report.skipped} == {"truncated.png", "noise.jpg", "empty.png"}
    with pytest.warns(UserWarning, match="skipped 3 unreadable"):
        report.warn()


def test_find_images_is_recursive_and_explains_bad_paths(tmp_path):
    write_images(tmp_path / "a" / "b", 2)
    assert len(data.find_images(tmp_path)) == 2
    with pytest.raises(UserError, match="does not exist"):
        data.find_images(tmp_path / "nope")
    with pytest.raises(UserError, match="is a file"):
        data.find_images(next((tmp_path / "a" / "b").iterdir()))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        data.find_images(tmp_path / "empty")


def test_crops():
    assert data.crop_box(178, 218, "celeba") == (15, 35, 163, 183)
    assert data.crop_box(100, 60, "center") == (20, 0, 80, 60)
    assert data.crop_box(100, 60, "none") == (0, 0, 100, 60)
    image = np.zeros((218, 178, 3), np.uint8)
    assert data.preprocess(image, 64, "celeba").shape == (64, 64, 3)


def test_default_crop_detects_celeba(tmp_path):
    Image.new("RGB", (178, 218)).save(tmp_path / "000001.jpg")
    assert data.default_crop([tmp_path / "000001.jpg"]) == "celeba"
    Image.new("RGB", (50, 50)).save(tmp_path / "x.png")
    assert data.default_crop([tmp_path / "x.png"]) == "center"


def test_official_partition_is_used_when_present(tmp_path):
    images = tmp_path / "img"
    paths = write_images(images, 6)
    lines = [f"{p.stem}.jpg {0 if i < 4 else 1}" for i, p in enumerate(paths)]
    (tmp_path / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    train, val = data.split_paths(paths, images)
    assert [p.name for p in train] == [p.name for p in paths[:4]]
    assert [p.name for p in val] == [p.name for p in paths[4:]]


def test_seeded_split_is_reproducible_and_disjoint(tmp_path):
    paths = write_images(tmp_path, 40)
    train, val = data.split_paths(paths, tmp_path)
    assert (train, val) == data.split_paths(paths, tmp_path)
    assert len(val) == 2 and not set(train) & set(val) and len(train) + len(val) == 40


def test_tf_dataset_batches_caches_and_skips(tmp_path):
    paths = write_images(tmp_path / "img", 10)
    (tmp_path / "img" / "bad.png").write_bytes(b"garbage")
    paths = data.find_images(tmp_path / "img")
    report = data.SkipReport()
    ds, n = tf_dataset(paths, 16, "center", 4, shuffle=True, flip=True, cache_dir=tmp_path / "cache",
                            report=report)
    assert n == 10 and len(report) == 1
    batches = [b.numpy() for b in ds]
    assert len(batches) == 2 and batches[0].shape == (4, 16, 16, 3)
    assert batches[0].dtype == np.float32 and 0.0 <= batches[0].min() and batches[0].max() <= 1.0
    assert list((tmp_path / "cache").glob("images-*.index")), "the preprocessed images are cached on disk"
    second = [b.numpy() for b in ds]
    assert len(second) == 2


def test_prepare_folder_writes_compact_copy_with_marker(tmp_path):
    write_images(tmp_path / "src", 3, size=50)
    written = data.prepare_folder(tmp_path / "src", tmp_path / "out", 32, "center")
    assert written == 3
    assert len(list((tmp_path / "out").glob("*.webp"))) == 3
    assert json.loads((tmp_path / "out" / data.PREPARED_MARKER).read_text())["crop"] == "center"
    assert data.prepared_crop(tmp_path / "out") == "center"
    assert data.prepared_and_model_crop(tmp_path / "out", "celeba") == "none"
    assert data.prepared_and_model_crop(tmp_path / "src", "celeba") == "celeba"
