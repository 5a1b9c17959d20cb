"""Temporal cadence: the full pose detector on every N-th frame, optical flow in between, and a
motion gate that forces the detector whenever something moves outside the regions being hidden.

Between full detections (by default two frames in three) each person's box and keypoints are
carried to the next frame by sparse Lucas–Kanade optical flow on a small grey copy of the frame (the
keypoints the detector was sure of, plus a grid of points inside the box; the box moves by their
median displacement). Those people are marked ``estimated``; by default the crop pass
(:mod:`recanon_sdk.cadence_steps`, ``crop_pose_people``) then re-measures up to 8 of them with the
pose network on crops around their carried boxes (those who moved at least
``crop_pose_still_px``). The gate compares the frame with the previous one at the same small size:
wherever the difference is large, outside every carried region (grown by a margin), something moved
that nobody is hiding — a person entering, or one the flow lost — and the frame gets the full
detector at once. So a person who moves into view is never left raw for a frame by the cadence; a
person who is still and never detected is a miss of the detector itself, as without the cadence.
In a still scene (everyone where the last full detection found them, within the slack, and
nothing else changed since) the detector waits up to ``still_detect_every`` frames instead: it
would see the same picture again.

>>> import numpy as np
>>> cadence = Cadence(CadenceConfig(detect_every=3))
>>> frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8)
>>> view = cadence.view(frame)
>>> cadence.needs_detection(view, None)      # nothing seen yet: detect
True
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from recanon_sdk.types import People

__all__ = ["Cadence", "CadenceConfig", "FrameView"]


@dataclass(frozen=True, slots=True)
class CadenceConfig:
    """How often the full detector runs and what forces it in between.

    ``detect_every``: full detection on every ``detect_every``-th frame (1 = every frame: the cadence
    is off). ``flow_scale``: optical flow and the motion gate work on the frame shrunk by this factor.
    ``motion_threshold``: grey levels (0–255, on the shrunk frame) a pixel must change by to count
    as motion; ``min_motion_area``: the fraction of the frame a connected moving area outside every
    region must cover to force the detector (the default, 0.0005, is 1,037 px of a 1920 × 1080
    frame: a person far smaller than any the detector finds). ``region_slack``: carried regions are
    grown by this fraction of their size before the gate looks outside them.
    ``crop_pose_people``: on a frame without full detection that carries at most this many people,
    the pose network re-measures each of them on a crop around their carried box (grown by
    ``crop_pose_margin`` of its size), at ``crop_pose_size`` px on the crop's longer side
    (:mod:`recanon_sdk.detect.crop_pose`); more people, or ``0``, leaves the flow's estimate.
    ``crop_pose_still_px``: a person none of whose tracked points moved this many pixels (frame
    pixels, in x or in y) since the previous frame keeps the flow's estimate instead (for someone
    still, the last measurement); ``0`` re-measures everyone.
    ``motion_look_area``: when the gate fires and the windows around the uncovered moving areas
    (:attr:`Cadence.motion_windows`) cover at most this fraction of the frame, the detector looks
    in those windows only, at the full pass's scale (a car driving through a street scene otherwise
    costs a full detection on every frame); ``0`` always runs the full detector.
    ``still_detect_every``: while the scene holds still since the last full detection (every region
    carried now lies where that detection found someone, within the slack, and outside them nothing
    changed: the gate's test, against the frame that detection saw), the detector waits up to this
    many frames instead of ``detect_every``: it would see the same picture again. A value at most
    ``detect_every`` keeps the plain cadence.
    """

    detect_every: int = 3
    flow_scale: int = 4
    motion_threshold: int = 12
    min_motion_area: float = 0.0005
    region_slack: float = 0.1
    flow_keypoint_conf: float = 0.5
    crop_pose_people: int = 8
    crop_pose_size: int = 256
    crop_pose_margin: float = 0.25
    crop_pose_still_px: float = 2.0
    motion_look_area: float = 0.25
    still_detect_every: int = 12

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ValueError(f"detect_every must be at least 1, got {self.detect_every}")
        if self.flow_scale < 1:
            raise ValueError(f"flow_scale must be at least 1, got {self.flow_scale}")
        if not 0 < self.motion_threshold < 255:
            raise ValueError("motion_threshold must be within (0, 255)")
        if not 0 <= self.min_motion_area < 1:
            raise ValueError("min_motion_area must be within [0, 1)")
        if self.crop_pose_people < 0 or self.crop_pose_size < 32 or self.crop_pose_size % 32:
            raise ValueError("crop_pose_people must be ≥ 0 and crop_pose_size a positive multiple of 32")
        if self.crop_pose_margin < 0 or self.crop_pose_still_px < 0:
            raise ValueError("crop_pose_margin and crop_pose_still_px must be ≥ 0")
        if not 0 <= self.motion_look_area <= 1:
            raise ValueError(f"motion_look_area must be within [0, 1], got {self.motion_look_area}")
        if self.still_detect_every < 0:
            raise ValueError(f"still_detect_every must be ≥ 0, got {self.still_detect_every}")


@dataclass(slots=True)
class FrameView:
    """A frame as the cadence sees it: grey, shrunk by ``scale``."""

    grey: np.ndarray
    scale: int
    shape: tuple[int, int]  # (h, w) of the full frame


class Cadence:
    """Decides, frame by frame, whether the detector must run, and carries people between its runs.

    Call :meth:`view` on every frame, :meth:`needs_detection` to decide, :meth:`carry` for the people
    of a frame without detection, and :meth:`remember` with what the frame finally held.
    """

    def __init__(self, config: CadenceConfig | None = None) -> None:
        self.config = config or CadenceConfig()
        self._previous: FrameView | None = None
        self._people: People | None = None
        self._since_detection = 0
        self._at_detection: tuple[FrameView, np.ndarray] | None = None  # what it saw, whom it found
        #: Why the last forced detection happened (``"cadence"``, ``"motion"``, ``"start"``, …).
        self.reason = "start"
        #: Where the gate last saw uncovered motion: windows ``(n, 4)`` x0, y0, x1, y1 in frame
        #: pixels, each moving area grown by half its size (at least 16 px) on every side.
        self.motion_windows = np.zeros((0, 4), np.int64)
        #: For each person :meth:`carry` last returned: the largest step, in x or in y (frame
        #: pixels), that any of their tracked points made from the previous frame.
        self.moved_px = np.zeros(0)

    def reset(self) -> None:
        self._previous, self._people, self._since_detection, self.reason = None, None, 0, "start"
        self._at_detection = None

    def view(self, image: np.ndarray) -> FrameView:
        h, w = image.shape[:2]
        s = self.config.flow_scale
        small = cv2.resize(image, (max(1, w // s), max(1, h // s)), interpolation=cv2.INTER_AREA)
        return FrameView(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), s, (h, w))

    def needs_detection(self, view: FrameView, carried: People | None) -> bool:
        """Whether this frame must get the full detector (and why, in :attr:`reason`)."""
        self.motion_windows = np.zeros((0, 4), np.int64)
        if self.config.detect_every <= 1:
            self.reason = "every frame"
            return True
        if self._previous is None or self._people is None or carried is None:
            self.reason = "start"
            return True
        if view.grey.shape != self._previous.grey.shape:
            self.reason = "frame size changed"
            return True
        due = self._since_detection + 1
        if due >= self.config.detect_every and not (
            due < self.config.still_detect_every and self._unchanged_since_detection(view, carried)
        ):
            self.reason = "cadence"
            return True
        self.motion_windows = self._uncovered_motion(view, carried)
        if len(self.motion_windows):
            self.reason = "motion"
            return True
        return False

    def motion_is_local(self, shape: tuple[int, int]) -> bool:
        """Whether the last uncovered motion is small enough (``motion_look_area`` of a frame of
        ``shape`` (h, w), the windows' union) for the detector to look there only."""
        if not len(self.motion_windows) or self.config.motion_look_area <= 0:
            return False
        s = self.config.flow_scale  # at the flow's scale, each window rounded outwards (never smaller)
        covered = np.zeros((-(-shape[0] // s), -(-shape[1] // s)), bool)
        for x0, y0, x1, y1 in self.motion_windows:
            covered[y0 // s : -(-y1 // s), x0 // s : -(-x1 // s)] = True
        return covered.mean() <= self.config.motion_look_area

    def carry(self, view: FrameView) -> People | None:
        """The people of the previous frame moved into this one by optical flow (``None`` if lost).

        Track ids, scores and keypoint confidences are kept; every keypoint is re-placed (tracked
        itself when the flow found it, else moved with its box). ``None`` when there is nothing to
        carry from, or the flow fails for a person (then the frame needs the detector).
        """
        self.moved_px = np.zeros(0)
        if self._previous is None or self._people is None:
            return None
        people = self._people
        if not len(people):
            return People.empty()
        s = view.scale
        boxes, keypoints = people.xyxy.astype(np.float32).copy(), people.keypoints.copy()
        moved_px = np.zeros(len(people))
        for i in range(len(people)):
            points = self._points(boxes[i], keypoints[i]) / s
            moved, status, _ = cv2.calcOpticalFlowPyrLK(
                self._previous.grey,
                view.grey,
                points.reshape(-1, 1, 2).astype(np.float32),
                None,
                winSize=(15, 15),
                maxLevel=2,
                criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
            )
            if moved is None:
                return None
            ok = status.reshape(-1).astype(bool)
            if ok.sum() < 3:
                return None
            steps = (moved.reshape(-1, 2) - points)[ok]
            shift = np.median(steps, axis=0) * s
            moved_px[i] = float(np.abs(steps).max()) * s
            boxes[i] += np.array([shift[0], shift[1], shift[0], shift[1]], np.float32)
            confident = keypoints[i, :, 2] >= self.config.flow_keypoint_conf
            n = int(confident.sum())
            tracked = moved.reshape(-1, 2)[:n] * s
            tracked_ok = ok[:n]
            new = keypoints[i, :, :2] + shift
            idx = np.flatnonzero(confident)
            new[idx[tracked_ok]] = tracked[tracked_ok]
            keypoints[i, :, :2] = new
        # the box covers where the person was as well as where the flow puts them: a flow that is off
        # by part of a step still leaves the person inside (the keypoints stay the flow's)
        before = people.xyxy.astype(np.float32)
        boxes = np.concatenate(
            [np.minimum(boxes[:, :2], before[:, :2]), np.maximum(boxes[:, 2:], before[:, 2:])], axis=1
        )
        h, w = view.shape
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        keep = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)  # left the frame
        self.moved_px = moved_px[keep]
        carried = People(
            xyxy=boxes,
            score=people.score,
            keypoints=keypoints,
            track_id=people.track_id,
            estimated=np.ones(len(people), bool),
        )
        return carried[keep]

    def remember(self, view: FrameView, people: People, *, detected: bool) -> None:
        """What this frame finally held (the people actually seen, not the held ones)."""
        self._previous = view
        seen = people if people.held is None else people[~people.held]
        self._people = People(
            xyxy=seen.xyxy, score=seen.score, keypoints=seen.keypoints, track_id=seen.track_id
        )
        self._since_detection = 0 if detected else self._since_detection + 1
        if detected:
            self._at_detection = (view, seen.xyxy.astype(np.float32).copy())

    def forget(self) -> None:
        """After a frame that failed: the next one gets the detector."""
        self._previous, self._people, self._at_detection = None, None, None

    # -- helpers ---------------------------------------------------------------------------------

    def _points(self, box: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """The confident keypoints first, then a 4 × 4 grid inside the box (full-frame pixels)."""
        confident = keypoints[keypoints[:, 2] >= self.config.flow_keypoint_conf, :2]
        x0, y0, x1, y1 = box
        gx = np.linspace(x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0), 4)
        gy = np.linspace(y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0), 4)
        grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
        return np.concatenate([confident, grid]).astype(np.float32)

    def _unchanged_since_detection(self, view: FrameView, carried: People) -> bool:
        """Whether the scene holds still since the last full detection: every region carried now
        lies where that detection found someone (within the slack: nobody moved off, nobody new),
        and outside those regions the frame is what it saw and holds nobody it found (no area that
        counts of large change or of a box it found). Where someone stood then and has left, the
        picture changed: whoever they uncovered is looked for; where they stand still outside the
        region carried now (a crop pass that measured less of them), the detector would find them
        as it did."""
        if self._at_detection is None:
            return False
        seen, found = self._at_detection
        if seen.grey.shape != view.grey.shape or not self._within(carried.xyxy, found, view.scale):
            return False
        return not len(self._changed(view, seen.grey, carried.xyxy, found=found))

    def _within(self, boxes: np.ndarray, found: np.ndarray, scale: int) -> bool:
        """Whether each of ``boxes`` lies inside one of the ``found`` boxes grown by the slack (both
        in frame pixels; compared at the flow's ``scale``, where the gate grows regions)."""
        if not len(boxes):
            return True
        if not len(found):
            return False
        grown, small = self._with_slack(found / scale), boxes / scale
        starts_inside = (small[:, None, :2] >= grown[None, :, :2]).all(axis=2)
        ends_inside = (small[:, None, 2:] <= grown[None, :, 2:]).all(axis=2)
        return bool((starts_inside & ends_inside).any(axis=1).all())

    def _with_slack(self, boxes: np.ndarray) -> np.ndarray:
        """``boxes`` (x0, y0, x1, y1 at the flow's scale) grown by ``region_slack`` of their size
        plus 2 px on every side: how far the gate counts a region as covering."""
        size = boxes[:, 2:] - boxes[:, :2]
        grow = self.config.region_slack * size + 2
        return np.concatenate([boxes[:, :2] - grow, boxes[:, 2:] + grow], axis=1)

    def _uncovered_motion(self, view: FrameView, carried: People) -> np.ndarray:
        """Windows (frame pixels) around each connected area of large change outside every carried
        region (grown by the slack) that is large enough to count; none when nothing moved there."""
        h, w = view.shape
        if self._previous is None:
            return np.array([[0, 0, w, h]], np.int64)
        covered = carried.xyxy if self._people is None else np.concatenate([carried.xyxy, self._people.xyxy])
        return self._changed(view, self._previous.grey, covered)

    def _changed(
        self, view: FrameView, before: np.ndarray, covered: np.ndarray, *, found: np.ndarray | None = None
    ) -> np.ndarray:
        """Windows around each large enough area where ``view`` differs from ``before`` (or that
        lies in one of the ``found`` boxes) outside the ``covered`` boxes (frame pixels, covered
        ones grown by the slack)."""
        h, w = view.shape
        diff = cv2.absdiff(view.grey, before)
        moving = (diff >= self.config.motion_threshold).astype(np.uint8)
        s = view.scale
        for x0, y0, x1, y1 in () if found is None else found / s:
            moving[max(0, int(y0)) : max(0, int(np.ceil(y1))), max(0, int(x0)) : max(0, int(np.ceil(x1)))] = 1
        for x0, y0, x1, y1 in self._with_slack(np.asarray(covered).reshape(-1, 4) / s):
            moving[max(0, int(y0)) : max(0, int(np.ceil(y1))), max(0, int(x0)) : max(0, int(np.ceil(x1)))] = 0
        if not moving.any():
            return np.zeros((0, 4), np.int64)
        _, _, stats, _ = cv2.connectedComponentsWithStats(moving, connectivity=8)
        large = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= self.config.min_motion_area * moving.size]
        boxes = large[:, :4].astype(np.float64) * s  # x, y, width, height in frame pixels
        grow = np.maximum(0.5 * boxes[:, 2:4], 16.0)
        x0y0 = np.clip(np.floor(boxes[:, :2] - grow), 0, [w, h])
        x1y1 = np.clip(np.ceil(boxes[:, :2] + boxes[:, 2:4] + grow), 0, [w, h])
        return np.concatenate([x0y0, x1y1], axis=1).astype(np.int64)
