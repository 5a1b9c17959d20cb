"""The pose sidecar: JSON Lines with a header, one line per frame and an end line (schema ``recanon.pose/1``).

The format is specified in ``docs/formats.md``. Lines are written and flushed one at a time, so a
crash leaves a valid prefix; the file only gets its final name after the end line.

>>> import io, json
>>> buffer = io.StringIO()
>>> writer = SidecarWriter.to_stream(buffer, make_header(source={"name": "in.mp4"}))
>>> writer.write_frame(index=0, pts=0, seconds=0.0, people=People.empty())
>>> writer.finish(frames=1)
>>> [json.loads(line)["type"] for line in buffer.getvalue().splitlines()]
['header', 'frame', 'end']
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from recanon_sdk._version import __version__
from recanon_sdk.errors import SidecarError
from recanon_sdk.types import KEYPOINT_NAMES, SKELETON, People
from recanon_sdk.video.atomic import commit, discard, temporary_name

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "recanon.pose/1"
SUPPORTED_SCHEMAS = (SCHEMA,)


def sidecar_path_for(video: str | Path) -> Path:
    """``out.mp4`` → ``out.pose.jsonl`` (the sidecar lives next to its video).

    >>> sidecar_path_for("cam3.anon.mp4").name
    'cam3.anon.pose.jsonl'
    """
    path = Path(video)
    return path.with_name(f"{path.stem if path.suffix else path.name}.pose.jsonl")


def make_header(**fields: Any) -> dict[str, Any]:
    """A header dict with the schema, tool version, creation time, keypoint names and skeleton."""
    header: dict[str, Any] = {
        "type": "header",
        "schema": SCHEMA,
        "tool": f"recanon {__version__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "coordinates": "pixels of the upright output frame; x right, y down; boxes x0, y0, x1, y1",
        "keypoint_names": list(KEYPOINT_NAMES),
        "skeleton": [list(pair) for pair in SKELETON],
    }
    header.update(fields)
    return header


def _person_records(people: People) -> list[dict[str, Any]]:
    records = []
    for i in range(len(people)):
        record: dict[str, Any] = {
            "track_id": None
            if people.track_id is None or people.track_id[i] < 0
            else int(people.track_id[i]),
            "box": [round(float(v), 2) for v in people.xyxy[i]],
            "score": round(float(people.score[i]), 4),
            "keypoints": [
                [round(float(x), 2), round(float(y), 2), round(float(c), 4)]
                for x, y, c in people.keypoints[i]
            ],
        }
        if people.region is not None:
            record["region"] = [int(v) for v in people.region[i]]
        if people.held is not None:
            record["held"] = bool(people.held[i])
        if people.estimated is not None and people.estimated[i]:
            record["estimated"] = True  # carried by optical flow between full detections
        records.append(record)
    return records


class SidecarWriter:
    """Writes a sidecar line by line; :meth:`finish` adds the end line and gives the file its name.

    ``on_line`` listeners receive every line's UTF-8 bytes (newline included) as written, e.g. a
    signer that hash-chains the sidecar.
    """

    def __init__(self, path: str | Path, header: dict[str, Any]) -> None:
        self.path = Path(path)
        self._temporary: Path | None = temporary_name(self.path)
        self._handle: IO[str] = open(self._temporary, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self.on_line: list[Callable[[bytes], None]] = []
        self._header = header
        self._started = False

    @classmethod
    def to_stream(cls, stream: IO[str], header: dict[str, Any]) -> SidecarWriter:
        """Write to an open text stream (no temporary file, no rename)."""
        writer = cls.__new__(cls)
        writer.path = Path("<stream>")
        writer._temporary = None
        writer._handle = stream
        writer.on_line = []
        writer._header = header
        writer._started = False
        return writer

    def _write(self, record: dict[str, Any]) -> None:
        if not self._started:
            self._started = True
            self._write(self._header)
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
        self._handle.write(line)
        self._handle.flush()
        data = line.encode("utf-8")
        for listener in self.on_line:
            listener(data)

    def write_frame(
        self,
        *,
        index: int,
        pts: int | None,
        seconds: float | None,
        people: People,
        status: str = "ok",
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        """One frame: its people (boxes, scores, keypoints, track ids, anonymized regions) and events.

        ``status`` is ``"ok"`` or ``"obscured"`` (the whole frame was obscured because a step failed).
        """
        record: dict[str, Any] = {
            "type": "frame",
            "index": index,
            "pts": pts,
            "time": None if seconds is None else round(seconds, 6),
            "status": status,
            "persons": _person_records(people),
        }
        if events:
            record["events"] = events
        self._write(record)

    def finish(self, **summary: Any) -> None:
        """Write the end line (``complete: true`` plus ``summary``) and move the file to its final name."""
        self.finalize(**summary)
        self.commit()

    def finalize(self, **summary: Any) -> None:
        """Write the end line and close the file under its temporary name (:meth:`commit` names it)."""
        self._write({"type": "end", "complete": True, **summary})
        if self._temporary is not None:
            self._handle.close()

    def commit(self) -> None:
        """Give the finalized sidecar its final name."""
        if self._temporary is not None:
            commit(self._temporary, self.path)
            self._temporary = None

    def abort(self) -> None:
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            discard(self._temporary)
            self._temporary = None


@dataclass(slots=True)
class FramePoses:
    """One frame record of a sidecar."""

    index: int
    pts: int | None
    time: float | None
    status: str
    people: People
    events: list[dict[str, Any]] = field(default_factory=list)


def _people_from_records(records: Any, where: str) -> People:
    if not isinstance(records, list):
        raise SidecarError(f"{where}: 'persons' is not a list")
    if not records:  # every column present, so readers can index without special cases
        return People(
            xyxy=np.zeros((0, 4), np.float32),
            score=np.zeros(0, np.float32),
            track_id=np.zeros(0, np.int64),
            region=np.zeros((0, 4), np.int32),
            held=np.zeros(0, bool),
            estimated=np.zeros(0, bool),
        )
    try:
        return People(
            xyxy=np.array([r["box"] for r in records], np.float32),
            score=np.array([r["score"] for r in records], np.float32),
            keypoints=np.array([r["keypoints"] for r in records], np.float32),
            track_id=np.array(
                [-1 if r.get("track_id") is None else r["track_id"] for r in records], np.int64
            ),
            region=np.array([r.get("region", [0, 0, 0, 0]) for r in records], np.int32),
            held=np.array([bool(r.get("held", False)) for r in records], bool),
            estimated=np.array([bool(r.get("estimated", False)) for r in records], bool),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        raise SidecarError(f"{where}: malformed person record ({error})") from None


#: Longest sidecar line read (bytes). A frame line of recanon's takes about 600 bytes per person,
#: so this is several thousand people; anything longer is refused before it is parsed.
MAX_LINE = 4 * 1024 * 1024
#: Longest header line read (bytes).
MAX_HEADER = 1024 * 1024
#: Most digits (sign included) of an integer in a sidecar: int64 needs 20.
MAX_INT_DIGITS = 20
#: Longest end line :attr:`Sidecar.complete` looks for at the end of the file (bytes). recanon's end
#: line is a few hundred bytes; a longer last line is not one.
MAX_END = 64 * 1024


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not allowed")


def parse_record(line: bytes, where: str) -> dict[str, Any]:
    """One sidecar line (bytes, at most :data:`MAX_LINE`) as a JSON object, or one clear error.

    Integers are at most :data:`MAX_INT_DIGITS` digits, ``NaN``/``Infinity`` are refused and nesting
    deeper than the interpreter's recursion limit is an error, not a crash.

    >>> parse_record(b'{"type":"frame","index":3}\\n', "line 2")["index"]
    3
    >>> try:
    ...     parse_record(b'{"index":' + b"9" * 5000 + b"}", "line 2")
    ... except SidecarError as error:
    ...     print(error.message)
    line 2 is not valid JSON (an integer of 5000 digits)
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise SidecarError(f"{where} is not UTF-8 text") from None
    try:
        record = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError:
        raise SidecarError(f"{where} is nested too deeply to be a sidecar record") from None
    except json.JSONDecodeError:
        raise SidecarError(f"{where} is not valid JSON") from None
    except ValueError as error:
        raise SidecarError(f"{where} is not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise SidecarError(f"{where} is not a JSON object")
    return record


def read_line(handle: IO[bytes], limit: int, where: str) -> bytes:
    """The next line of ``handle`` (``b""`` at the end), refusing one longer than ``limit`` bytes."""
    line = handle.readline(limit + 1)
    if len(line) > limit:
        raise SidecarError(
            f"{where} is longer than {limit // (1024 * 1024)} MiB: not a sidecar recanon wrote",
            hint="check that the file is the *.pose.jsonl written next to the video",
        )
    return line


def _open_binary(path: Path) -> IO[bytes]:
    return open(path, "rb")


class Sidecar:
    """Reads a pose sidecar: ``header``, then frames one at a time (constant memory), then ``end``.

    Every line is read with a bound (:data:`MAX_LINE`, :data:`MAX_HEADER`) and parsed with bounded
    integers and nesting, so a hostile file ends in :class:`~recanon_sdk.errors.SidecarError`.
    ``opener`` reads the file (default ``open(path, "rb")``), e.g. ``PinnedFiles.open`` to read
    exactly the bytes that were verified.

    >>> sidecar = Sidecar("cam3.anon.pose.jsonl")       # doctest: +SKIP
    >>> for frame in sidecar.frames(): print(frame.index, len(frame.people))   # doctest: +SKIP
    >>> sidecar.complete, sidecar.to_pandas().shape       # doctest: +SKIP
    (True, (412, 68))
    """

    def __init__(self, path: str | Path, *, opener: Callable[[Path], IO[bytes]] | None = None) -> None:
        self.path = Path(path)
        self._opener = opener or _open_binary
        if not self.path.is_file():
            raise SidecarError(
                f"sidecar '{path}' does not exist", hint="it is written next to the video as *.pose.jsonl"
            )
        self.end: dict[str, Any] | None = None
        self._tail_read = False
        with self._opener(self.path) as handle:
            first = read_line(handle, MAX_HEADER, f"'{self.path}' line 1")
        try:
            self.header = parse_record(first, f"'{self.path}' line 1")
        except SidecarError as error:
            raise SidecarError(
                error.message, hint="sidecars are the *.pose.jsonl files written next to anonymized videos"
            ) from None
        if self.header.get("type") != "header":
            raise SidecarError(f"'{path}' line 1 is not a recanon sidecar header")
        if self.header.get("schema") not in SUPPORTED_SCHEMAS:
            raise SidecarError(
                f"'{path}' has schema {str(self.header.get('schema'))[:40]!r}; "
                f"this recanon reads {', '.join(SUPPORTED_SCHEMAS)}",
                hint="upgrade recanon",
            )

    def frames(self) -> Iterator[FramePoses]:
        """Yield each frame record in order; sets :attr:`end` when the end line is read."""
        with self._opener(self.path) as handle:
            read_line(handle, MAX_HEADER, f"'{self.path}' line 1")
            number = 1
            while True:
                number += 1
                where = f"'{self.path}' line {number}"
                line = read_line(handle, MAX_LINE, where)
                if not line:
                    return
                if not line.strip():
                    continue
                record = parse_record(line, where)
                kind = record.get("type")
                if kind == "end":
                    self.end = record
                    return
                if kind != "frame":
                    raise SidecarError(f"{where} has unknown type {str(kind)[:40]!r}")
                yield _frame_poses(record, where)

    @property
    def complete(self) -> bool:
        """True when the file ends with recanon's end line (``complete: true``): the run finished.

        A crash leaves a prefix without one. Read without going through the frames: the last
        :data:`MAX_END` bytes are read once (:meth:`read_end`); :meth:`frames` also sets it.
        """
        if self.end is None and not self._tail_read:
            self.end = self.read_end()
        return bool(self.end and self.end.get("complete") is True)

    def read_end(self) -> dict[str, Any] | None:
        """The end record, read from the last :data:`MAX_END` bytes of the file (``None`` when the
        last line is not a whole end line). Raises :class:`~recanon_sdk.errors.SidecarError` for a
        last line that is an end record but not valid JSON."""
        self._tail_read = True
        with self._opener(self.path) as handle:
            try:
                size = handle.seek(0, io.SEEK_END)
                handle.seek(max(0, size - MAX_END - 1))
            except (OSError, ValueError):
                return None  # an opener without seeking: the end is read with the frames
            tail = handle.read(MAX_END + 1)
        if not tail.endswith(b"\n"):
            return None  # the writer ends every line, the end line too: cut short
        body = tail[:-1]
        cut = body.rfind(b"\n")
        if cut < 0 and len(tail) > MAX_END:
            return None  # a last line longer than any end line
        last = body[cut + 1 :]
        if b'"end"' not in last:
            return None
        record = parse_record(last, f"'{self.path}' last line")
        return record if record.get("type") == "end" else None

    def to_pandas(self) -> pd.DataFrame:
        """One row per person and frame: ``frame``, ``time``, ``pts``, ``status``, then the person's
        columns (:func:`recanon_sdk.conversions.people_to_pandas`: track id, held, hidden, score,
        box, region, x/y/conf per keypoint). Frames without people add no row. Needs pandas
        (``pip install pandas``)."""
        from recanon_sdk.conversions import _pandas, columns_to_pandas, person_columns

        _pandas()  # the clear message before any reading
        parts = []
        for frame in self.frames():
            n = len(frame.people)
            if not n:
                continue
            columns: dict[str, np.ndarray] = {
                "frame": np.full(n, frame.index, np.int64),
                "time": np.full(n, np.nan if frame.time is None else frame.time, np.float64),
                "pts": np.full(n, -1 if frame.pts is None else frame.pts, np.int64),
                "status": np.full(n, frame.status, object),
            }
            columns.update(person_columns(frame.people))
            parts.append(columns)
        if not parts:
            empty = {"frame": np.zeros(0, np.int64), "time": np.zeros(0), "pts": np.zeros(0, np.int64)}
            empty["status"] = np.zeros(0, object)
            parts = [{**empty, **person_columns(People.empty())}]
        return columns_to_pandas(parts)


def _frame_poses(record: dict[str, Any], where: str) -> FramePoses:
    try:
        time = record.get("time")
        pts = record.get("pts")
        if time is not None and (
            isinstance(time, bool) or not isinstance(time, int | float) or not math.isfinite(time)
        ):
            raise TypeError("'time' is not a finite number")
        if pts is not None and (isinstance(pts, bool) or not isinstance(pts, int)):
            raise TypeError("'pts' is not an integer")
        events = record.get("events", [])
        if not isinstance(events, list):
            raise TypeError("'events' is not a list")
        index = record["index"]
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError("'index' is not an integer")
        return FramePoses(
            index=index,
            pts=pts,
            time=None if time is None else float(time),
            status=str(record.get("status", "ok")),
            people=_people_from_records(record.get("persons", []), where),
            events=list(events),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise SidecarError(f"{where}: malformed frame record ({error})") from None
