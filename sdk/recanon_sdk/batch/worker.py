"""One job, in whatever process runs it: this process, a local worker process or a Ray worker.

:func:`run_job` cleans what a killed earlier attempt left (hidden temporaries), builds the pipeline
once per process and settings (model loading takes seconds; the next file reuses it), runs
:meth:`~recanon_sdk.anonymizer.Anonymizer.process_video` (which commits all outputs together or none)
and returns a :class:`~recanon_sdk.batch.jobs.FileResult`. Expected failures (a corrupt file, an
output that exists) become a ``failed`` result; anything else is raised, for the runner to retry or
report.

Progress goes to the sink set by :func:`set_event_sink` as tuples: ``("frames", index, done, total)``
at most a few times a second, so that sending them to another process or a Ray actor costs nothing
measurable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from recanon_sdk import interrupts
from recanon_sdk.batch.jobs import BatchSettings, FileResult, Job, remove_temporaries
from recanon_sdk.errors import Interrupted, RecanonError

EventSink = Callable[[tuple[Any, ...]], None]
#: Seconds between two progress events of one job.
PROGRESS_INTERVAL_S = 0.5

_sink: EventSink | None = None
_pipelines: dict[tuple[Any, ...], Any] = {}
#: Run signers this process loaded, by the identity of their two files: the device key's Argon2id
#: costs about a second and 256 MiB per load, so it is paid once per worker, not once per file.
_signers: dict[tuple[Any, ...], Any] = {}


def set_event_sink(sink: EventSink | None) -> None:
    """Where this process's jobs send their progress (``None``: nowhere)."""
    global _sink
    _sink = sink


def _emit(event: tuple[Any, ...]) -> None:
    if _sink is not None:
        with contextlib.suppress(Exception):  # progress is best effort; it never fails a job
            _sink(event)


def init_worker_process(sink: EventSink | None, threads: int | None) -> None:
    """Set up a worker process: progress sink, thread counts, and signals that stop runs cleanly.

    SIGTERM and SIGINT stop the run in progress the way Ctrl-C stops ``recanon anonymize``: its
    temporaries are removed and nothing is committed. A second signal does not interrupt the cleanup.
    """
    set_event_sink(sink)
    if threads is not None:
        with contextlib.suppress(Exception):
            import cv2

            cv2.setNumThreads(threads)

    def stop(signum: int, frame: object) -> None:
        first = not interrupts.requested()
        interrupts.request()
        if first:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def pipeline_for(job: Job, settings: BatchSettings) -> Any:
    """The :class:`~recanon_sdk.anonymizer.Anonymizer` for ``job``'s kind, built once per process."""
    config = settings.config_for(job.kind)
    secret = hashlib.sha256(config.model_secret or b"").hexdigest()  # the secret is not in repr
    key = (
        job.kind,
        repr(config),
        secret,
        settings.backend,
        settings.engine,
        settings.providers,
        settings.threads,
    )
    anonymizer = _pipelines.get(key)
    if anonymizer is None:
        from recanon_sdk.anonymizer import Anonymizer
        from recanon_sdk.detect.backend import create_pose_detector

        detector = create_pose_detector(
            config.detector,
            settings.backend,  # type: ignore[arg-type]
            providers=list(settings.providers) if settings.providers else None,
            threads=settings.threads,
            engine=settings.engine,  # type: ignore[arg-type]
        )
        anonymizer = Anonymizer(config, detector=detector)
        _pipelines[key] = anonymizer
    return anonymizer


def signer_for(spec: Any) -> Any:
    """The :class:`~recanon_sdk.signing.RunSigner` of ``spec`` (a ``SigningSpec``), loaded once per
    process while its deployment and device-key files stay as they were (path, size, modification)."""
    files = []
    for path in (spec.deployment, spec.device_key):
        try:
            stat = os.stat(path)
        except OSError:
            return spec.load()  # reports the missing file in its own words
        files.append((os.fspath(path), stat.st_size, stat.st_mtime_ns))
    key = (*files, spec.passphrase_file and os.fspath(spec.passphrase_file))
    if key not in _signers:
        _signers[key] = spec.load()
    return _signers[key]


def _with_model_secret(settings: BatchSettings, signer: Any) -> BatchSettings:
    """Settings whose GX configs carry the secret derived from the device key (never sent in a job)."""
    import dataclasses

    import recanon_keys as rk

    secret = rk.derive_model_secret(signer.device_key, signer.deployment)
    return dataclasses.replace(
        settings,
        video=dataclasses.replace(settings.video, model_secret=secret),
        stills=dataclasses.replace(settings.stills, model_secret=secret),
        gx_from_device_key=False,
    )


def peak_rss_mib() -> float | None:
    """This process's peak resident memory so far, in MiB (``None`` where the platform does not say).

    Linux: ``VmHWM`` (per process image; ``getrusage``'s maximum survives exec, so a spawned worker
    would report its parent's peak). Elsewhere: ``getrusage``.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job: Job, settings: BatchSettings) -> FileResult:
    """Run one job here; see the module docstring."""
    result = FileResult(job.index, os.fspath(job.source), "failed", worker=worker_name())
    if interrupts.requested():
        result.status, result.error = "interrupted", "stopped before it started"
        return result
    result.cleaned_temporaries = len(remove_temporaries(job))
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            _emit(("frames", job.index, done, total))

    _emit(("start", job.index, worker_name()))
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        signer = signer_for(settings.signing) if settings.signing is not None else None
        if settings.gx_from_device_key and signer is not None:
            settings = _with_model_secret(settings, signer)
        run = pipeline_for(job, settings).process_video(
            job.source,
            job.output,
            overwrite=settings.overwrite,
            max_frames=settings.max_frames,
            on_progress=progress,
            signer=signer,
            seal_originals_to=settings.seal_to,
            originals_config=settings.originals,
        )
    except Interrupted as error:
        result.status, result.error = "interrupted", error.message
        return result
    except RecanonError as error:
        result.error, result.hint = error.message, error.hint
        return result
    except OSError as error:  # e.g. the output folder cannot be created
        result.error = f"cannot write '{error.filename}': {error.strerror}"
        return result
    finally:
        result.peak_rss_mib = peak_rss_mib()
    result.status = "done"
    result.output, result.sidecar = os.fspath(run.output), os.fspath(run.sidecar)
    result.manifest = None if run.manifest is None else os.fspath(run.manifest)
    result.originals = None if run.originals is None else os.fspath(run.originals)
    result.frames, result.persons, result.tracks = run.frames, run.persons, run.tracks
    result.obscured_frames, result.seconds = run.obscured_frames, run.seconds
    result.stopped_early = run.stopped_early
    return result
