"""One view of a batch across all its workers: files done of total, frames per second overall, failures.

Workers send events (``("start", index, worker)``, ``("frames", index, done, total)``,
``("result", FileResult)``); :meth:`BatchProgress.update` folds them in, wherever they ran.

>>> from recanon_sdk.batch.jobs import FileResult
>>> progress = BatchProgress(total=3)
>>> progress.update(("frames", 0, 40, 100))
>>> progress.update(("result", FileResult(1, "b.mp4", "failed", error="corrupt")))
>>> progress.frames, progress.failed, progress.finished
(40, 1, 1)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from recanon_sdk.batch.jobs import FileResult


@dataclass
class BatchProgress:
    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    interrupted: int = 0
    started: float = field(default_factory=time.monotonic)
    #: Frames of finished files plus frames so far of running ones.
    frames: int = 0
    running: dict[int, int] = field(default_factory=dict)
    workers: set[str] = field(default_factory=set)
    _finished_frames: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed + self.interrupted

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def fps(self) -> float:
        """Frames anonymized per second of wall time, all workers together (skipped files excluded)."""
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0

    def update(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "start":
            self.running[event[1]] = 0
            self.workers.add(str(event[2]))
        elif kind == "frames":
            self.running[event[1]] = int(event[2])
        elif kind == "result":
            result: FileResult = event[1]
            self.running.pop(result.index, None)
            if result.status == "done":
                self.done += 1
                self._finished_frames += result.frames
            elif result.status == "skipped":
                self.skipped += 1
            elif result.status == "failed":
                self.failed += 1
            else:
                self.interrupted += 1
        self.frames = self._finished_frames + sum(self.running.values())
