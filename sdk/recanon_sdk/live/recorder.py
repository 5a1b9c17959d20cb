"""Record one camera as a sequence of complete segments, for as long as it is asked to.

Each segment is one :meth:`~recanon_sdk.anonymizer.Anonymizer.process_video` run: a playable video,
its sidecar, and when configured its signature, manifest and sealed originals, all committed together
when the segment closes. A crash therefore loses at most the open segment (its hidden temporaries are
removed at the next start); a stop (:meth:`CameraRecorder.stop`, SIGTERM, Ctrl-C) closes the open
segment properly. The pipeline (detector, enhancer) is built once; tracker state starts afresh with
each segment, so memory does not grow with uptime.

Events go to ``on_event`` as dicts: ``{"type": "segment", ...}`` per committed segment,
``{"type": "status", ...}`` now and then, ``{"type": "error", ...}`` when a segment fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recanon_sdk.errors import RecanonError
from recanon_sdk.live.config import CameraConfig
from recanon_sdk.live.grabber import FrameGrabber
from recanon_sdk.live.segments import LiveSegment, segment_path

OnEvent = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    """How every camera is recorded (the cameras' own settings are in :class:`CameraConfig`)."""

    out_dir: Path
    segment_seconds: float | None = 600.0
    segment_frames: int | None = None
    max_segments: int | None = None
    imgsz: int | None = None
    threads: int | None = None
    backend: str = "auto"
    buffer_frames: int = 16
    backoff: float = 1.0
    backoff_max: float = 60.0
    stream_timeout_s: float = 10.0
    status_every_s: float = 30.0
    passphrases: dict[str, str] | None = None  # camera name → passphrase (local processes only)


def rss_bytes() -> int | None:
    """This process's resident memory (Linux), or ``None``."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def clean_camera_folder(folder: Path) -> int:
    """Remove hidden temporaries a crashed earlier recorder left in ``folder``; return how many."""
    if not folder.is_dir():
        return 0
    pattern = re.compile(r"\..+\.[0-9a-f]{8}\.partial(\.[A-Za-z0-9]+)?")
    removed = 0
    for name in os.listdir(folder):
        if pattern.fullmatch(name):
            try:
                (folder / name).unlink()
                removed += 1
            except (FileNotFoundError, IsADirectoryError):
                continue
    return removed


class CameraRecorder:
    """Records ``camera`` into ``settings.out_dir / camera.name`` until :meth:`stop`."""

    def __init__(self, camera: CameraConfig, settings: RecorderSettings, on_event: OnEvent | None = None):
        self.camera = camera
        self.settings = settings
        self.on_event = on_event or (lambda event: None)
        self.folder = settings.out_dir / camera.name
        self.segments = 0
        self.frames = 0
        self.errors = 0
        self._stop = threading.Event()
        self._grabber: FrameGrabber | None = None

    def stop(self) -> None:
        self._stop.set()
        if self._grabber is not None:
            self._grabber.stop()

    def _emit(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # reporting never stops recording
            self.on_event({"camera": self.camera.name, **event})

    def _pipeline(self) -> tuple[Any, Any]:
        """The anonymizer and the signer factory for this camera (keys loaded once)."""
        from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
        from recanon_sdk.batch.jobs import SigningSpec
        from recanon_sdk.detect.backend import create_pose_detector
        from recanon_sdk.detect.pose import DetectorConfig

        camera, settings = self.camera, self.settings
        config = AnonymizerConfig(
            detector=DetectorConfig(imgsz=settings.imgsz), enhancer=camera.enhancer, strength=camera.strength
        )
        signer = None
        if camera.signed and camera.deployment is not None and camera.device_key is not None:
            passphrase = (settings.passphrases or {}).get(camera.name)
            signer = SigningSpec(
                camera.deployment, camera.device_key, camera.passphrase_file, passphrase
            ).load()
            if camera.enhancer == "gx":
                import dataclasses

                import recanon_keys as rk

                secret = rk.derive_model_secret(signer.device_key, signer.deployment)
                config = dataclasses.replace(config, model_secret=secret)
        detector = create_pose_detector(config.detector, settings.backend, threads=settings.threads)  # type: ignore[arg-type]
        return Anonymizer(config, detector=detector), signer

    def run(self) -> None:
        """Record until stopped (or ``max_segments``). Raises only for a setup error (keys, model)."""
        from recanon_sdk.signing import RunSigner

        self.folder.mkdir(parents=True, exist_ok=True)
        cleaned = clean_camera_folder(self.folder)
        anonymizer, signer = self._pipeline()
        seal_to = signer.deployment if (signer is not None and self.camera.seal_originals) else None
        settings = self.settings
        grabber = FrameGrabber(
            self.camera.url,
            buffer_frames=settings.buffer_frames,
            backoff=settings.backoff,
            backoff_max=settings.backoff_max,
            stream_timeout_s=settings.stream_timeout_s,
        )
        self._grabber = grabber
        if self._stop.is_set():
            return
        grabber.start()
        self._emit(
            {
                "type": "started",
                "url": self.camera.shown_url,
                "cleaned_temporaries": cleaned,
                "rss": rss_bytes(),
            }
        )
        last_status = time.monotonic()
        try:
            while not self._stop.is_set():
                if settings.max_segments is not None and self.segments >= settings.max_segments:
                    return
                first = grabber.get(1.0)
                if time.monotonic() - last_status >= settings.status_every_s:
                    last_status = time.monotonic()
                    self._emit(self.status())
                if first is None:
                    continue
                segment = LiveSegment(
                    grabber, first, max_frames=settings.segment_frames, max_seconds=settings.segment_seconds
                )
                started = datetime.now(UTC)
                path = segment_path(self.folder, self.camera.name, started)
                try:
                    result = anonymizer.process_video(
                        segment,
                        path,
                        signer=None if signer is None else RunSigner(signer.device_key, signer.deployment),
                        seal_originals_to=seal_to,
                    )
                except RecanonError as error:
                    self.errors += 1
                    self._emit({"type": "error", "error": error.message, "segment": path.name})
                    continue
                self.segments += 1
                self.frames += result.frames
                self._emit(
                    {
                        "type": "segment",
                        "output": os.fspath(result.output),
                        "sidecar": os.fspath(result.sidecar),
                        "manifest": None if result.manifest is None else os.fspath(result.manifest),
                        "started": started.isoformat(timespec="seconds"),
                        "frames": result.frames,
                        "persons": result.persons,
                        "obscured_frames": result.obscured_frames,
                        "seconds": round(result.seconds, 3),
                        "ended": result.stopped_early or "full",
                        "dropped_total": grabber.dropped,
                        "reconnects": grabber.reconnects,
                        "rss": rss_bytes(),
                    }
                )
        finally:
            grabber.stop()
            grabber.join(timeout=settings.stream_timeout_s + 5)
            self._emit({**self.status(), "type": "stopped"})

    def status(self) -> dict[str, Any]:
        grabber = self._grabber
        return {
            "type": "status",
            "segments": self.segments,
            "frames": self.frames,
            "frames_read": 0 if grabber is None else grabber.frames_read,
            "dropped": 0 if grabber is None else grabber.dropped,
            "reconnects": 0 if grabber is None else grabber.reconnects,
            "last_error": None if grabber is None else grabber.last_error,
            "errors": self.errors,
            "rss": rss_bytes(),
        }
