"""Who is hidden, and how much of them: the hiding policy.

The default hides every person the detector finds, whole (``region="body"``). Every other setting
is the operator's decision to show more, and each one is recorded in the sidecar header
(``anonymization.policy``) and announced with a :class:`PrivacyWarning`:

* ``region="head"``: only each person's head is hidden (the body stays visible, for pose work or a
  shop floor where clothes are not identifying). The head box comes from the face keypoints
  (:func:`recanon_sdk.geometry.head_boxes`); where the head's place is not known well enough, the
  whole person is hidden (fail closed), as is a region held for someone the detector lost.
* ``exclude_zones``: areas where people are left visible (a staff-only area the operator may see).
* ``include_zones``: only people in these areas are hidden; everyone else is left visible.
* ``keep_tracks``: track ids of people who consented to be shown. Track ids are those a run with
  the same input and settings assigns (see them with ``draw_pose=True``); a tracker that swaps two
  people's ids shows the other one.
* ``max_region``: a person box larger than this fraction of the frame is taken for a false
  detection and not hidden. A person close to the camera fills the frame: default off.

A person is "in" a zone when the bottom centre of their box (their feet) lies inside the polygon, as
supervision's ``PolygonZone`` counts. Zones are polygons in pixels or in fractions of the frame's
width and height (:class:`Zone`). A frame that fails closed is obscured whole whatever the policy.

>>> import numpy as np
>>> from recanon_sdk.geometry import CropGeometry
>>> from recanon_sdk.types import People
>>> people = People(xyxy=[[10, 10, 30, 90], [60, 10, 80, 90]], score=[0.9, 0.9], track_id=[1, 2])
>>> policy = HidePolicy(exclude_zones=[Zone.parse("0.5,0 1,0 1,1 0.5,1")])   # the right half
>>> policy.plan(people, (100, 100), CropGeometry(margin=0.0)).region.tolist()
[[10, 0, 30, 90], [0, 0, 0, 0]]
>>> HidePolicy(keep_tracks={2}).plan(people, (100, 100), CropGeometry(margin=0.0)).region.tolist()
[[10, 0, 30, 90], [0, 0, 0, 0]]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from recanon_sdk.geometry import CropGeometry, head_boxes
from recanon_sdk.types import People

#: What of each person is hidden.
REGIONS = ("body", "head")


class PrivacyWarning(UserWarning):
    """A setting shows people (or parts of them) that the default would hide."""


@dataclass(frozen=True, slots=True)
class Zone:
    """A polygon of at least three ``(x, y)`` points: frame pixels, or fractions of the frame's width
    and height with ``relative=True``.

    >>> Zone.parse("0,0 0.5,0 0.5,1").relative, Zone.parse("0,0 320,0 320,240").relative
    (True, False)
    >>> Zone.parse("0,0 0.5,0 0.5,1").polygon((100, 200)).tolist()
    [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]]
    """

    points: tuple[tuple[float, float], ...]
    relative: bool = False

    def __post_init__(self) -> None:
        try:
            points = tuple((float(x), float(y)) for x, y in self.points)
        except (TypeError, ValueError):
            raise ValueError(f"a zone is a list of (x, y) points, got {self.points!r:.80}") from None
        if len(points) < 3:
            raise ValueError(f"a zone needs at least 3 points, got {len(points)}")
        if not all(math.isfinite(v) for point in points for v in point):
            raise ValueError("zone points must be finite numbers")
        if self.relative and not all(0.0 <= v <= 1.0 for point in points for v in point):
            raise ValueError("a relative zone's points are fractions of the frame: each within [0, 1]")
        object.__setattr__(self, "points", points)

    @classmethod
    def of(cls, value: Zone | Sequence[Sequence[float]] | str) -> Zone:
        """``value`` as a zone: a :class:`Zone`, a text for :meth:`parse`, or a list of points
        (relative when every coordinate lies within [0, 1], pixels otherwise)."""
        if isinstance(value, Zone):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        points = tuple(tuple(point) for point in value)
        flat = [v for point in points for v in point]
        try:
            relative = all(0.0 <= float(v) <= 1.0 for v in flat)
        except (TypeError, ValueError):
            raise ValueError(f"a zone is a list of (x, y) points, got {value!r:.80}") from None
        return cls(points, relative=relative)  # type: ignore[arg-type]

    @classmethod
    def parse(cls, text: str) -> Zone:
        """``"x,y x,y x,y ..."``: relative when every coordinate lies within [0, 1], pixels otherwise."""
        try:
            points = [tuple(float(v) for v in pair.split(",")) for pair in text.replace(";", " ").split()]
        except ValueError:
            raise ValueError(f"cannot read zone {text!r:.80}: write points as 'x,y x,y x,y'") from None
        if any(len(point) != 2 for point in points):
            raise ValueError(f"cannot read zone {text!r:.80}: write points as 'x,y x,y x,y'")
        return cls.of(points)

    def polygon(self, frame_size: tuple[int, int]) -> np.ndarray:
        """The points in pixels of a frame of ``frame_size`` (h, w): ``(k, 2)`` float."""
        points = np.asarray(self.points, np.float64)
        if self.relative:
            height, width = frame_size
            points = points * np.array([width, height], np.float64)
        return points

    def contains(self, points: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
        """``(n,)`` bool: which of ``points`` ``(n, 2)`` (pixels) lie inside or on the edge."""
        polygon = self.polygon(frame_size).astype(np.float32).reshape(-1, 1, 2)
        return np.array(
            [cv2.pointPolygonTest(polygon, (float(x), float(y)), False) >= 0 for x, y in points], bool
        ).reshape(-1)

    def record(self) -> dict[str, Any]:
        return {"points": [list(p) for p in self.points], "relative": self.relative}


def _zones(value: Iterable[Any] | None, name: str) -> tuple[Zone, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, Zone)):
        value = [value]
    try:
        return tuple(Zone.of(zone) for zone in value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


@dataclass(slots=True)
class Plan:
    """What to hide in one frame: ``region`` ``(n, 4)`` int32 per person (``(0, 0, 0, 0)`` = left
    visible) and ``protect`` ``(n, 4)``: the box inside each region whose every pixel must be
    replaced (the person box, or the head box in head mode)."""

    region: np.ndarray
    protect: np.ndarray
    head_only: np.ndarray  # (n,) bool: the region is the head's


@dataclass(frozen=True, slots=True)
class HidePolicy:
    """Who is hidden, and how much of them (see the module's description). The default hides
    everyone whole."""

    region: str = "body"
    exclude_zones: tuple[Zone, ...] = ()
    include_zones: tuple[Zone, ...] = ()
    keep_tracks: frozenset[int] = field(default_factory=frozenset)
    max_region: float | None = None

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, got {self.region!r}")
        object.__setattr__(self, "exclude_zones", _zones(self.exclude_zones, "exclude_zones"))
        object.__setattr__(self, "include_zones", _zones(self.include_zones, "include_zones"))
        try:
            keep = frozenset(int(t) for t in (self.keep_tracks or ()))
        except (TypeError, ValueError):
            shown = repr(self.keep_tracks)[:80]
            raise ValueError(f"keep_tracks must be track ids (integers), got {shown}") from None
        if any(t < 1 for t in keep):
            raise ValueError("keep_tracks holds track ids, which start at 1")
        object.__setattr__(self, "keep_tracks", keep)
        if self.max_region is not None and not 0.0 < float(self.max_region) <= 1.0:
            raise ValueError(f"max_region is a fraction of the frame within (0, 1], got {self.max_region}")

    def reductions(self) -> list[str]:
        """What this policy shows that the default would hide, one phrase each (empty: nothing)."""
        out = []
        if self.region == "head":
            out.append("region='head' leaves bodies visible (clothes, gait and build can identify)")
        if self.exclude_zones:
            out.append(f"{len(self.exclude_zones)} exclude zone(s) leave the people in them visible")
        if self.include_zones:
            out.append(f"include zones leave everyone outside {len(self.include_zones)} zone(s) visible")
        if self.keep_tracks:
            ids = ", ".join(str(t) for t in sorted(self.keep_tracks))
            out.append(
                f"keep_tracks leaves tracks {ids} visible (if the tracker swaps ids, someone else is shown)"
            )
        if self.max_region is not None:
            out.append(
                f"max_region={self.max_region} leaves people whose box exceeds that fraction of the frame "
                "visible (a person close to the camera does)"
            )
        return out

    def warn(self, stacklevel: int = 3) -> None:
        """Issue one :class:`PrivacyWarning` listing :meth:`reductions` (none if there are none)."""
        reductions = self.reductions()
        if reductions:
            warnings.warn(
                "the hiding policy shows more than the default: " + "; ".join(reductions),
                PrivacyWarning,
                stacklevel=stacklevel,
            )

    def record(self) -> dict[str, Any]:
        """The policy as the sidecar header records it (``anonymization.policy``)."""
        return {
            "region": self.region,
            "exclude_zones": [zone.record() for zone in self.exclude_zones],
            "include_zones": [zone.record() for zone in self.include_zones],
            "keep_tracks": sorted(self.keep_tracks),
            "max_region": self.max_region,
        }

    def visible(self, people: People, frame_size: tuple[int, int]) -> np.ndarray:
        """``(n,)`` bool: who the policy leaves visible."""
        n = len(people)
        out = np.zeros(n, bool)
        if not n:
            return out
        boxes = people.xyxy.astype(np.float64)
        feet = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], axis=1)
        if self.include_zones:
            inside = np.zeros(n, bool)
            for zone in self.include_zones:
                inside |= zone.contains(feet, frame_size)
            out |= ~inside
        for zone in self.exclude_zones:
            out |= zone.contains(feet, frame_size)
        if self.keep_tracks and people.track_id is not None:
            out |= np.isin(people.track_id, np.fromiter(self.keep_tracks, np.int64))
        if self.max_region is not None:
            height, width = frame_size
            x = np.clip(boxes[:, [0, 2]], 0, width)
            y = np.clip(boxes[:, [1, 3]], 0, height)
            area = (x[:, 1] - x[:, 0]) * (y[:, 1] - y[:, 0])
            out |= area > self.max_region * height * width
        return out

    def plan(self, people: People, frame_size: tuple[int, int], geometry: CropGeometry) -> Plan:
        """The regions to anonymize in a frame of ``frame_size`` (h, w) (see :class:`Plan`)."""
        region = geometry.regions(people.xyxy, frame_size, people.keypoints)
        protect = people.xyxy.astype(np.float64).copy()
        head_only = np.zeros(len(people), bool)
        if self.region == "head" and len(people):
            heads = head_boxes(people.keypoints, people.xyxy)
            # NaN = the head's place is unknown (or a held region, whose keypoints are not kept):
            # the whole person stays hidden.
            head_only = np.isfinite(heads).all(axis=1)
            if head_only.any():
                region[head_only] = geometry.regions(heads[head_only], frame_size)
                protect[head_only] = heads[head_only]
        visible = self.visible(people, frame_size)
        region[visible] = 0
        head_only &= ~visible
        return Plan(region=region, protect=protect, head_only=head_only)
