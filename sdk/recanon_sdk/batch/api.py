"""``anonymize_many``: many files, on this machine or on a Ray cluster, resumable.

>>> from recanon_sdk.batch import anonymize_many                              # doctest: +SKIP
>>> report = anonymize_many(["archive/"], "anon/", jobs=2)                     # doctest: +SKIP
>>> report = anonymize_many(["archive/"], "anon/", resume=True, ray="auto")    # doctest: +SKIP
>>> [(r.input, r.status, r.frames) for r in report.results]                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from recanon_sdk.batch.completion import output_state, sidecar_end
from recanon_sdk.batch.inputs import plan_batch
from recanon_sdk.batch.jobs import BatchSettings, FileResult, Job
from recanon_sdk.batch.progress import BatchProgress
from recanon_sdk.errors import OutputError


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory_gib() -> float | None:
    """Memory available to new processes (Linux ``MemAvailable``), in GiB, or ``None``."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return None


#: Memory set aside per pipeline when choosing how many run at once (measured peak: about 0.75 GiB
#: per worker at 768×432 with the default ONNX model, ``benchmarks/bench_batch.py``).
GIB_PER_PIPELINE = 1.0


def default_jobs(cores: int | None = None, memory_gib: float | None = None) -> int:
    """Pipelines to run at once on this machine by default: one per core, at most one per GiB free.

    Measured on 2 cores (``benchmarks/bench_batch.py``, 8 clips of 768×432, docs/scale.md): two
    single-threaded pipelines finished 1.31× and 1.64× faster (two runs, shared machine) than one
    pipeline with two ONNX Runtime threads: inference in one process leaves the cores idle while it
    waits for decoding, tracking and encoding, two processes fill those gaps.

    >>> default_jobs(2, 16.0), default_jobs(16, 16.0), default_jobs(16, 4.5), default_jobs(8, 0.2)
    (2, 16, 4, 1)
    """
    cores = cores or cpu_count()
    memory = memory_gib if memory_gib is not None else available_memory_gib()
    by_memory = cores if memory is None else int(memory // GIB_PER_PIPELINE)
    return max(1, min(cores, by_memory))


def threads_for(jobs: int, cores: int | None = None) -> int:
    """ONNX Runtime threads per pipeline so that ``jobs`` × threads ≤ cores.

    >>> threads_for(1, 2), threads_for(2, 2), threads_for(4, 2)
    (2, 1, 1)
    """
    return max(1, (cores or cpu_count()) // max(1, jobs))


@dataclass
class BatchReport:
    """The results of a batch, one per input in the order given, and the totals."""

    results: list[FileResult]
    seconds: float
    workers: int
    runner: str
    progress: BatchProgress | None = field(default=None, repr=False)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def frames(self) -> int:
        return sum(r.frames for r in self.results if r.status == "done")

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def stopped_early(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "done" and r.stopped_early]

    @property
    def exit_code(self) -> int:
        """0 all complete; 130 interrupted; 1 some failed; 3 some inputs stopped decoding early."""
        if self.count("interrupted"):
            return 130
        if self.count("failed"):
            return 1
        return 3 if self.stopped_early else 0


def anonymize_many(
    sources: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    settings: BatchSettings | None = None,
    jobs: int | None = None,
    ray: str | None = None,
    ray_cpus: int | None = None,
    ray_gpus_per_task: float = 0.0,
    max_retries: int = 2,
    resume: bool = False,
    overwrite: bool = False,
    on_event: Callable[[tuple[Any, ...]], None] | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
    plan: list[Job] | None = None,
) -> BatchReport:
    """Anonymize every video and image that ``sources`` name into ``out_dir`` (see
    :mod:`recanon_sdk.batch.inputs` for the rules); return one :class:`FileResult` per input.

    ``jobs``: pipelines at once on this machine (default :func:`default_jobs`); ``ray``: run on Ray
    instead (``"auto"``, ``"local"`` or a cluster address; ``ray_cpus`` for a local one;
    ``ray_gpus_per_task``: the GPU share each task asks Ray for, for ``device="cuda"`` pipelines).
    ``resume``: skip inputs whose outputs are complete (and verify, when signing), redo the rest; an
    output that is there but incomplete is reported failed unless ``overwrite``. Without
    ``resume``, existing outputs are refused before any work unless ``overwrite``.
    A bad file is reported in its result and the batch goes on. ``on_event`` gets every worker event,
    ``on_progress`` the aggregated :class:`BatchProgress` after each.
    Raises :class:`~recanon_sdk.errors.InputError`/:class:`~recanon_sdk.errors.OutputError` for
    problems found before work starts (nothing named, colliding outputs, outputs that exist).
    """
    if settings is None:
        from recanon_sdk.anonymizer import AnonymizerConfig
        from recanon_sdk.detect.pose import DetectorConfig

        settings = BatchSettings(
            video=AnonymizerConfig(), stills=AnonymizerConfig(detector=DetectorConfig.for_stills())
        )
    all_jobs = plan if plan is not None else plan_batch(sources, out_dir)
    to_run, known = _triage(all_jobs, settings, resume=resume, overwrite=overwrite)
    if ray is None:
        workers = max(1, min(jobs if jobs is not None else default_jobs(), len(to_run)))
        threads = settings.threads or threads_for(workers)
        settings = dataclasses.replace(settings, threads=threads, overwrite=overwrite)
    else:
        workers = 0
        settings = dataclasses.replace(settings, threads=settings.threads or 1, overwrite=overwrite)
    progress = BatchProgress(total=len(all_jobs))

    def event(item: tuple[Any, ...]) -> None:
        progress.update(item)
        if on_event is not None:
            on_event(item)
        if on_progress is not None:
            on_progress(progress)

    for result in known:
        event(("result", result))
    started = time.perf_counter()
    results = list(known)
    if to_run:
        if ray is not None:
            from recanon_sdk.batch.ray_runner import run_ray

            results += run_ray(
                to_run,
                settings,
                event,
                address=ray,
                num_cpus=ray_cpus,
                gpus_per_task=ray_gpus_per_task,
                max_retries=max_retries,
            )
            runner = f"ray ({ray})"
        elif workers == 1:
            from recanon_sdk.batch.local import run_here

            results += run_here(to_run, settings, event)
            runner = "this process"
        else:
            from recanon_sdk.batch.local import run_pool

            results += run_pool(to_run, settings, workers, event)
            runner = f"{workers} processes"
    else:
        runner = "nothing to run"
    results.sort(key=lambda r: r.index)
    return BatchReport(results, time.perf_counter() - started, workers, runner, progress)


def _triage(
    jobs: list[Job], settings: BatchSettings, *, resume: bool, overwrite: bool
) -> tuple[list[Job], list[FileResult]]:
    """Split the jobs into those to run and the results already known (skipped, refused)."""
    to_run: list[Job] = []
    known: list[FileResult] = []
    existing: list[Job] = []
    for job in jobs:
        state = output_state(job, settings)
        if state.state == "absent":
            to_run.append(job)
        elif resume and state.state == "complete":
            known.append(_skipped(job, settings))
        elif overwrite:
            to_run.append(job)
        elif resume:
            known.append(
                FileResult(
                    job.index,
                    os.fspath(job.source),
                    "failed",
                    output=os.fspath(job.output),
                    error=f"output '{job.output}' exists but is not complete: {state.detail}",
                    hint="pass --overwrite (with --resume) to redo it",
                    attempts=0,
                )
            )
        else:
            existing.append(job)
    if existing:
        first = existing[0].output
        raise OutputError(
            f"{len(existing)} of {len(jobs)} outputs exist already (the first: '{first}')",
            hint="pass --resume to skip the complete ones and redo the rest, or --overwrite to redo all",
        )
    return to_run, known


def _skipped(job: Job, settings: BatchSettings) -> FileResult:
    end = sidecar_end(job.sidecar) or {}
    result = FileResult(
        job.index,
        os.fspath(job.source),
        "skipped",
        output=os.fspath(job.output),
        sidecar=os.fspath(job.sidecar),
        manifest=os.fspath(job.manifest) if job.manifest.exists() else None,
        originals=os.fspath(job.originals) if job.originals.exists() else None,
        attempts=0,
    )
    for name in ("frames", "persons", "tracks", "obscured_frames"):
        value = end.get(name)
        if type(value) is int and value >= 0:
            setattr(result, name, value)
    stopped = end.get("stopped_early")
    result.stopped_early = stopped if isinstance(stopped, str) else None
    return result
