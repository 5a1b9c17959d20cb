"""Run a batch on Ray: each file is one Ray task, retried when its worker dies.

``address``: ``"auto"`` joins the cluster this machine belongs to (``ray start --head`` /
``--address``, or ``RAY_ADDRESS``) and starts a local Ray when there is none; ``"local"`` always
starts a local one (``num_cpus`` CPUs, default all); anything else is a cluster address
(``HOST:6379`` or ``ray://HOST:10001``). A Ray already initialized in this process is used as it is.

Each task asks for ``settings.threads`` CPUs (one ONNX Runtime thread each) and ``gpus_per_task`` of a
GPU (Ray then sets ``CUDA_VISIBLE_DEVICES`` for it; 0.5 puts two pipelines on each GPU), runs
:func:`~recanon_sdk.batch.worker.run_job` and sends progress through a :class:`ray.util.queue.Queue`.
``max_retries`` reruns a task whose worker process died (killed, out of memory, node lost); the rerun
starts from scratch and first removes the temporaries the dead attempt left. Outputs are committed by
renaming within their folder, so a file is never half-written under its final name. Inputs and the
output folder must be at the same paths on every node (a shared or NFS folder); recanon must be
installed on every node. Neither the device key nor its passphrase is sent through Ray: workers
read the key file and ``--passphrase-file`` (or ``$RECANON_PASSPHRASE``) themselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from recanon_sdk.batch.jobs import BatchSettings, FileResult, Job
from recanon_sdk.batch.local import FILES_PER_WORKER
from recanon_sdk.errors import RecanonError

OnEvent = Callable[[tuple[Any, ...]], None]
RAY_HINT = "pip install 'recanon[ray]'"
#: Seconds that cancelled tasks get to stop cleanly (and remove their temporaries) after Ctrl-C.
STOP_GRACE_S = 60.0


def require_ray() -> Any:
    """The ``ray`` module, or one sentence saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RecanonError("--ray needs the ray extra, which is not installed", hint=RAY_HINT) from None
    return ray


def connect(address: str, num_cpus: int | None = None) -> bool:
    """Initialize Ray for ``address`` (see the module docstring); return whether it was started here."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    local: dict[str, Any] = {"num_cpus": num_cpus, "include_dashboard": False, **quiet}
    if address == "local":
        ray.init(**local)
    elif address == "auto":
        try:
            ray.init(address="auto", **quiet)
        except ConnectionError:
            ray.init(**local)
    else:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise RecanonError(
                f"cannot connect to the Ray cluster at '{address}': {error}",
                hint="start it with 'ray start --head', or pass --ray auto or --ray local",
            ) from None
    return True


def _ray_entry(job: Job, settings: BatchSettings, queue: Any) -> FileResult:
    """The Ray task body: progress to ``queue``, then the job."""
    from recanon_sdk.batch.worker import run_job, set_event_sink

    set_event_sink(None if queue is None else queue.put_nowait)
    try:
        return run_job(job, settings)
    finally:
        set_event_sink(None)


def run_ray(
    jobs: Sequence[Job],
    settings: BatchSettings,
    on_event: OnEvent,
    *,
    address: str = "auto",
    num_cpus: int | None = None,
    gpus_per_task: float = 0.0,
    max_retries: int = 2,
) -> list[FileResult]:
    """The jobs as Ray tasks; results in the jobs' order."""
    ray = require_ray()
    from ray.util.queue import Queue

    started_here = connect(address, num_cpus)
    if settings.signing is not None:  # the passphrase stays on this machine
        import dataclasses

        settings = dataclasses.replace(settings, signing=settings.signing.without_passphrase())
    try:
        queue = Queue(maxsize=10_000)
        task = ray.remote(
            num_cpus=settings.threads or 1,
            num_gpus=gpus_per_task,
            max_calls=FILES_PER_WORKER,  # a fresh worker process after so many files: bounded memory
            max_retries=max_retries,
            retry_exceptions=[OSError],
        )(_ray_entry)
        refs = {task.remote(job, settings, queue): job for job in jobs}
        results: dict[int, FileResult] = {}
        try:
            _collect(ray, refs, queue, results, on_event)
        except KeyboardInterrupt:
            _stop(ray, refs, results, on_event)
        return [results[job.index] for job in jobs]
    finally:
        if started_here:
            ray.shutdown()


def _drain(queue: Any, on_event: OnEvent) -> None:
    while True:
        try:
            event = queue.get_nowait()
        except Exception:  # ray.util.queue.Empty
            return
        on_event(event)


def _collect(
    ray: Any, refs: dict[Any, Job], queue: Any, results: dict[int, FileResult], on_event: OnEvent
) -> None:
    waiting = list(refs)
    while waiting:
        done, waiting = ray.wait(waiting, num_returns=1, timeout=0.5)
        _drain(queue, on_event)
        for ref in done:
            job = refs[ref]
            result = _outcome(ray, ref, job)
            results[job.index] = result
            on_event(("result", result))
    _drain(queue, on_event)


def _outcome(ray: Any, ref: Any, job: Job) -> FileResult:
    try:
        return ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        return FileResult(job.index, os.fspath(job.source), "interrupted", error="interrupted", attempts=0)
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as error:
        return FileResult(
            job.index,
            os.fspath(job.source),
            "failed",
            error=f"the Ray worker died under this file on every attempt: {type(error).__name__}",
            hint="look at the worker's log ('ray logs'); out of memory is the usual cause",
        )
    except ray.exceptions.RayError as error:
        cause = getattr(error, "cause", None) or error
        from recanon_sdk.names import redact_url

        return FileResult(
            job.index,
            os.fspath(job.source),
            "failed",
            error=f"the Ray task failed: {type(cause).__name__}: {redact_url(str(cause))[:300]}",
            hint="rerun this file alone without --ray, with RECANON_DEBUG=1, to see why",
        )


def _stop(ray: Any, refs: dict[Any, Job], results: dict[int, FileResult], on_event: OnEvent) -> None:
    """Cancel every unfinished task (a running one stops like Ctrl-C: temporaries removed)."""
    unfinished = [ref for ref, job in refs.items() if job.index not in results]
    for ref in unfinished:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=False)
    deadline = time.monotonic() + STOP_GRACE_S
    while unfinished and time.monotonic() < deadline:
        _, unfinished = ray.wait(unfinished, num_returns=len(unfinished), timeout=1.0)
    for ref, job in refs.items():
        if job.index not in results:
            try:
                result = ray.get(ref, timeout=0.1)
            except Exception:
                result = FileResult(
                    job.index, os.fspath(job.source), "interrupted", error="interrupted", attempts=0
                )
            results[job.index] = result
            on_event(("result", result))
