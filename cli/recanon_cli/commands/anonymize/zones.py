"""Zone files for ``--zones`` and ``--exclude-zones``: polygons as JSON, read with bounds.

The file holds a list of polygons, or an object whose ``"zones"`` is that list. A polygon is a list
of at least three ``[x, y]`` points, or an object with ``"points"`` (that list), and optionally
``"name"`` (for you; ignored) and ``"relative"`` (``true``: fractions of the frame's width and
height; ``false``: pixels). Without ``"relative"``, a polygon whose every coordinate lies within
[0, 1] is in fractions, any other in pixels of the upright frame (x right, y down). A person is in
a zone when the bottom centre of their box (their feet) lies inside it or on its edge.

>>> zones_from_json('[[[0.5, 0], [1, 0], [1, 1], [0.5, 1]]]', "z.json")[0].relative
True
>>> zone = zones_from_json('{"zones": [{"name": "door", "points": [[0, 0], [320, 0], [320, 240]]}]}', "z")
>>> zone[0].relative, zone[0].points[1]
(False, (320.0, 0.0))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recanon_sdk.policy import Zone

from recanon_cli._untrusted import fail_clean

#: Largest zone file read (a zone file is a few hundred bytes).
MAX_BYTES = 1 << 20
#: At most this many zones per file and points per zone.
MAX_ZONES = 1000
MAX_POINTS = 10_000


class ZoneFileError(ValueError):
    """A zone file that cannot be used (the message says where and why)."""


def _zone(item: Any, where: str) -> Zone:
    relative = None
    if isinstance(item, dict):
        unknown = sorted(set(item) - {"points", "name", "relative"})
        if unknown:
            raise ZoneFileError(f"{where}: unknown key {unknown[0]!r} (a zone has points, name, relative)")
        relative = item.get("relative")
        if relative is not None and not isinstance(relative, bool):
            raise ZoneFileError(f"{where}: 'relative' must be true or false")
        item = item.get("points")
    if not isinstance(item, list) or not all(isinstance(p, list) and len(p) == 2 for p in item):
        raise ZoneFileError(f"{where}: a zone is a list of [x, y] points")
    if len(item) > MAX_POINTS:
        raise ZoneFileError(f"{where}: more than {MAX_POINTS:,} points")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for p in item for v in p):
        raise ZoneFileError(f"{where}: points must be numbers")
    try:
        if relative is None:
            return Zone.of(item)
        return Zone(tuple(tuple(p) for p in item), relative=relative)  # type: ignore[arg-type]
    except ValueError as error:
        raise ZoneFileError(f"{where}: {error}") from None


def zones_from_json(text: str, name: str) -> list[Zone]:
    """The zones in ``text`` (the JSON of file ``name``); raises :class:`ZoneFileError`."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ZoneFileError(f"'{name}' is not JSON ({error})") from None
    if isinstance(data, dict):
        if set(data) != {"zones"}:
            raise ZoneFileError(f"'{name}': the top-level object must hold only \"zones\"")
        data = data["zones"]
    if not isinstance(data, list) or not data:
        raise ZoneFileError(f"'{name}' holds no zones: write a list of polygons")
    if len(data) > MAX_ZONES:
        raise ZoneFileError(f"'{name}' has more than {MAX_ZONES:,} zones")
    return [_zone(item, f"'{name}', zone {i + 1}") for i, item in enumerate(data)]


def read_zones(path: Path, option: str) -> list[Zone]:
    """The zones of the file ``path`` given to ``option``; ends the command with one sentence if
    they cannot be read."""
    hint = "see 'recanon anonymize --help' and docs/guide.md for the zone file format"
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        fail_clean(f"{option}: cannot read '{path}': {error.strerror}", "check the path")
    if len(data) > MAX_BYTES:
        fail_clean(f"{option}: '{path}' is larger than {MAX_BYTES >> 20} MiB: not a zone file", hint)
    try:
        return zones_from_json(data.decode("utf-8"), str(path))
    except UnicodeDecodeError:
        fail_clean(f"{option}: '{path}' is not UTF-8 text", hint)
    except ZoneFileError as error:
        fail_clean(f"{option}: {error}", hint)
