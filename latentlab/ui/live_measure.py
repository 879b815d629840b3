"""What `vae.py bench` measures of the live mirror, through the real Your face panel: a video source as the camera
(CameraWorker), the live worker, the faces handed to the view on the UI thread. Runs offscreen without a display."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from latentlab.ui.measure import _application


def live_mirror_run(codec, open_source: Callable[[int], object], seconds: float, warmup_s: float = 60.0) -> dict:
    """Run the panel's live mode on the source made by `open_source` for `seconds` after its first live face:
    faces shown per second, the latency of each (frame captured -> decoded face given to the view, ms), the
    frames the camera read and how many full detections ran."""
    app = _application()
    from latentlab.faces.camera import CameraInfo
    from latentlab.ui.panels.face_panel import FacePanel

    panel = FacePanel(codec, None, frame_source_factory=open_source, cameras=[CameraInfo(0, "bench video")])
    panel.resize(420, 700)
    panel.show()
    latencies: list[float] = []
    panel.live.shown.connect(lambda frame: latencies.append((time.perf_counter() - frame.captured_at) * 1000.0))
    panel.start_camera()
    deadline = time.perf_counter() + warmup_s
    while not panel.camera_running or panel._camera.latest_frame() is None:
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() > deadline:
            break
    panel.set_live(True)
    while not latencies and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.002)
    latencies.clear()
    pipeline = panel.live.mirror.pipeline
    detections = pipeline.tracker.detections
    read_before = panel._camera.frames_read if panel._camera else 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    read = (panel._camera.frames_read if panel._camera else 0) - read_before
    result = {"shown": len(latencies), "seconds": elapsed, "latencies_ms": np.array(latencies),
              "camera_frames": read, "detections": pipeline.tracker.detections - detections,
              "message": panel.message()}
    panel.shutdown()
    panel.close()
    return result
