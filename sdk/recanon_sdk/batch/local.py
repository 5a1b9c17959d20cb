"""Run a batch on this machine: in this process (``jobs=1``) or in worker processes (``jobs=N``).

Worker processes come from :class:`concurrent.futures.ProcessPoolExecutor` (spawned, so no thread
or lock state is inherited); each keeps its pipeline between files, and the pool is replaced by a
fresh one after :data:`FILES_PER_WORKER` files per worker (bounded memory over any batch length;
the executor's own ``max_tasks_per_child`` hung on Python 3.11.7). A worker that dies (killed, out
of memory) breaks the pool: the jobs it held are given to a fresh pool once more, from scratch
(their temporaries removed first), and reported failed if that dies too. Ctrl-C or SIGTERM: jobs
not yet started are cancelled, running ones are stopped like a single run (temporaries removed),
and the results say ``interrupted``; ``--resume`` picks up from there.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from recanon_sdk.batch.jobs import BatchSettings, FileResult, Job
from recanon_sdk.batch.worker import init_worker_process, run_job, set_event_sink

OnEvent = Callable[[tuple[Any, ...]], None]
#: How many times a job is started when its worker process dies under it.
MAX_ATTEMPTS = 2
#: Seconds that running jobs get to stop cleanly after Ctrl-C.
STOP_GRACE_S = 60.0
#: A worker process is replaced by a fresh one after this many files, so that memory stays bounded
#: however long the batch: a worker's peak memory rose from 632 to 772 MiB over 80 files of 768×432
#: (``benchmarks/bench_batch.py --memory``, growth slowing), and a fresh process costs one model load.
FILES_PER_WORKER = 25


def run_here(jobs: Sequence[Job], settings: BatchSettings, on_event: OnEvent) -> list[FileResult]:
    """One job after the other in this process."""
    results = []
    set_event_sink(on_event)
    try:
        for position, job in enumerate(jobs):
            try:
                result = run_job(job, settings)
            except KeyboardInterrupt:
                result = FileResult(job.index, os.fspath(job.source), "interrupted", error="interrupted")
            except Exception as error:
                result = _internal_error(job, error)
            results.append(result)
            on_event(("result", result))
            if result.status == "interrupted":
                for rest in jobs[position + 1 :]:
                    results.append(_not_started(rest))
                break
    finally:
        set_event_sink(None)
    return results


def _pool_init(events: Any, threads: int | None) -> None:
    init_worker_process(events.put, threads)
    events.put(("hello", os.getpid()))


def run_pool(
    jobs: Sequence[Job], settings: BatchSettings, workers: int, on_event: OnEvent
) -> list[FileResult]:
    """The jobs in ``workers`` processes; results in the jobs' order."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    pids: set[int] = set()

    def drain() -> None:
        while True:
            event = events.get()
            if event is None:
                return
            if event[0] == "hello":
                pids.add(event[1])
            else:
                on_event(event)

    reader = threading.Thread(target=drain, name="recanon-batch-events", daemon=True)
    reader.start()
    results: dict[int, FileResult] = {}
    attempts = dict.fromkeys((job.index for job in jobs), 0)
    pending = list(jobs)
    chunk_size = workers * FILES_PER_WORKER  # one pool per chunk: fresh processes, bounded memory
    try:
        while pending:
            chunk, pending = pending[:chunk_size], pending[chunk_size:]
            pids.clear()
            retry, stopped = _one_pool(
                chunk, settings, workers, context, events, pids, attempts, results, on_event
            )
            if stopped:
                for job in jobs:
                    if job.index not in results:
                        results[job.index] = _not_started(job)
                break
            pending = [job for job in retry if attempts[job.index] < MAX_ATTEMPTS] + pending
            for job in retry:
                if attempts[job.index] >= MAX_ATTEMPTS:
                    result = FileResult(
                        job.index,
                        os.fspath(job.source),
                        "failed",
                        error=f"the worker process died under this file {attempts[job.index]} times "
                        "(killed, or out of memory)",
                        hint="run it alone with --jobs 1 to see why",
                        attempts=attempts[job.index],
                    )
                    results[job.index] = result
                    on_event(("result", result))
    finally:
        events.put(None)
        reader.join(timeout=5)
    return [results[job.index] for job in jobs]


def _one_pool(
    jobs: Sequence[Job],
    settings: BatchSettings,
    workers: int,
    context: Any,
    events: Any,
    pids: set[int],
    attempts: dict[int, int],
    results: dict[int, FileResult],
    on_event: OnEvent,
) -> tuple[list[Job], bool]:
    """Run ``jobs`` in one pool; return those whose worker died (to be retried in a fresh pool), and
    whether the run was stopped (Ctrl-C, SIGTERM)."""
    retry: list[Job] = []
    stopped = False
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_pool_init,
        initargs=(events, settings.threads),
    )
    futures: dict[Future[FileResult], Job] = {}
    try:
        for job in jobs:
            attempts[job.index] += 1
            futures[pool.submit(run_job, job, settings)] = job
        for future in as_completed(futures):
            job = futures[future]
            result = _outcome(future, job, retry)
            if result is not None:
                result.attempts = attempts[job.index]
                results[job.index] = result
                on_event(("result", result))
    except KeyboardInterrupt:
        stopped = True
        _stop(futures, pids, results, on_event)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return retry, stopped


def _outcome(future: Future[FileResult], job: Job, retry: list[Job]) -> FileResult | None:
    try:
        return future.result()
    except BrokenProcessPool:
        retry.append(job)
        return None
    except KeyboardInterrupt:
        return FileResult(job.index, os.fspath(job.source), "interrupted", error="interrupted")
    except Exception as error:
        return _internal_error(job, error)


def _stop(
    futures: dict[Future[FileResult], Job],
    pids: set[int],
    results: dict[int, FileResult],
    on_event: OnEvent,
) -> None:
    """Cancel what has not started, stop what runs (cleanly, in the workers), collect the results."""
    for future in futures:
        future.cancel()
    for pid in list(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for future, job in futures.items():
        if job.index in results:
            continue
        if future.cancelled():
            result = _not_started(job)
        else:
            try:
                result = future.result(timeout=STOP_GRACE_S)
            except BaseException:
                result = FileResult(job.index, os.fspath(job.source), "interrupted", error="interrupted")
        results[job.index] = result
        on_event(("result", result))


def _not_started(job: Job) -> FileResult:
    return FileResult(job.index, os.fspath(job.source), "interrupted", error="not started", attempts=0)


def _internal_error(job: Job, error: BaseException) -> FileResult:
    from recanon_sdk.names import redact_url

    return FileResult(
        job.index,
        os.fspath(job.source),
        "failed",
        error=f"unexpected internal error: {type(error).__name__}: {redact_url(str(error))[:300]}",
        hint="this is a bug in recanon; rerun this file alone with RECANON_DEBUG=1 and report it",
    )
