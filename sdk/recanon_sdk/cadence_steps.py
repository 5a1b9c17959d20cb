"""The cadence's cheap steps on a frame without full detection, each standing in for the full
detector only where it can: the crop pass (tracked people re-measured on crops around them) and the
look at motion (the detector in windows around uncovered motion). Each returns ``None`` when the
frame must get the full detector instead, so a fault here never leaves anyone raw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recanon_sdk.cadence import CadenceConfig
from recanon_sdk.checks import check_detections
from recanon_sdk.geometry import box_iou
from recanon_sdk.types import People

__all__ = ["crop_pass", "look_at_motion"]


def crop_pass(
    detector: Any,
    config: CadenceConfig,
    image: np.ndarray,
    carried: People,
    moved_px: np.ndarray | None = None,
) -> People | None:
    """The ``carried`` people re-measured on crops around each, when ``config`` asks for it
    (``crop_pose_people``) and ``detector`` can (``pose_in_crops``); else ``carried`` as is. With
    ``moved_px`` (per row, how far the person's tracked points moved: :attr:`Cadence.moved_px`),
    people who moved less than ``config.crop_pose_still_px`` keep the flow's estimate.
    ``None`` if the pass fails."""
    look = getattr(detector, "pose_in_crops", None)
    if not callable(look) or not 0 < len(carried) <= config.crop_pose_people:
        return carried
    rows = np.ones(len(carried), bool)
    if moved_px is not None and config.crop_pose_still_px > 0 and len(moved_px) == len(carried):
        rows = np.asarray(moved_px) >= config.crop_pose_still_px
    if not rows.any():
        return carried
    try:
        measured, _ = look(image, carried[rows], size=config.crop_pose_size, margin=config.crop_pose_margin)
        if rows.all():
            return check_detections(measured, image.shape[:2])
        people = carried[np.arange(len(carried))]  # a copy; the still rows stay as carried
        people.xyxy[rows], people.score[rows], people.keypoints[rows] = (
            measured.xyxy,
            measured.score,
            measured.keypoints,
        )
        return check_detections(people, image.shape[:2])
    except Exception:  # any fault here: this frame gets the full detector (which fails closed)
        return None


def look_at_motion(detector: Any, windows: np.ndarray, image: np.ndarray, carried: People) -> People | None:
    """The ``carried`` people plus whoever ``detector`` finds in ``windows`` (where uncovered motion
    was, at the full pass's scale), all marked ``estimated`` (the frame got no full detection).
    ``None`` when that cannot stand in for a full detection: a window reaches a carried person's
    box (the motion may be that person moving out of their region, whom a window sees only in
    part), the detector cannot look in windows (``people_in_windows``), a window cuts a person, a
    crowd (the detector's ``crowd_people`` or more), a fault."""
    look = getattr(detector, "people_in_windows", None)
    if not callable(look) or (box_iou(windows, carried.xyxy) > 0).any():  # motion reaching someone
        return None
    try:
        found, cut = look(image, windows)
        found = check_detections(found, image.shape[:2])
    except Exception:  # any fault here: this frame gets the full detector (which fails closed)
        return None
    crowd = getattr(getattr(detector, "config", None), "crowd_people", 0)
    if cut or (crowd and len(found) >= crowd):
        return None
    if len(carried) and len(found):  # the same person seen again stays the carried row
        found = found[box_iou(found.xyxy, carried.xyxy).max(axis=1) < 0.5]
    if not len(found):
        return carried
    found.estimated = np.ones(len(found), bool)  # the frame got no full detection
    return People.merge([carried, found])
