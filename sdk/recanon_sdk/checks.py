"""Checks at the SDK's edges: what callers pass in and what detectors return, refused before any work.

A privacy tool must not fail open on a wrong input: a float frame in [0, 1] or a grey frame would make
the detector find nobody and the frame would come back raw; a detector that returns inverted,
non-finite or sub-pixel boxes would anonymize nothing where the person is. Callers' mistakes raise
``TypeError``/``ValueError`` at once; a detector's bad output makes that frame fail closed.

>>> import numpy as np
>>> check_frame(np.zeros((4, 6, 3), np.uint8)).shape
(4, 6, 3)
>>> check_frame(np.zeros((4, 6, 3), np.float32))
Traceback (most recent call last):
...
ValueError: frames must be uint8 RGB (0-255), got float32; for a float image in [0, 1] pass ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recanon_sdk.types import People

#: Colour orders :meth:`Anonymizer.process_frame` accepts.
CHANNEL_ORDERS = ("RGB", "BGR")


def check_frame(image: Any) -> np.ndarray:
    """``image`` if it is a non-empty ``(H, W, 3)`` uint8 array; else ``TypeError``/``ValueError``.

    >>> check_frame(np.zeros((4, 6), np.uint8))
    Traceback (most recent call last):
    ...
    ValueError: frames must be (height, width, 3) colour images, got a grey (4, 6) array; convert ...
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"frames must be NumPy arrays (H, W, 3) uint8 RGB, got {type(image).__name__}")
    if image.dtype != np.uint8:
        hint = (
            "; for a float image in [0, 1] pass (image * 255).round().astype(np.uint8)"
            if image.dtype.kind == "f"
            else "; convert it with image.astype(np.uint8) after scaling to 0-255"
        )
        raise ValueError(f"frames must be uint8 RGB (0-255), got {image.dtype}{hint}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        raise ValueError(
            f"frames must be (height, width, 3) colour images, got a grey {image.shape} array; "
            "convert it with cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)"
        )
    if image.ndim == 3 and image.shape[2] == 4:
        raise ValueError(
            f"frames must be (height, width, 3) colour images, got {image.shape} with an alpha channel; "
            "drop it with image[:, :, :3]"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"frames must be (height, width, 3) uint8 RGB arrays, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"frames must not be empty, got shape {image.shape}")
    return image


def check_channels(channels: str) -> str:
    """The colour order, upper-cased, if it is RGB or BGR.

    >>> check_channels("bgr")
    'BGR'
    """
    if not isinstance(channels, str) or channels.upper() not in CHANNEL_ORDERS:
        raise ValueError(f"channels must be 'RGB' or 'BGR', got {channels!r}")
    return channels.upper()


class InvalidDetections(ValueError):
    """A detector returned boxes or keypoints that cannot be anonymized as given (the frame fails closed)."""


def check_detections(found: Any, frame_size: tuple[int, int]) -> People:
    """The detector's people for one frame of ``frame_size`` (h, w), checked; boxes that lie wholly
    outside the frame are dropped (they hide nothing).

    Raises :class:`InvalidDetections` for anything that is not :class:`People`, for non-finite
    boxes, scores or keypoints, for inverted boxes (x1 < x0 or y1 < y0), and for boxes less than one
    pixel wide or high inside the frame (a detector answering in the wrong units, e.g. 0–1).

    >>> people = People(xyxy=np.array([[5.0, 5, 20, 40], [120, 0, 150, 30]]), score=np.array([0.9, 0.8]))
    >>> len(check_detections(people, (50, 100)))           # the second box is outside the frame
    1
    >>> check_detections(People(xyxy=np.array([[0.1, 0.2, 0.3, 0.9]]), score=np.array([0.9])), (50, 100))
    Traceback (most recent call last):
    ...
    recanon_sdk.checks.InvalidDetections: the detector returned a box smaller than one pixel ...
    """
    if not isinstance(found, People):
        raise InvalidDetections(f"the detector returned {type(found).__name__}, not People")
    if not len(found):
        return found
    boxes = found.xyxy.astype(np.float64)
    if not (np.isfinite(boxes).all() and np.isfinite(found.score).all()):
        raise InvalidDetections("the detector returned a box or score that is not a finite number")
    if not np.isfinite(found.keypoints).all():
        raise InvalidDetections("the detector returned keypoints that are not finite numbers")
    inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if inverted.any():
        box = boxes[int(np.argmax(inverted))].round(1).tolist()
        raise InvalidDetections(f"the detector returned an inverted box (x1 < x0 or y1 < y0): {box}")
    height, width = frame_size
    clipped = boxes.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, width)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, height)
    tiny = (clipped[:, 2] - clipped[:, 0] < 1) | (clipped[:, 3] - clipped[:, 1] < 1)
    at_border = (boxes[:, 0] <= 0) | (boxes[:, 1] <= 0) | (boxes[:, 2] >= width) | (boxes[:, 3] >= height)
    degenerate = tiny & ~at_border
    if degenerate.any():
        box = boxes[int(np.argmax(degenerate))].round(1).tolist()
        raise InvalidDetections(f"the detector returned a box smaller than one pixel inside the frame: {box}")
    return found[~tiny] if tiny.any() else found


def check_enhancer(enhancer: Any) -> Any:
    """``enhancer`` if it has ``name``, ``input_size`` and a callable ``enhance``; else ``TypeError``."""
    if isinstance(enhancer, type):
        raise TypeError(
            f"enhancer must be an instance, not the class {enhancer.__name__}: pass {enhancer.__name__}()"
        )
    missing = [
        attribute for attribute in ("name", "input_size", "enhance") if not hasattr(enhancer, attribute)
    ]
    if missing or not callable(getattr(enhancer, "enhance", None)):
        raise TypeError(
            f"enhancer must be a name ('blur', 'pixelate', 'mask', 'gx') or an object with name, "
            f"input_size and enhance(crops) (recanon_sdk.enhance.Enhancer); {type(enhancer).__name__} "
            f"lacks {', '.join(missing) or 'a callable enhance'}"
        )
    return enhancer


def check_detector(detector: Any) -> Any:
    """``detector`` if it has a callable ``detect(images)``; else ``TypeError``."""
    if isinstance(detector, type):
        raise TypeError(
            f"detector must be an instance, not the class {detector.__name__}: pass {detector.__name__}()"
        )
    if not callable(getattr(detector, "detect", None)):
        raise TypeError(
            f"detector must have detect(images) -> list[People] "
            f"(recanon_sdk.detect.backend.PoseBackend); {type(detector).__name__} has none"
        )
    return detector
