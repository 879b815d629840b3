"""tf.distribute for real: two worker processes on localhost, a two-device MirroredStrategy, resume under the
strategy, and the one-line errors of a bad TF_CONFIG, a busy port and a worker that never comes up."""

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab.errors import UserError
from latentlab.paths import PROJECT_ROOT
from latentlab.train.distributed import Worker, listen, read_tf_config
from tests.helpers import write_images

TINY_TRAIN = ["--image-size", "32", "--latent-dim", "8", "--widths", "8,16", "--batch-size", "8"]
# Final training loss of 2 epochs (10 steps) on the same global batch: one process 272.9, two workers 274.0,
# two mirrored devices 274.1 (each replica draws its own Sampling noise, so the runs are not bit-identical).
LOSS_TOLERANCE = 0.03
PROCESS_TIMEOUT_S = 300


def free_ports(n: int) -> list[int]:
    sockets = [socket.create_server(("localhost", 0)) for _ in range(n)]
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def train_process(args: list[str], tf_config_text: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    if tf_config_text is not None:
        env["TF_CONFIG"] = tf_config_text
    return subprocess.Popen([sys.executable, str(PROJECT_ROOT / "vae.py"), "train", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=PROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def final_loss(log_csv: Path) -> float:
    with open(log_csv) as file:
        return float(list(csv.DictReader(file))[-1]["loss"])


def summary_of(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("text, message", [
    (None, "needs TF_CONFIG"),
    ("{cluster", "not valid JSON"),
    ('{"cluster": {"worker": ["a:1"]}}', '"task" object'),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "'ps' tasks"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "task index 2"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "task type 'chief'"),
    ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "same host:port twice"),
    ('{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}', "expected host:port"),
])
def test_inconsistent_tf_config_is_one_clear_error(text, message):
    with pytest.raises(UserError, match=message):
        read_tf_config(text)


def test_tf_config_orders_the_chief_first():
    text = json.dumps({"cluster": {"chief": ["c:1"], "worker": ["w:1", "w:2"]}, "task": {"type": "worker", "index": 1}})
    addresses, worker = read_tf_config(text)
    assert addresses == ["c:1", "w:1", "w:2"]
    assert worker == Worker(index=2, count=3, addresses=("c:1", "w:1", "w:2")) and not worker.chief
    assert read_tf_config(text.replace('"worker", "index": 1', '"chief", "index": 0'))[1].chief


def test_a_port_in_use_is_named():
    with socket.create_server(("", 0)) as holder:
        port = holder.getsockname()[1]
        with pytest.raises(UserError, match=f"port {port} of this worker .* is in use"):
            listen(f"localhost:{port}")


@pytest.mark.slow
def test_a_worker_that_never_comes_up_is_one_line_within_the_timeout(tmp_path, image_folder):
    out = tmp_path / "data" / "w.weights.h5"
    started = time.monotonic()
    code, _, err = finish(train_process(
        ["--data", str(image_folder), "--epochs", "1", *TINY_TRAIN, "--out", str(out),
         "--runs-dir", str(tmp_path / "runs"),
         "--strategy", "multiworker", "--worker-timeout", "3"], tf_config(free_ports(2), 0)))
    assert code == 2
    assert err.strip().count("\n") == 0 and "did not come up within 3 s" in err
    assert time.monotonic() - started < 90
    assert not out.parent.exists()


@pytest.mark.slow
def test_two_workers_train_like_one_process_and_resume(tmp_path, image_folder, trained_tiny):
    out_dir = tmp_path / "data"
    ports = free_ports(2)
    args = ["--data", str(image_folder), *TINY_TRAIN, "--out", str(out_dir / "w.weights.h5"),
            "--runs-dir", str(tmp_path / "runs"), "--name", "pair", "--strategy", "multiworker"]
    workers = [train_process([*args, "--epochs", "2"], tf_config(ports, i)) for i in range(2)]
    results = [finish(w) for w in workers]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    chief, other = (summary_of(out) for _, out, _ in results)
    assert chief["workers"] == 2 and chief["replicas"] == 2 and chief["epochs"] == 2
    assert other["train_loss"] == chief["train_loss"]  # one model, trained in sync

    run = tmp_path / "runs" / "pair"
    assert sorted(p.name for p in out_dir.iterdir()) == ["w.json", "w.weights.h5"]
    assert {"log.csv", "loss.png", "samples", "tensorboard", "state.json", "checkpoint.weights.h5"} <= {
        p.name for p in run.iterdir()}
    assert sorted(p.name for p in (run / "worker-1").iterdir()) == ["checkpoint.weights.h5", "state.json"]
    single = final_loss(trained_tiny.parent / "runs" / "tiny" / "log.csv")
    assert final_loss(run / "log.csv") == pytest.approx(single, rel=LOSS_TOLERANCE)

    from latentlab.model.codec import Codec

    codec = Codec.load(out_dir / "w.weights.h5")
    images = np.stack([np.asarray(Image.open(p)) for p in write_images(tmp_path / "x", 4, 32)])
    reconstructions = codec.reconstruct(images)
    assert reconstructions.shape == (4, 32, 32, 3) and np.isfinite(reconstructions).all()

    ports = free_ports(2)
    workers = [train_process([*args, "--epochs", "3", "--resume"], tf_config(ports, i)) for i in range(2)]
    results = [finish(w) for w in workers]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    assert summary_of(results[0][1])["epochs"] == 3
    with open(run / "log.csv") as file:
        assert [row["epoch"] for row in csv.DictReader(file)] == ["0", "1", "2"]


@pytest.mark.slow
def test_mirrored_on_two_cpu_devices_trains_like_one(tmp_path, image_folder, trained_tiny):
    args = ["--data", str(image_folder), "--runs-dir", str(tmp_path / "runs"), "--name", "mirror",
            "--strategy", "mirrored", "--cpu-devices", "2"]
    code, out, err = finish(train_process([*args, *TINY_TRAIN, "--epochs", "2",
                                           "--out", str(tmp_path / "w.weights.h5")]))
    assert code == 0, err[-2000:]
    assert summary_of(out)["replicas"] == 2
    single = final_loss(trained_tiny.parent / "runs" / "tiny" / "log.csv")
    assert final_loss(tmp_path / "runs" / "mirror" / "log.csv") == pytest.approx(single, rel=LOSS_TOLERANCE)

    odd_batch = [*TINY_TRAIN[:-1], "7"]
    code, _, err = finish(train_process([*args, *odd_batch, "--epochs", "1", "--out", str(tmp_path / "b.weights.h5")]))
    assert code == 2 and "must be a multiple of the 2 replicas" in err
    assert not (tmp_path / "b.weights.h5").exists()



@pytest.mark.slow
def test_a_worker_that_dies_stops_the_others_with_one_line(tmp_path, image_folder):
    ports = free_ports(2)
    args = ["--data", str(image_folder), *TINY_TRAIN, "--epochs", "500", "--out", str(tmp_path / "w.weights.h5"),
            "--runs-dir", str(tmp_path / "runs"), "--name", "loss", "--strategy", "multiworker"]
    chief, other = (train_process(args, tf_config(ports, i)) for i in range(2))
    log = tmp_path / "runs" / "loss" / "log.csv"
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while not (log.is_file() and log.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.5)
    other.kill()
    other.communicate()
    killed = time.monotonic()
    code, _, err = finish(chief)
    assert code == 2 and time.monotonic() - killed < 60
    assert err.strip().splitlines()[-1] == (
        f"error: worker 1 (localhost:{ports[1]}) stopped during training: start every worker again with --resume "
        "(they continue from the last finished epoch)")
    assert (tmp_path / "w.weights.h5").is_file()  # the last finished epoch's weights stay
