"""A progress bar with frames, fps and ETA on a terminal; silent when not a TTY or when asked."""

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
