"""Run many cameras at once: one process per camera on this machine, or one Ray actor per camera.

Processes: each camera records in its own spawned process (its own ONNX Runtime session); a process
that dies is started again after a pause that doubles up to a minute. A stop (``stop`` event,
Ctrl-C, SIGTERM) asks every camera to close its open segment and waits for it.

Ray (``ray=`` ``"auto"``, ``"local"`` or an address): each camera is a long-running actor
(``max_restarts=-1``: Ray restarts it, on another node if need be, when its process or node dies;
the restarted actor starts a new segment). Outputs go to the same folder path on every node.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from recanon_sdk.live.config import CameraConfig
from recanon_sdk.live.recorder import CameraRecorder, RecorderSettings

OnEvent = Callable[[dict[str, Any]], None]
#: Seconds every camera gets to close its open segment after a stop.
STOP_GRACE_S = 60.0
RESTART_MAX_S = 60.0


def _camera_process(camera: CameraConfig, settings: RecorderSettings, events: Any) -> None:
    """A camera's process: record until SIGTERM/SIGINT, which close the open segment cleanly."""
    recorder = CameraRecorder(camera, settings, events.put)

    def stop(signum: int, frame: object) -> None:
        recorder.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        recorder.run()
    except Exception as error:  # a setup error (keys, model): report, exit non-zero, get restarted
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        events.put({"camera": camera.name, "type": "error", "error": message, "fatal": True})
        raise SystemExit(2) from None


def watch_processes(
    cameras: Sequence[CameraConfig],
    settings: RecorderSettings,
    *,
    stop: threading.Event,
    on_event: OnEvent,
) -> None:
    """Record every camera in its own process until ``stop`` is set (or each reaches ``max_segments``)."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    processes: dict[str, Any] = {}
    restarts: dict[str, int] = dict.fromkeys((c.name for c in cameras), 0)
    next_start: dict[str, float] = dict.fromkeys((c.name for c in cameras), 0.0)
    finished: set[str] = set()

    def start(camera: CameraConfig) -> None:
        process = context.Process(
            target=_camera_process,
            args=(camera, settings, events),
            name=f"recanon-cam-{camera.name}",
            daemon=False,
        )
        process.start()
        processes[camera.name] = process

    def pump(timeout: float) -> None:
        try:
            event = events.get(timeout=timeout)
        except queue.Empty:
            return
        on_event(event)
        while True:
            try:
                on_event(events.get_nowait())
            except queue.Empty:
                return

    try:
        while not stop.is_set() and len(finished) < len(cameras):
            now = time.monotonic()
            for camera in cameras:
                process = processes.get(camera.name)
                if camera.name in finished or (process is not None and process.is_alive()):
                    continue
                if process is not None:  # it ended: done (max_segments) or died
                    processes.pop(camera.name)
                    if process.exitcode == 0:
                        finished.add(camera.name)
                        continue
                    restarts[camera.name] += 1
                    delay = min(RESTART_MAX_S, 2.0 ** restarts[camera.name])
                    next_start[camera.name] = now + delay
                    on_event(
                        {
                            "camera": camera.name,
                            "type": "restart",
                            "exitcode": process.exitcode,
                            "in_s": delay,
                        }
                    )
                    continue
                if now >= next_start[camera.name]:
                    start(camera)
            pump(0.5)
    finally:
        for process in processes.values():
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()  # SIGTERM: the camera closes its open segment
        deadline = time.monotonic() + STOP_GRACE_S
        for process in processes.values():
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        pump(0.1)


def watch_ray(
    cameras: Sequence[CameraConfig],
    settings: RecorderSettings,
    *,
    stop: threading.Event,
    on_event: OnEvent,
    address: str = "auto",
) -> None:
    """Record every camera in a Ray actor that Ray restarts when it dies, until ``stop`` is set."""
    from recanon_sdk.batch.ray_runner import connect, require_ray

    ray = require_ray()
    from ray.util.queue import Queue

    started_here = connect(address)
    try:
        events = Queue(maxsize=10_000)
        actor_class = ray.remote(
            max_restarts=-1, max_task_retries=-1, max_concurrency=2, num_cpus=settings.threads or 1
        )(CameraActor)
        remote_settings = settings if settings.passphrases is None else _without_passphrases(settings)
        actors = [actor_class.remote(camera, remote_settings, events) for camera in cameras]
        runs = [actor.run.remote() for actor in actors]
        pending = list(runs)
        while pending and not stop.is_set():
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
            _drain(events, on_event)
            for ref in done:
                try:
                    ray.get(ref)
                except Exception as error:  # a setup error (keys, model) that a restart cannot fix
                    on_event({"camera": "?", "type": "error", "error": str(error)[:300], "fatal": True})
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.get(actor.stop.remote(), timeout=10)
        with contextlib.suppress(Exception):
            ray.wait(runs, num_returns=len(runs), timeout=STOP_GRACE_S)
        _drain(events, on_event)
    finally:
        if started_here:
            ray.shutdown()


def _without_passphrases(settings: RecorderSettings) -> RecorderSettings:
    import dataclasses

    return dataclasses.replace(settings, passphrases=None)


def _drain(events: Any, on_event: OnEvent) -> None:
    while True:
        try:
            event = events.get_nowait()
        except Exception:
            return
        on_event(event)


class CameraActor:
    """A camera as a Ray actor: :meth:`run` records until :meth:`stop` (a second concurrent call)."""

    def __init__(self, camera: CameraConfig, settings: RecorderSettings, events: Any) -> None:
        self.recorder = CameraRecorder(camera, settings, events.put_nowait)

    def run(self) -> int:
        self.recorder.run()
        return self.recorder.segments

    def stop(self) -> None:
        self.recorder.stop()
