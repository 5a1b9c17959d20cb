"""recanon's :class:`~recanon_sdk.types.People` to and from supervision and pandas.

supervision (Roboflow) holds detections in ``sv.Detections`` (boxes, confidences, tracker ids) and
pose in ``sv.KeyPoints`` (``(n, m, 2)`` coordinates with per-keypoint confidences); recanon's
``People`` holds both in one object. The conversion is lossless both ways for recanon's columns:
track ids go to ``tracker_id`` (``-1`` = not yet confirmed, as recanon writes it), the anonymized
region and the held flag to ``Detections.data["region"]`` and ``["held"]``.

>>> import numpy as np
>>> from recanon_sdk.types import People
>>> people = People(xyxy=[[10, 20, 50, 120]], score=[0.9], track_id=[3])
>>> detections, keypoints = to_supervision(people)
>>> detections.tracker_id.tolist(), keypoints.xy.shape
([3], (1, 17, 2))
>>> back = from_supervision(detections, keypoints)
>>> back.track_id.tolist(), back.xyxy.tolist()
([3], [[10.0, 20.0, 50.0, 120.0]])

pandas is optional (``pip install pandas``): :func:`people_to_pandas` gives one row per person.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from recanon_sdk.types import KEYPOINT_NAMES, People

if TYPE_CHECKING:
    import pandas as pd
    import supervision as sv

#: The COCO class id of "person", given to every converted detection.
PERSON_CLASS_ID = 0


def to_supervision(people: People) -> tuple[sv.Detections, sv.KeyPoints]:
    """``(sv.Detections, sv.KeyPoints)`` of ``people``: class id 0 (COCO "person"), scores as
    confidences, track ids as ``tracker_id`` (when tracked), regions and held flags in ``data``."""
    import supervision as sv

    n = len(people)
    data: dict[str, np.ndarray] = {}
    if people.region is not None:
        data["region"] = people.region.copy()
    if people.held is not None:
        data["held"] = people.held.copy()
    detections = sv.Detections(
        xyxy=people.xyxy.astype(np.float32).copy(),
        confidence=people.score.astype(np.float32).copy(),
        class_id=np.full(n, PERSON_CLASS_ID, int),
        tracker_id=None if people.track_id is None else people.track_id.copy(),
        data=data,
    )
    keypoints = _keypoints(
        sv,
        xy=people.keypoints[:, :, :2].copy(),
        class_id=np.full(n, PERSON_CLASS_ID, int),
        confidence=people.keypoints[:, :, 2].copy(),
    )
    return detections, keypoints


def _keypoints(sv: Any, *, xy: np.ndarray, class_id: np.ndarray, confidence: np.ndarray) -> sv.KeyPoints:
    """``sv.KeyPoints`` under either name of the confidence argument (``keypoint_confidence`` since
    supervision 0.29, ``confidence`` before)."""
    if "keypoint_confidence" in inspect.signature(sv.KeyPoints.__init__).parameters:
        return sv.KeyPoints(xy=xy, class_id=class_id, keypoint_confidence=confidence)
    return sv.KeyPoints(xy=xy, class_id=class_id, confidence=confidence)


def _keypoint_confidence(keypoints: Any) -> np.ndarray | None:
    if hasattr(keypoints, "keypoint_confidence"):
        return keypoints.keypoint_confidence
    return getattr(keypoints, "confidence", None)


def from_supervision(detections: sv.Detections, keypoints: sv.KeyPoints | None = None) -> People:
    """:class:`People` from supervision: one person per detection, whatever its class (filter first,
    e.g. ``detections[detections.class_id == 0]`` for a COCO detector's people).

    ``keypoints`` (optional) must hold one COCO-17 skeleton per detection, in the same order. A
    keypoint without coordinates (NaN, as some estimators mark a missing joint) becomes ``(0, 0)``
    with confidence 0; without confidences, a keypoint with coordinates gets confidence 1. Missing
    detection confidences become 1. ``tracker_id`` becomes ``track_id``; ``data["region"]`` and
    ``data["held"]`` come back as written by :func:`to_supervision`.

    >>> import supervision as sv
    >>> from_supervision(sv.Detections(xyxy=np.array([[0.0, 0, 10, 20]]))).score.tolist()
    [1.0]
    """
    xyxy = np.asarray(detections.xyxy, np.float32).reshape(-1, 4)
    n = len(xyxy)
    score = np.ones(n, np.float32) if detections.confidence is None else detections.confidence
    points = None
    if keypoints is not None:
        xy = np.asarray(keypoints.xy, np.float32)
        if xy.ndim != 3 or xy.shape[0] != n or xy.shape[1] != len(KEYPOINT_NAMES):
            raise ValueError(
                f"keypoints must hold one COCO-17 skeleton per detection: expected ({n}, 17, 2), "
                f"got {xy.shape}"
            )
        confidence = _keypoint_confidence(keypoints)
        known = np.isfinite(xy[:, :, :2]).all(axis=2)
        if confidence is None:
            confidence = (known & (np.abs(xy[:, :, :2]).sum(axis=2) > 0)).astype(np.float32)
        confidence = np.where(known, np.nan_to_num(np.asarray(confidence, np.float32)), 0.0)
        points = np.concatenate(
            [np.where(known[:, :, None], xy[:, :, :2], 0.0), confidence[:, :, None]], axis=2
        ).astype(np.float32)
    data = getattr(detections, "data", None) or {}
    return People(
        xyxy=xyxy,
        score=score,
        keypoints=points,
        track_id=None if detections.tracker_id is None else np.asarray(detections.tracker_id, np.int64),
        region=data.get("region"),
        held=data.get("held"),
    )


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "converting to a pandas DataFrame needs pandas, which is not installed: pip install pandas"
        ) from None
    return pandas


#: Columns of :func:`people_to_pandas` before the keypoints.
PERSON_COLUMNS = (
    "person", "track_id", "held", "hidden", "score", "x0", "y0", "x1", "y1",
    "region_x0", "region_y0", "region_x1", "region_y1",
)  # fmt: skip


def person_columns(people: People) -> dict[str, np.ndarray]:
    """The columns of :func:`people_to_pandas` as NumPy arrays (``track_id`` −1 = not confirmed;
    ``region_*`` −1 = not anonymized yet), then ``<keypoint>_x``, ``_y``, ``_conf`` per COCO-17 joint.
    """
    n = len(people)
    region = np.full((n, 4), -1, np.int64) if people.region is None else people.region.astype(np.int64)
    columns: dict[str, np.ndarray] = {
        "person": np.arange(n, dtype=np.int64),
        "track_id": np.full(n, -1, np.int64) if people.track_id is None else people.track_id.copy(),
        "held": np.zeros(n, bool) if people.held is None else people.held.copy(),
        "hidden": people.hidden,
        "score": people.score.copy(),
    }
    for i, name in enumerate(("x0", "y0", "x1", "y1")):
        columns[name] = people.xyxy[:, i].copy()
        columns[f"region_{name}"] = region[:, i]
    for k, name in enumerate(KEYPOINT_NAMES):
        for c, part in enumerate(("x", "y", "conf")):
            columns[f"{name}_{part}"] = people.keypoints[:, k, c].copy()
    return columns


def columns_to_pandas(parts: Iterable[dict[str, np.ndarray]]) -> pd.DataFrame:
    """One DataFrame from column dicts with the same keys (an empty frame with those columns if none).

    ``track_id`` becomes pandas' nullable ``Int64`` with ``<NA>`` where the track is not confirmed.
    """
    pd = _pandas()
    parts = list(parts)
    if not parts:
        parts = [{name: np.zeros(0) for name in person_columns(People.empty())}]
    names = list(parts[0])
    table = pd.DataFrame({name: np.concatenate([p[name] for p in parts]) for name in names})
    if "track_id" in table:
        track = table["track_id"].astype("Int64")
        table["track_id"] = track.mask(track < 0)
    return table


def people_to_pandas(people: People, **constants: Any) -> pd.DataFrame:
    """One row per person: ``person`` (row), ``track_id`` (``<NA>`` until confirmed), ``held``,
    ``hidden``, ``score``, the box, the anonymized region and x/y/conf of every keypoint; keyword
    arguments add constant columns first (e.g. ``frame=12``). Needs pandas (``pip install pandas``).

    >>> people = People(xyxy=[[10, 20, 50, 120]], score=[0.9], track_id=[-1])
    >>> table = people_to_pandas(people, frame=7)
    >>> list(table.columns[:4]), table.loc[0, "frame"], table.loc[0, "track_id"]
    (['frame', 'person', 'track_id', 'held'], np.int64(7), <NA>)
    >>> table.shape
    (1, 65)
    """
    columns = {name: np.full(len(people), value) for name, value in constants.items()}
    columns.update(person_columns(people))
    return columns_to_pandas([columns])
