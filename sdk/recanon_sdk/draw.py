"""Draw people onto a frame: COCO-17 skeletons, keypoints, track ids and (optionally) boxes.

For looking at what recanon found (a preview, a figure, a debugging session); drawing is done with
supervision's annotators (``EdgeAnnotator``, ``VertexAnnotator``, ``LabelAnnotator``,
``BoxAnnotator``). Each track gets its own colour from supervision's default palette; people whose
track is not confirmed yet are drawn in white, and a region held for someone the detector lost
(no keypoints) is labelled ``held``.

>>> import numpy as np
>>> from recanon_sdk.types import People
>>> keypoints = np.zeros((1, 17, 3), np.float32)
>>> keypoints[0, 5:7] = [(30, 40, 0.9), (60, 40, 0.9)]        # both shoulders, confident
>>> people = People(xyxy=[[20, 20, 70, 120]], score=[0.9], keypoints=keypoints, track_id=[4])
>>> frame = np.zeros((140, 100, 3), np.uint8)
>>> out = draw_people(frame, people)
>>> bool(out[40, 45].any()), bool(frame.any())   # a line between the shoulders; the input untouched
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recanon_sdk.checks import check_channels, check_frame
from recanon_sdk.types import SKELETON, People

#: Colour (RGB) of people without a confirmed track id.
UNTRACKED_COLOR = (255, 255, 255)
#: Keypoints below this confidence are not drawn (recanon's detector reports every keypoint).
KEYPOINT_CONF = 0.3


def track_color(track_id: int | None) -> tuple[int, int, int]:
    """The RGB colour of a track id in supervision's default palette (white for ``None``/−1).

    >>> track_color(None), len(track_color(3))
    ((255, 255, 255), 3)
    """
    if track_id is None or track_id < 0:
        return UNTRACKED_COLOR
    import supervision as sv

    color = sv.ColorPalette.DEFAULT.by_idx(int(track_id))
    return (color.r, color.g, color.b)


def _scale(shape: tuple[int, ...]) -> int:
    """Line thickness for an image of ``shape``: 1 px per 360 px of the shorter side, at least 1."""
    return max(1, round(min(shape[0], shape[1]) / 360))


def draw_people(
    image: np.ndarray,
    people: People,
    *,
    skeleton: bool = True,
    labels: bool = True,
    boxes: bool = False,
    keypoint_conf: float = KEYPOINT_CONF,
    thickness: int | None = None,
    colors: Sequence[tuple[int, int, int]] | None = None,
    channels: str = "RGB",
) -> np.ndarray:
    """A copy of ``image`` with ``people`` drawn on it (the input is never modified).

    ``skeleton``: the COCO-17 limbs and joints whose keypoints have confidence ≥ ``keypoint_conf``;
    ``labels``: ``#<track id>`` above each box (``held`` for a held region, ``?`` before a track is
    confirmed); ``boxes``: the person boxes. ``colors`` (RGB, one per person) overrides the colour
    per track. ``image`` is ``(H, W, 3)`` uint8, RGB (or BGR with ``channels="BGR"``, as OpenCV
    reads it; the result is then BGR too).
    """
    order = check_channels(channels)
    check_frame(image)
    if colors is not None and len(colors) != len(people):
        raise ValueError(f"colors has {len(colors)} entries for {len(people)} people")
    # supervision's annotators draw BGR colours onto BGR images, in place: work on a BGR copy.
    canvas = np.ascontiguousarray(image[:, :, ::-1] if order == "RGB" else image.copy())
    if not len(people):
        return canvas[:, :, ::-1].copy() if order == "RGB" else canvas
    import supervision as sv

    from recanon_sdk.conversions import to_supervision

    width = thickness or _scale(image.shape)
    detections, keypoints = to_supervision(people)
    visible = people.keypoints[:, :, 2] >= keypoint_conf
    edges = [(a + 1, b + 1) for a, b in SKELETON]  # supervision numbers joints from 1
    for i, person in enumerate(people):
        r, g, b = colors[i] if colors is not None else track_color(person.track_id)
        color = sv.Color(r=int(r), g=int(g), b=int(b))
        one = sv.KeyPoints(xy=keypoints.xy[i : i + 1], visible=visible[i : i + 1])
        if skeleton and visible[i].any():
            sv.EdgeAnnotator(color=color, thickness=width, edges=edges).annotate(canvas, one)
            sv.VertexAnnotator(color=color, radius=width + 1).annotate(canvas, one)
        if boxes:
            sv.BoxAnnotator(color=color, thickness=width).annotate(canvas, detections[i : i + 1])
        if labels:
            text = "held" if person.held else "?" if person.track_id is None else f"#{person.track_id}"
            if person.held and person.track_id is not None:
                text = f"#{person.track_id} held"
            sv.LabelAnnotator(
                color=color,
                text_color=sv.Color.BLACK,
                text_scale=0.4 * width,
                text_thickness=width,
                text_padding=3 * width,
            ).annotate(canvas, detections[i : i + 1], labels=[text])
    return canvas[:, :, ::-1].copy() if order == "RGB" else canvas


def draw_skeleton(
    image: np.ndarray,
    keypoints: np.ndarray,
    color: tuple[int, int, int],
    *,
    keypoint_conf: float = KEYPOINT_CONF,
    thickness: int | None = None,
) -> np.ndarray:
    """A copy of RGB ``image`` with one COCO-17 skeleton (``(17, 3)`` x, y, confidence, in the image's
    pixels) drawn in RGB ``color``: what the ``skeleton`` enhancer draws onto each person's crop.

    >>> canvas = np.zeros((60, 40, 3), np.uint8)
    >>> points = np.zeros((17, 3)); points[[5, 11]] = [(10, 10, 0.9), (10, 50, 0.9)]   # shoulder, hip
    >>> out = draw_skeleton(canvas, points, (255, 0, 0))
    >>> out[30, 10].tolist(), int(out[30, 30].sum())
    ([255, 0, 0], 0)
    """
    people = People(
        xyxy=np.zeros((1, 4), np.float32),
        score=np.ones(1, np.float32),
        keypoints=np.asarray(keypoints, np.float32).reshape(1, 17, 3),
    )
    return draw_people(
        image, people, labels=False, keypoint_conf=keypoint_conf, thickness=thickness, colors=[color]
    )
