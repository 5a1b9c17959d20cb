"""What a training run records as it goes: ``metrics.csv``, TensorBoard scalars, a progress line."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["CsvLog", "ProgressLine", "tensorboard_writer"]


class CsvLog:
    """Append rows to a CSV. A row with new columns (e.g. ``loss_pe`` when a resumed stage turns the
    pose loss on) rewrites the file with the wider header; missing values stay empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fields: list[str] | None = None
        if path.exists() and path.stat().st_size:
            with path.open(newline="") as f:
                self.fields = next(csv.reader(f), None)
        self.file = path.open("a", newline="")

    def write(self, step: int, logs: dict[str, float]) -> None:
        row = {"step": step, **logs}
        if self.fields is None:
            self.fields = list(row)
            csv.writer(self.file).writerow(self.fields)
        elif set(row) - set(self.fields):
            self.file.close()
            with self.path.open(newline="") as f:
                old = list(csv.DictReader(f))
            self.fields = self.fields + [k for k in row if k not in self.fields]
            with self.path.open("w", newline="") as f:
                w = csv.DictWriter(f, self.fields)
                w.writeheader()
                w.writerows(old)
            self.file = self.path.open("a", newline="")
        csv.DictWriter(self.file, self.fields, extrasaction="ignore").writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def tensorboard_writer(out: Path) -> Any:
    """A TensorBoard ``SummaryWriter`` on ``<out>/tb``, or ``None`` where tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(out / "tb"))


class ProgressLine:
    """The training progress bar on the terminal (rich): steps done, time left, recovery and GX PSNR."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.progress = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
        )
        self.progress.start()
        self.task = self.progress.add_task("", total=total, completed=start)

    def update(self, step: int, logs: dict[str, float]) -> None:
        if self.progress is None:
            return
        rec, gx = logs.get("psnr_rec", float("nan")), logs.get("psnr_gx_raw", float("nan"))
        desc = f"rec {rec:.1f} dB  gx {gx:.1f} dB"
        self.progress.update(self.task, completed=step, description=desc)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
