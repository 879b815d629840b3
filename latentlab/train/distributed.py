"""tf.distribute for `vae.py train --strategy mirrored|multiworker`, started before any TensorFlow op.

TensorFlow configures collective ops once per process, so the strategy is made at start-up
(`start_strategy`), before the data pipeline or the model exist. `multiworker` reads the cluster
from TF_CONFIG, as TensorFlow documents it:

    {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}

Mistakes in it, a port already in use, or a worker that never comes up are one line each
(`UserError`), within `timeout_s`. `--batch-size` is the global batch: each of the
`num_replicas_in_sync` replicas computes an equal share of it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass

from latentlab.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")
WORKER_TIMEOUT_S = 120.0
TASK_TYPES = ("chief", "worker")


@dataclass(frozen=True)
class Worker:
    """This process's place in training: task index, number of workers, and whether it is the chief
    (the one that writes the user-facing files)."""

    index: int = 0
    count: int = 1
    addresses: tuple[str, ...] = ()

    @property
    def chief(self) -> bool:
        return self.index == 0


def _address_port(address: str, where: str) -> tuple[str, int]:
    host, _, port = str(address).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"TF_CONFIG: {where} is {address!r}, expected host:port")
    return host, int(port)


def read_tf_config(text: str | None) -> tuple[list[str], Worker]:
    """TF_CONFIG -> (every task's address, chief first, then the workers in order; this process's Worker).

    UserError naming the problem when TF_CONFIG is missing or inconsistent."""
    if not text:
        raise UserError("--strategy multiworker needs TF_CONFIG: "
                        '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}')
    try:
        tf_config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"TF_CONFIG is not valid JSON ({exc.msg} at character {exc.pos})") from None
    cluster, task = (tf_config.get("cluster"), tf_config.get("task")) if isinstance(tf_config, dict) else (None, None)
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise UserError('TF_CONFIG needs a "cluster" object and a "task" object')
    unknown = sorted(set(cluster) - set(TASK_TYPES))
    if unknown:
        raise UserError(f"TF_CONFIG: cluster has {unknown[0]!r} tasks; training uses only 'chief' and 'worker'")
    listed = all(isinstance(cluster.get(t, []), list) for t in TASK_TYPES)
    if not listed or not cluster.get("worker") and not cluster.get("chief"):
        raise UserError('TF_CONFIG: cluster must list addresses, e.g. {"worker": ["host1:port", "host2:port"]}')
    if len(cluster.get("chief", [])) > 1:
        raise UserError(f"TF_CONFIG: cluster lists {len(cluster['chief'])} chiefs; there can be one")
    addresses = [*cluster.get("chief", []), *cluster.get("worker", [])]
    for i, address in enumerate(addresses):
        _address_port(address, f"cluster address {i + 1}")
    if len(set(addresses)) != len(addresses):
        raise UserError("TF_CONFIG: the cluster lists the same host:port twice")
    task_type, task_index = task.get("type"), task.get("index", 0)
    if task_type not in TASK_TYPES or task_type not in cluster:
        raise UserError(f"TF_CONFIG: task type {task_type!r} is not in the cluster ({', '.join(cluster)})")
    if not isinstance(task_index, int) or not 0 <= task_index < len(cluster[task_type]):
        raise UserError(f"TF_CONFIG: task index {task_index!r} is outside the cluster's "
                        f"{len(cluster[task_type])} {task_type} address(es)")
    offset = len(cluster.get("chief", [])) if task_type == "worker" else 0
    return addresses, Worker(index=offset + task_index, count=len(addresses), addresses=tuple(addresses))


def listen(address: str) -> socket.socket:
    """A listening socket on this worker's TF_CONFIG port; UserError when another program holds the port."""
    _, port = _address_port(address, "this task's address")
    try:
        return socket.create_server(("", port))  # SO_REUSEADDR: a closed connection's TIME_WAIT is no owner
    except OSError:
        raise UserError(f"port {port} of this worker ({address}) is in use: "
                        "stop what holds it or give this worker another port in TF_CONFIG") from None


def _greet(address: str, index: int) -> bool:
    host, port = _address_port(address, "a cluster address")
    try:
        with socket.create_connection((host, port), timeout=0.5) as connection:
            connection.sendall(f"latentlab-worker {index}\n".encode())
        return True
    except OSError:
        return False


def _greeting(listener: socket.socket) -> int | None:
    """The index a peer sent to `listener`, or None (nothing within 0.2 s, or not one of ours)."""
    try:
        connection, _ = listener.accept()
    except (TimeoutError, OSError):
        return None
    with connection:
        connection.settimeout(2.0)
        try:
            words = connection.recv(64).decode(errors="replace").split()
        except OSError:
            return None
    return int(words[1]) if len(words) == 2 and words[0] == "latentlab-worker" and words[1].isdigit() else None


def rendezvous(addresses: list[str], worker: Worker, timeout_s: float) -> None:
    """Return once every worker of the cluster is up, checked on plain sockets at the TF_CONFIG ports before
    TensorFlow takes them: TensorFlow's own wait for the cluster can be neither bounded nor interrupted.
    Each worker connects to every other and waits to be connected to by every other, so none leaves early."""
    listener = listen(addresses[worker.index])
    listener.settimeout(0.2)
    peers = {i for i in range(worker.count) if i != worker.index}
    reached, heard = set(), set()
    deadline = time.monotonic() + timeout_s
    with listener:
        while reached != peers or heard != peers:
            if time.monotonic() > deadline:
                missing = sorted(peers - (reached & heard))
                raise UserError(f"worker(s) {', '.join(addresses[i] for i in missing)} did not come up within "
                                f"{timeout_s:g} s: start the same command on each machine with its own task in "
                                "TF_CONFIG, or raise --worker-timeout")
            reached |= {i for i in peers - reached if _greet(addresses[i], worker.index)}
            index = _greeting(listener)
            if index in peers:
                heard.add(index)


def split_cpu(devices: int) -> None:
    """Make the CPU appear as `devices` logical devices (how a multi-GPU machine looks to MirroredStrategy)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)


def _mirrored():
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MirroredStrategy([device.name for device in tf.config.list_logical_devices("CPU")])


def start_strategy(name: str, cpu_devices: int | None = None, timeout_s: float = WORKER_TIMEOUT_S):
    """(strategy or None for 'default', this process's Worker). Call before TensorFlow runs any op."""
    if name not in STRATEGIES:
        raise UserError(f"unknown strategy {name!r}: use {', '.join(STRATEGIES)}")
    if cpu_devices is not None and cpu_devices < 1:
        raise UserError("--cpu-devices must be at least 1")
    if name == "default" and not cpu_devices:
        return None, Worker()
    import keras

    if keras.backend.backend() != "tensorflow":
        raise UserError(f"--strategy {name} and --cpu-devices need the TensorFlow backend (KERAS_BACKEND=tensorflow)")
    worker = Worker()
    if name == "multiworker":
        addresses, worker = read_tf_config(os.environ.get("TF_CONFIG"))
        rendezvous(addresses, worker, timeout_s)
    if cpu_devices:
        split_cpu(cpu_devices)
    if name == "default":
        return None, worker
    import tensorflow as tf

    return (_mirrored() if name == "mirrored" else tf.distribute.MultiWorkerMirroredStrategy()), worker


def shard_by_data(dataset):
    """The dataset with tf.data's DATA auto-sharding: each worker keeps its share of every global batch."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def lost_worker_errors(worker: Worker) -> tuple[type[Exception], ...]:
    """The exceptions TensorFlow raises in the other workers when one stops: none to catch for a single worker."""
    if worker.count < 2:
        return ()
    import tensorflow as tf

    return (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError)


def lost_worker_error(error: Exception, worker: Worker) -> UserError:
    """The one line for TensorFlow's error when a worker stopped mid-training (it notices within about 10 s)."""
    found = re.findall(r"/job:\w+/replica:\d+/task:(\d+)", str(error))
    tasks = sorted({int(t) for t in found if int(t) != worker.index})
    gone = ", ".join(f"worker {t} ({worker.addresses[t]})" if t < len(worker.addresses) else f"worker {t}"
                     for t in tasks)
    return UserError(f"{gone or 'a worker'} stopped during training: start every worker again with --resume "
                     "(they continue from the last finished epoch)")
