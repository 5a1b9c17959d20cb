"""Many inputs at once: folders, globs and lists of files, on this machine or on a Ray cluster.

>>> from recanon_sdk.batch import anonymize_many                        # doctest: +SKIP
>>> report = anonymize_many(["archive/"], "anon/", jobs=2, resume=True)  # doctest: +SKIP
>>> report.exit_code, [r.status for r in report.results]                # doctest: +SKIP

Modules, one job each: :mod:`~recanon_sdk.batch.inputs` (what the sources name, where outputs go),
:mod:`~recanon_sdk.batch.jobs` (jobs, settings, results), :mod:`~recanon_sdk.batch.completion`
(what ``--resume`` skips), :mod:`~recanon_sdk.batch.worker` (one job in any process),
:mod:`~recanon_sdk.batch.local` (this machine), :mod:`~recanon_sdk.batch.ray_runner` (Ray),
:mod:`~recanon_sdk.batch.progress` (one view of all workers), :mod:`~recanon_sdk.batch.api`.
"""

from __future__ import annotations

from recanon_sdk.batch.api import BatchReport, anonymize_many, default_jobs, threads_for
from recanon_sdk.batch.inputs import VIDEO_SUFFIXES, folder_mode, is_stills_folder, plan_batch
from recanon_sdk.batch.jobs import BatchSettings, FileResult, Job, SigningSpec
from recanon_sdk.batch.progress import BatchProgress

__all__ = [
    "VIDEO_SUFFIXES",
    "BatchProgress",
    "BatchReport",
    "BatchSettings",
    "FileResult",
    "Job",
    "SigningSpec",
    "anonymize_many",
    "default_jobs",
    "folder_mode",
    "is_stills_folder",
    "plan_batch",
    "threads_for",
]
