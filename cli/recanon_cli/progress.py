"""Progress bars on a terminal (one run: frames, fps, ETA; a batch: files, frames, fps overall, failures);
silent when not a TTY or when asked."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from recanon_cli._console import stderr


@contextmanager
def frame_progress(*, enabled: bool, description: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """Yield a callback ``(frames_done, total_or_None)`` that drives a rich progress bar, or ``None``."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames · {task.fields[fps]:.1f} fps · ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task(description, total=None, fps=0.0)

        def update(done: int, total: int | None) -> None:
            speed = progress.tasks[0].speed or 0.0
            progress.update(task, completed=done, total=total, fps=speed)

        yield update


@contextmanager
def batch_progress(*, enabled: bool, total: int) -> Iterator[Callable[[object], None] | None]:
    """Yield a callback that shows a batch's :class:`~recanon_sdk.batch.BatchProgress` (all workers
    together: files finished of total, frames, frames/s overall, failures), or ``None``."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "files · {task.fields[frames]} frames · {task.fields[fps]:.1f} fps overall · "
            "{task.fields[failed]} failed · ETA"
        ),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("batch", total=total, frames=0, fps=0.0, failed=0)

        def update(state: object) -> None:
            progress.update(
                task,
                completed=getattr(state, "finished", 0),
                frames=getattr(state, "frames", 0),
                fps=getattr(state, "fps", 0.0),
                failed=getattr(state, "failed", 0),
            )

        yield update
