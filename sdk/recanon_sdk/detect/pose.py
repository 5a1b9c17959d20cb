"""Multi-person detection with COCO-17 keypoints, by an Ultralytics YOLO pose model.

Small people matter: a missed person is a privacy leak. The nano model at 640 px misses many people
60–100 px tall, so the default inference size is larger and optional tiling runs the model on
overlapping tiles as well as the whole frame, merging the results with non-maximum suppression.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recanon_sdk.detect.crop_pose import people_in_windows, pose_in_crops, shift_people
from recanon_sdk.detect.weights import DEFAULT_POSE_MODEL, ResolvedWeights, resolve_pose_weights
from recanon_sdk.errors import ModelError
from recanon_sdk.geometry import box_iou
from recanon_sdk.types import People

os.environ.setdefault("YOLO_OFFLINE", "1")  # Ultralytics otherwise does DNS look-ups at import time.
os.environ.setdefault("YOLO_VERBOSE", "False")

#: Tiling is skipped when a tile's shorter side would be below this many pixels.
MIN_TILE_SIDE = 128

#: Automatic inference size (``imgsz=None``): sources whose longer side is at most
#: ``SMALL_SOURCE_SIDE`` pixels are inferred at ``SMALL_SOURCE_IMGSZ``, others at ``DEFAULT_IMGSZ``.
#: On 480×270 surveillance GIFs, people 20–50 px tall were all missed at 960 px and all found at
#: 1280 px (``benchmarks/coverage.py``, docs/results.md); larger sources keep the cheaper 960 px.
DEFAULT_IMGSZ = 960
SMALL_SOURCE_SIDE = 640
SMALL_SOURCE_IMGSZ = 1280
#: Automatic confidence threshold (``conf=None``): tiny people score low, so small sources use a
#: lower threshold (measured: people 15–20 px wide in a 480×270 street clip, 4 of 6 found at 0.2,
#: 6 of 6 at 0.1, 1280 px).
DEFAULT_CONF = 0.2
SMALL_SOURCE_CONF = 0.1


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Settings of :class:`PoseDetector`.

    ``imgsz`` is the inference size; ``None`` (the default) picks it from the frame size: 1280 px for
    sources no longer than 640 px (their people are few pixels tall), 960 px otherwise
    (:meth:`imgsz_for`).
    ``conf`` is low on purpose: a false positive only blurs some background, a miss shows a person;
    ``None`` (the default) is 0.1 for sources no longer than 640 px, 0.2 otherwise (:meth:`conf_for`).
    ``tiles`` = (rows, cols) of overlapping tiles run in addition to the whole frame (``(1, 1)`` = off).
    ``zoom_out`` adds a cheap pass (at ``zoom_out_imgsz``) on the frame padded by that fraction of its
    size on every side, for people so close to the camera that they fill the frame: the model misses
    or mis-boxes a face that fills the image, and finds it once it is small in a larger canvas
    (measured on the ORL face crops: 85 % → 100 % found). ``0`` turns it off.
    ``crowd_people``: a frame on which the whole-frame pass finds at least this many candidates
    scoring ``crowd_hint_conf`` or more (weak ones count: a crowd of small people shows as many weak
    candidates and few confident ones) is looked at again in ``crowd_tiles`` overlapping tiles at
    confidence ``crowd_conf``, merged with non-maximum suppression at ``crowd_iou`` (people in a
    crowd overlap); crowds hide people the nano model finds only when they are larger. ``0`` turns
    it off. Weak candidates only decide whether to look again; they are not reported.
    """

    weights: str | Path = DEFAULT_POSE_MODEL
    imgsz: int | None = None
    conf: float | None = None
    iou: float = 0.6
    tiles: tuple[int, int] = (1, 1)
    tile_overlap: float = 0.2
    zoom_out: float = 1.0
    zoom_out_imgsz: int = 320
    device: str = "cpu"
    max_people: int = 300
    crowd_people: int = 6
    crowd_tiles: tuple[int, int] = (3, 3)
    crowd_conf: float = 0.03
    crowd_hint_conf: float = 0.05
    crowd_iou: float = 0.7

    @classmethod
    def for_stills(cls, **overrides: object) -> DetectorConfig:
        """The setting for photos, where speed matters less than crowds: 1280 px plus 2×2 tiles.

        Measured on a COCO stadium photo with 42 small faces in the stands: the video default left
        20 detectable after masking, this setting 3 (``benchmarks/privacy_floor.py``).

        >>> DetectorConfig.for_stills().tiles
        (2, 2)
        """
        return cls(**{"imgsz": 1280, "tiles": (2, 2), **overrides})  # type: ignore[arg-type]

    def imgsz_for(self, width: int, height: int) -> int:
        """The inference size used for frames of ``width`` × ``height`` pixels.

        >>> DetectorConfig().imgsz_for(480, 270), DetectorConfig().imgsz_for(1920, 1080)
        (1280, 960)
        >>> DetectorConfig(imgsz=640).imgsz_for(480, 270)
        640
        """
        if self.imgsz is not None:
            return self.imgsz
        return SMALL_SOURCE_IMGSZ if max(width, height) <= SMALL_SOURCE_SIDE else DEFAULT_IMGSZ

    def conf_for(self, width: int, height: int) -> float:
        """The confidence threshold used for frames of ``width`` × ``height`` pixels.

        >>> DetectorConfig().conf_for(480, 270), DetectorConfig().conf_for(1920, 1080)
        (0.1, 0.2)
        """
        if self.conf is not None:
            return self.conf
        return SMALL_SOURCE_CONF if max(width, height) <= SMALL_SOURCE_SIDE else DEFAULT_CONF

    def __post_init__(self) -> None:
        if self.imgsz is not None and (self.imgsz < 32 or self.imgsz % 32):
            raise ValueError(f"imgsz must be a positive multiple of 32, got {self.imgsz}")
        if self.conf is not None and not 0.0 < self.conf < 1.0:
            raise ValueError(f"conf must be within (0, 1), got {self.conf}")
        if self.tiles[0] < 1 or self.tiles[1] < 1:
            raise ValueError(f"tiles must be at least (1, 1), got {self.tiles}")
        if self.zoom_out < 0 or self.zoom_out_imgsz < 32 or self.zoom_out_imgsz % 32:
            raise ValueError("zoom_out must be ≥ 0 and zoom_out_imgsz a positive multiple of 32")
        if self.crowd_people < 0 or min(self.crowd_tiles) < 1:
            raise ValueError("crowd_people must be ≥ 0 and crowd_tiles ≥ (1, 1)")
        for name in ("crowd_conf", "crowd_hint_conf", "crowd_iou"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be within (0, 1), got {getattr(self, name)}")


class PoseDetector:
    """Finds people and their keypoints in RGB frames.

    >>> detector = PoseDetector()                         # doctest: +SKIP
    >>> people = detector.detect([frame_rgb])[0]          # doctest: +SKIP
    """

    #: Which backend runs the network (recorded in the sidecar header).
    backend = "torch"

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.weights: ResolvedWeights = resolve_pose_weights(self.config.weights)
        try:
            from ultralytics import YOLO

            self._model = YOLO(str(self.weights.path), task="pose")
        except Exception as error:  # ultralytics raises many kinds; report one sentence
            raise ModelError(f"could not load pose weights '{self.weights.path}': {error}") from error
        if getattr(self._model, "task", "pose") != "pose":
            raise ModelError(f"'{self.weights.path}' is a {self._model.task} model, not a pose model")

    @property
    def model_id(self) -> str:
        return self.weights.name

    def detect(self, images: list[np.ndarray]) -> list[People]:
        """Detect people in each RGB ``(H, W, 3)`` uint8 image; one :class:`People` per image."""
        if not images:
            return []
        rows, cols = self.config.tiles
        h, w = images[0].shape[:2]
        imgsz, conf = self.config.imgsz_for(w, h), self.config.conf_for(w, h)
        if min(h / rows, w / cols) < MIN_TILE_SIDE:
            rows, cols = 1, 1  # tiles of a tiny image hold only fragments of people
        crowd_mode = (rows, cols) == (1, 1) and self.config.crowd_people > 0
        if crowd_mode:  # weak candidates are decoded too, to count them; NMS keeps the same strong rows
            candidates = self._predict(images, imgsz, min(conf, self.config.crowd_hint_conf))
            found = [
                self._crowd_closer(image, people, conf, imgsz)
                for image, people in zip(images, candidates, strict=True)
            ]
        elif (rows, cols) == (1, 1):
            found = self._predict(images, imgsz, conf)
        else:
            found = []
            for image in images:
                windows = _tile_windows(image.shape[:2], rows, cols, self.config.tile_overlap)
                crops = [image] + [image[y0:y1, x0:x1] for x0, y0, x1, y1 in windows]
                parts = self._predict(crops, imgsz, conf)
                for (x0, y0, _, _), part in zip(windows, parts[1:], strict=True):
                    shift_people(part, x0, y0)
                found.append(_nms(People.merge(parts), self.config.iou))
        if self.config.zoom_out > 0:
            zoomed = self._zoomed_out(images, conf)
            found = [
                _add_missing(main, extra, self.config.iou) for main, extra in zip(found, zoomed, strict=True)
            ]
        return found

    def pose_in_crops(
        self,
        image: np.ndarray,
        people: People,
        *,
        size: int = 640,
        margin: float = 0.25,
        same_scale: bool = True,
    ) -> tuple[People, np.ndarray]:
        """``people`` (tracked, carried to this frame) re-measured by the network on a crop around
        each; and which rows it matched (the others are returned unchanged). With ``same_scale`` a
        crop goes in at the full pass's scale (at most ``size`` px), else at ``size`` px. The
        cadence's cheap step between full detections (:mod:`recanon_sdk.detect.crop_pose`)."""
        h, w = image.shape[:2]
        scale = self.config.imgsz_for(w, h) / max(w, h) if same_scale else None
        conf = self.config.conf_for(w, h)
        return pose_in_crops(self._predict, image, people, size=size, conf=conf, margin=margin, scale=scale)

    def people_in_windows(self, image: np.ndarray, windows: np.ndarray) -> tuple[People, bool]:
        """The people in ``windows`` ``(n, 4)`` of ``image`` (frame pixels), each looked at with the
        full pass's scale and confidence; and whether a window cuts one of them
        (:func:`recanon_sdk.detect.crop_pose.people_in_windows`)."""
        h, w = image.shape[:2]
        imgsz = self.config.imgsz_for(w, h)
        scale, conf = imgsz / max(w, h), self.config.conf_for(w, h)
        return people_in_windows(self._predict, image, windows, scale=scale, cap=imgsz, conf=conf)

    def _crowd_closer(self, image: np.ndarray, candidates: People, conf: float, imgsz: int) -> People:
        """The whole-frame pass's people (``candidates`` scoring at least ``conf``), and, on a frame
        with a crowd (``crowd_people`` or more ``candidates`` scoring at least ``crowd_hint_conf``),
        the people of a second look in overlapping tiles (``crowd_tiles``, confidence
        ``crowd_conf``), merged at ``crowd_iou``: in crowds the nano model misses people of 40-150 px
        that it finds when they are larger. The tiles have the frame's aspect, so they reuse the
        whole-frame pass's input shape."""
        found = candidates[candidates.score >= conf]
        rows, cols = self.config.crowd_tiles
        h, w = image.shape[:2]
        hints = int((candidates.score >= self.config.crowd_hint_conf).sum())
        if hints < self.config.crowd_people or min(h / rows, w / cols) < MIN_TILE_SIDE:
            return found
        windows = _tile_windows(image.shape[:2], rows, cols, self.config.tile_overlap)
        parts = self._predict(
            [image[y0:y1, x0:x1] for x0, y0, x1, y1 in windows],
            imgsz,
            self.config.crowd_conf,
            iou=self.config.crowd_iou,
        )
        for (x0, y0, _, _), part in zip(windows, parts, strict=True):
            shift_people(part, x0, y0)
        return _nms(People.merge([found, *parts]), self.config.crowd_iou)

    def _zoomed_out(self, images: list[np.ndarray], conf: float) -> list[People]:
        canvases, offsets = [], []
        for image in images:
            h, w = image.shape[:2]
            pad_y, pad_x = round(h * self.config.zoom_out), round(w * self.config.zoom_out)
            canvas = np.full((h + 2 * pad_y, w + 2 * pad_x, 3), 114, np.uint8)
            canvas[pad_y : pad_y + h, pad_x : pad_x + w] = image
            canvases.append(canvas)
            offsets.append((pad_x, pad_y, w, h))
        found = self._predict(canvases, self.config.zoom_out_imgsz, conf)
        for people, (pad_x, pad_y, w, h) in zip(found, offsets, strict=True):
            shift_people(people, -pad_x, -pad_y)
            people.xyxy[:, [0, 2]] = people.xyxy[:, [0, 2]].clip(0, w)
            people.xyxy[:, [1, 3]] = people.xyxy[:, [1, 3]].clip(0, h)
        return [p[(p.xyxy[:, 2] > p.xyxy[:, 0]) & (p.xyxy[:, 3] > p.xyxy[:, 1])] for p in found]

    def _predict(
        self, images: list[np.ndarray], imgsz: int, conf: float, *, iou: float | None = None
    ) -> list[People]:
        """The network's people in each image (NMS at ``iou``, by default ``config.iou``)."""
        bgr = [np.ascontiguousarray(image[:, :, ::-1]) for image in images]
        results = self._model.predict(
            bgr,
            imgsz=imgsz,
            conf=conf,
            iou=self.config.iou if iou is None else iou,
            device=self.config.device,
            max_det=self.config.max_people,
            classes=[0],
            verbose=False,
        )
        out = []
        for result in results:
            boxes = result.boxes
            if boxes is None or len(boxes) == 0:
                out.append(People.empty())
                continue
            keypoints = result.keypoints
            kpts = (
                keypoints.data.cpu().numpy()
                if keypoints is not None and keypoints.data.shape[1:] == (17, 3)
                else np.zeros((len(boxes), 17, 3), np.float32)
            )
            out.append(People(xyxy=boxes.xyxy.cpu().numpy(), score=boxes.conf.cpu().numpy(), keypoints=kpts))
        return out


def _add_missing(main: People, extra: People, iou: float = 0.6) -> People:
    """Merge the zoom-out pass into the main pass without losing coverage.

    A zoom-out row that overlaps no main row (intersection over the smaller box < 0.5) is a person
    the main pass missed and is added. One that overlaps a main row widens that row's box to the
    union of both: on close-ups the main pass often boxes only part of a face-filling person, and
    the zoom-out box covers the rest (the main row keeps its finer keypoints and score).

    A widened row can become a near copy of another main row: a tile's box of a person's upper half
    outscores the whole-frame box of all of them, both survive the tiles' merge, and the zoom-out
    pass then widens the half box to the whole person. Such pairs (IoU above ``iou``) are one
    person: :func:`_merge_widened` keeps one row with the union of both boxes.

    >>> main = People(xyxy=np.array([[10, 50, 80, 110]], np.float32), score=np.array([0.8]))
    >>> boxes = np.array([[5, 10, 85, 112], [200, 0, 260, 90]], np.float32)
    >>> extra = People(xyxy=boxes, score=np.array([0.6, 0.5]))
    >>> _add_missing(main, extra).xyxy.tolist()
    [[5.0, 10.0, 85.0, 112.0], [200.0, 0.0, 260.0, 90.0]]
    """
    if not len(extra):
        return main
    if not len(main):
        return extra
    merged = People(xyxy=main.xyxy.copy(), score=main.score, keypoints=main.keypoints)
    widened = np.zeros(len(merged), bool)
    new_rows = []
    for i in range(len(extra)):
        overlap = _overlap(extra.xyxy[i], merged.xyxy)
        best = int(np.argmax(overlap))
        if overlap[best] < 0.5:
            new_rows.append(i)
            continue
        box, other = merged.xyxy[best], extra.xyxy[i]
        union = [min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3])]
        widened[best] |= not np.array_equal(np.asarray(union, merged.xyxy.dtype), box)
        merged.xyxy[best] = union
    merged = _merge_widened(merged, widened, iou)
    return People.merge([merged, extra[np.asarray(new_rows, dtype=int)]]) if new_rows else merged


def _merge_widened(people: People, widened: np.ndarray, iou: float) -> People:
    """Rows that overlap at IoU above ``iou`` where at least one was ``widened`` are one person: the
    row that was not widened is kept (its keypoints come from one view of the whole person; of two
    widened rows, the higher score), with the union of both boxes, so coverage never shrinks.

    >>> boxes = np.array([[100, 40, 200, 400], [102, 38, 198, 396], [300, 40, 380, 400]], np.float32)
    >>> people = People(xyxy=boxes, score=np.array([0.9, 0.93, 0.8]))
    >>> _merge_widened(people, np.array([False, True, False]), 0.6).xyxy.tolist()
    [[100.0, 38.0, 200.0, 400.0], [300.0, 40.0, 380.0, 400.0]]
    """
    if not widened.any() or len(people) < 2:
        return people
    boxes = people.xyxy.copy()
    overlaps = box_iou(boxes, boxes)
    np.fill_diagonal(overlaps, 0.0)
    keep = np.ones(len(people), bool)
    pairs = np.argwhere(np.triu(overlaps > iou) & (widened[:, None] | widened[None, :]))
    for a, b in sorted(pairs.tolist(), key=lambda pair: -overlaps[pair[0], pair[1]]):
        if not (keep[a] and keep[b]):
            continue
        if widened[a] != widened[b]:
            stay, go = (b, a) if widened[a] else (a, b)
        else:
            stay, go = (a, b) if people.score[a] >= people.score[b] else (b, a)
        boxes[stay, :2] = np.minimum(boxes[stay, :2], boxes[go, :2])
        boxes[stay, 2:] = np.maximum(boxes[stay, 2:], boxes[go, 2:])
        keep[go] = False
    merged = People(xyxy=boxes, score=people.score, keypoints=people.keypoints)
    return merged[keep]


def _overlap(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over the *smaller* area, of ``box`` with each of ``boxes``."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)  # noqa: E731
    return ix * iy / np.maximum(np.minimum(area(box), area(boxes)), 1e-6)


def _tile_windows(
    size: tuple[int, int], rows: int, cols: int, overlap: float
) -> list[tuple[int, int, int, int]]:
    """Overlapping windows (x0, y0, x1, y1) covering an image of ``size`` (h, w) in a rows × cols grid."""
    h, w = size
    tile_h = int(np.ceil(h / (rows - (rows - 1) * overlap)))
    tile_w = int(np.ceil(w / (cols - (cols - 1) * overlap)))
    windows = []
    for r in range(rows):
        for c in range(cols):
            y0 = 0 if rows == 1 else round(r * (h - tile_h) / (rows - 1))
            x0 = 0 if cols == 1 else round(c * (w - tile_w) / (cols - 1))
            windows.append((x0, y0, min(w, x0 + tile_w), min(h, y0 + tile_h)))
    return windows


def _nms(people: People, iou_threshold: float) -> People:
    """Greedy non-maximum suppression by IoU, keeping the higher score.

    Also drops boxes mostly inside a kept one (a tile cuts a person in two).
    """
    if len(people) <= 1:
        return people
    order = np.argsort(-people.score)
    boxes = people.xyxy
    areas = np.maximum(0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0, boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    for i in order:
        if keep:
            k = np.asarray(keep)
            ix0 = np.maximum(boxes[i, 0], boxes[k, 0])
            iy0 = np.maximum(boxes[i, 1], boxes[k, 1])
            ix1 = np.minimum(boxes[i, 2], boxes[k, 2])
            iy1 = np.minimum(boxes[i, 3], boxes[k, 3])
            inter = np.maximum(0, ix1 - ix0) * np.maximum(0, iy1 - iy0)
            iou = inter / np.maximum(areas[i] + areas[k] - inter, 1e-6)
            inside = inter / np.maximum(areas[i], 1e-6)
            # A tile cuts a person in two: the partial box lies mostly inside the whole-frame box.
            if np.any(iou > iou_threshold) or np.any(inside > 0.8):
                continue
        keep.append(int(i))
    return people[np.asarray(sorted(keep))]
