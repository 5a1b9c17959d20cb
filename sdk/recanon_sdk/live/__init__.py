"""Live cameras: many streams at once, each recorded as complete, signed segments, reconnecting.

>>> from recanon_sdk.live import load_cameras, RecorderSettings, watch_processes   # doctest: +SKIP
>>> cameras = load_cameras("cameras.toml")                                         # doctest: +SKIP
>>> watch_processes(cameras, RecorderSettings(Path("rec")), stop=event, on_event=print)  # doctest: +SKIP

Modules, one job each: :mod:`~recanon_sdk.live.config` (the TOML camera list),
:mod:`~recanon_sdk.live.grabber` (read a camera, reconnect, never stall it),
:mod:`~recanon_sdk.live.segments` (a segment as a source), :mod:`~recanon_sdk.live.recorder` (one
camera, segment after segment), :mod:`~recanon_sdk.live.supervisor` (many cameras: processes or Ray
actors).
"""

from __future__ import annotations

from recanon_sdk.live.config import CameraConfig, load_cameras, parse_cameras
from recanon_sdk.live.recorder import CameraRecorder, RecorderSettings
from recanon_sdk.live.supervisor import watch_processes, watch_ray

__all__ = [
    "CameraConfig",
    "CameraRecorder",
    "RecorderSettings",
    "load_cameras",
    "parse_cameras",
    "watch_processes",
    "watch_ray",
]
