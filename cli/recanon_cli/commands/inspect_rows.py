"""``recanon inspect --csv``: a sidecar's people as CSV, one row per person and frame.

The columns are those of :meth:`recanon_sdk.video.sidecar.Sidecar.to_pandas`: ``frame``, ``time``,
``pts``, ``status``, then ``person``, ``track_id`` (empty until the track is confirmed), ``held``,
``hidden``, ``score``, the box and the anonymized region, and x/y/conf of every COCO-17 keypoint.
With pandas installed the table is pandas' own CSV; without it (the runtime install) the csv module
writes the same text, frame by frame, in constant memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

import numpy as np


def _cell(value: Any) -> str:
    """One value as pandas' ``to_csv`` writes it: shortest float32/float64 text, ``True``/``False``.

    >>> _cell(np.float32(0.4947)), _cell(np.float64(0.6)), _cell(np.bool_(True)), _cell(np.int64(7))
    ('0.4947', '0.6', 'True', '7')
    """
    if isinstance(value, np.bool_ | bool):
        return "True" if value else "False"
    if isinstance(value, np.floating):
        return "" if np.isnan(value) else str(value)
    return str(value)


def _rows(sidecar: Any) -> Iterator[list[str]]:
    from recanon_sdk.conversions import person_columns
    from recanon_sdk.types import People

    header = ["frame", "time", "pts", "status", *person_columns(People.empty())]
    yield header
    for frame in sidecar.frames():
        n = len(frame.people)
        if not n:
            continue
        columns = person_columns(frame.people)
        time = np.float64(np.nan if frame.time is None else frame.time)
        pts = -1 if frame.pts is None else frame.pts
        for i in range(n):
            row = [str(frame.index), _cell(time), str(pts), frame.status]
            for name, values in columns.items():
                value = values[i]
                row.append("" if name == "track_id" and value < 0 else _cell(value))
            yield row


def write_csv(sidecar: Any, handle: IO[str]) -> int:
    """Write ``sidecar``'s rows to ``handle``; returns the number of person rows. Uses pandas where
    it is installed, else the csv module (the same text)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        return _write_with_csv(sidecar, handle)
    table = sidecar.to_pandas()
    table.to_csv(handle, index=False, lineterminator="\n")
    return len(table)


def _write_with_csv(sidecar: Any, handle: IO[str]) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    count = -1
    for row in _rows(sidecar):
        writer.writerow(row)
        count += 1
    return count
