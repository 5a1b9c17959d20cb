"""The recovery loop: read the pinned video and sidecar in step, restore the selected regions.

Two rules keep everyone else anonymized, whatever is selected:

* a selected region is restored only where it does not overlap a region of someone not selected
  (a neighbour's pixels never come back with the selected person);
* a frame that failed closed (``status`` not ``ok``: wholly obscured because a step failed) is
  restored as a whole only when nobody in particular is selected; with ``tracks`` it stays
  obscured, since who was where in that frame is not known.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import recanon_keys as rk

from recanon_sdk.errors import InputError
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.originals import CONTENT, decode_originals
from recanon_sdk.pinned import PinnedFiles
from recanon_sdk.recovery.checks import Inputs
from recanon_sdk.recovery.errors import RecoveryError, VerificationError
from recanon_sdk.recovery.selection import Selection
from recanon_sdk.types import Frame
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import FramePoses, Sidecar

__all__ = ["PinnedVideoSource", "restore_frames", "restore_mask"]

NO_REGIONS = np.zeros((0, 4), np.int64)


class PinnedVideoSource(VideoSource):
    """A :class:`VideoSource` that decodes the pinned (verified) bytes of a file, never the path again."""

    def __init__(self, path: Path, pins: PinnedFiles) -> None:
        self._pins = pins
        super().__init__(path)

    def _open(self, target: str | Path) -> av.container.InputContainer:
        try:
            return av.open(self._pins.open(Path(target)), mode="r")
        except OSError as error:
            raise InputError(f"cannot read '{target}': {error.strerror}") from None
        except av.error.FFmpegError as error:
            raise InputError(f"'{Path(target).name}' is not a video FFmpeg can read ({error})") from None


def restore_frames(
    inputs: Inputs,
    mode: str,
    selection: Selection,
    *,
    holder: rk.HolderKey,
    deployment: rk.Deployment,
    gy: Any | None,
    source: PinnedVideoSource | None = None,
) -> Iterator[tuple[Frame, np.ndarray, np.ndarray]]:
    """Yield ``(anonymized frame, recovered image, restored regions (k, 4))`` for every frame, in order.

    Only for audited inputs (``inputs.audit_entry``, set once the caller wrote the audit entry): the
    sealed originals are opened here. ``source``: the pinned video to read (default: a new one).
    """
    if inputs.audit_entry is None:
        raise RecoveryError(
            "these inputs were checked but their recovery was not logged: nothing is decrypted "
            "without an audit entry",
            hint="use Recoverer.recover(...) or process_video(...), which write the entry first",
        )
    geometry = _geometry_of(inputs.header)
    originals = _open_originals(inputs, holder, deployment) if mode == "exact" else None
    poses_iter = Sidecar(inputs.sidecar, opener=inputs.pins.open).frames()
    source = source if source is not None else PinnedVideoSource(inputs.video, inputs.pins)
    for frame in source:
        poses = next(poses_iter, None)
        if poses is None or poses.index != frame.index:
            raise InputError(
                f"the sidecar does not match '{inputs.video.name}' at frame {frame.index}",
                hint="use the sidecar written together with this video",
            )
        image = frame.image
        restored = NO_REGIONS
        failed_closed = poses.status != "ok"
        if selection.covers(poses.time) and not (failed_closed and selection.tracks is not None):
            chosen = selection.people_mask(poses)
            if failed_closed or chosen.any():
                image = image.copy()
                mask, selected = restore_mask(poses, chosen, image.shape[:2], failed_closed)
                source_image = _source(image, poses, selected, originals, geometry, gy, mode)
                image[mask] = source_image[mask]
                restored = selected
        yield frame, image, restored
    inputs.pins.raise_if_changed()  # FFmpeg ends a stream quietly when a read raises
    if source.stopped_early:
        raise InputError(f"'{inputs.video.name}': {source.stopped_early}", hint="get an intact copy")
    if next(poses_iter, None) is not None:
        raise InputError(
            f"'{inputs.video.name}' ends before its sidecar does",
            hint="use the video and sidecar written together",
        )


def restore_mask(
    poses: FramePoses, chosen: np.ndarray, shape: tuple[int, int], whole_frame: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The pixels to restore and the selected regions ``(k, 4)`` of one frame (``whole_frame``: all of it).

    >>> from recanon_sdk.types import People
    >>> people = People(xyxy=np.zeros((2, 4), np.float32), score=np.ones(2, np.float32),
    ...                 track_id=np.array([1, 2]), region=np.array([[0, 0, 6, 4], [4, 0, 8, 4]]))
    >>> poses = FramePoses(index=0, pts=0, time=0.0, status="ok", people=people)
    >>> mask, selected = restore_mask(poses, np.array([True, False]), (4, 8), False)
    >>> mask[0].astype(int).tolist()   # track 1's region, less where track 2's overlaps it
    [1, 1, 1, 1, 0, 0, 0, 0]
    """
    h, w = shape
    if whole_frame:
        return np.ones((h, w), bool), np.array([[0, 0, w, h]], np.int64)
    regions = poses.people.region if poses.people.region is not None else np.zeros((0, 4), int)
    selected = np.asarray(regions[chosen], dtype=np.int64).reshape(-1, 4)
    mask = _union(selected, (h, w))
    mask &= ~_union(regions[~chosen], (h, w))  # never reveal someone not selected
    return mask, selected


def _source(
    image: np.ndarray,
    poses: FramePoses,
    selected: np.ndarray,
    originals: _OriginalsCursor | None,
    geometry: CropGeometry,
    gy: Any | None,
    mode: str,
) -> np.ndarray:
    if mode == "exact":
        source = originals.at(poses.index) if originals is not None else None
        if source is None:
            raise RecoveryError(
                f"the sealed originals hold nothing for frame {poses.index}, which has anonymized regions",
                hint="the originals and the video do not belong together",
            )
        return source
    if gy is None:
        raise RecoveryError("learned recovery needs GY", hint="pass --bundle GY.sealed")
    crops = geometry.extract(image, selected, gy.input_size)
    return geometry.paste(image, selected, gy.recover(crops))


def _open_originals(inputs: Inputs, holder: rk.HolderKey, deployment: rk.Deployment) -> _OriginalsCursor:
    if inputs.originals is None:
        raise RecoveryError("exact recovery needs the sealed originals", hint="pass the *.originals.sealed")
    try:
        reader = rk.open_stream(
            inputs.pins.open(inputs.originals), holder, deployment=deployment, content=CONTENT
        )
    except rk.RecanonKeysError as error:
        raise RecoveryError(error.message, hint=error.hint) from None
    except OSError as error:
        raise InputError(f"cannot read '{inputs.originals}': {error.strerror}") from None
    declared = inputs.header.get("originals") or {}
    if declared.get("run_id") not in (None, reader.info.run_id.hex()):
        raise VerificationError(
            f"'{inputs.originals.name}' belongs to another run than '{inputs.video.name}'",
            hint="pass the sealed originals written next to this video",
        )
    return _OriginalsCursor(decode_originals(reader))


class _OriginalsCursor:
    """Walks decoded originals forward in step with the video's frame indices."""

    def __init__(self, frames: Iterator[tuple[int, np.ndarray]]) -> None:
        self._frames = frames
        self._pending: tuple[int, np.ndarray] | None = None

    def at(self, index: int) -> np.ndarray | None:
        while self._pending is None or self._pending[0] < index:
            nxt = next(self._frames, None)
            if nxt is None:
                return None
            self._pending = nxt
        return self._pending[1] if self._pending[0] == index else None


def _union(regions: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in np.asarray(regions, dtype=np.int64).reshape(-1, 4):
        mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return mask


def _geometry_of(header: dict[str, Any]) -> CropGeometry:
    settings = header.get("anonymization") or {}
    if not isinstance(settings, dict):
        settings = {}
    kwargs = {
        k: float(settings[k])
        for k in ("margin", "feather")
        if isinstance(settings.get(k), int | float) and not isinstance(settings.get(k), bool)
    }
    try:
        return CropGeometry(**kwargs)
    except (TypeError, ValueError):
        return CropGeometry()
