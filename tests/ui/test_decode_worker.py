"""The decode worker: off the UI thread, latest wins, failures reported."""

import threading
import time

import numpy as np
import pytest

from latentlab.ui.workers.decode_worker import AsyncDecoder


@pytest.fixture
def make_decoder():
    """AsyncDecoder factory whose threads are always stopped."""
    decoders = []

    def make(decode):
        decoders.append(AsyncDecoder(decode))
        return decoders[-1]

    yield make
    for decoder in decoders:
        decoder.stop()


def slow_decode(seen):
    def decode(z):
        seen.append((float(z[0]), threading.get_ident()))
        time.sleep(0.05)
        return np.full((4, 4, 3), float(z[0]) / 100.0, np.float32)

    return decode


def test_a_burst_of_requests_decodes_only_the_first_and_the_last(qtbot, make_decoder):
    seen, results = [], []
    decoder = make_decoder(slow_decode(seen))
    decoder.decoded.connect(lambda image, z, ms: results.append((float(z[0]), ms)))
    decoder.request(np.array([0.0, 0.0], np.float32))
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)  # decoding 0 now: 1 .. 49 arrive meanwhile
    for value in range(1, 50):
        decoder.request(np.array([value, 0.0], np.float32))
    qtbot.waitUntil(lambda: bool(results) and results[-1][0] == 49.0, timeout=5000)
    qtbot.wait(150)
    decoder.stop()
    assert [v for v, _ in results] == [0.0, 49.0]
    assert all(ms >= 40 for _, ms in results)
    assert all(thread != threading.get_ident() for _, thread in seen)


def test_a_failing_decode_is_reported_and_the_worker_goes_on(qtbot, make_decoder):
    def decode(z):
        if z[0] < 0:
            raise ValueError("bad latent")
        return np.zeros((2, 2, 3), np.float32)

    decoder = make_decoder(decode)
    with qtbot.waitSignal(decoder.failed) as failure:
        decoder.request(np.array([-1.0]))
    assert "bad latent" in failure.args[0]
    with qtbot.waitSignal(decoder.decoded):
        decoder.request(np.array([1.0]))
    decoder.stop()
    decoder.stop()
