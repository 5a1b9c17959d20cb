"""Anonymized frames as a generator, for apps that own their loop (:meth:`Anonymizer.stream`).

``for frame, people, status in anonymizer.stream("cam.mp4"):`` decodes, detects, tracks and
anonymizes one small batch at a time in the caller's thread (constant memory), yields each frame as
soon as it is anonymized, and writes the pose sidecar line by line when asked. Only anonymized
pixels are yielded: a frame that fails closed comes out obscured whole, with ``status`` ``"obscured"``.

Stopping early is normal (``break``, or ``close()`` on the generator): the input is closed and the
sidecar, if any, is finalized with the frames yielded so far and ``stopped_early`` saying so. An
error inside removes the unfinished sidecar.

This module also holds what :meth:`Anonymizer.process_video` and the generator share: the time span
check (:func:`time_span_for`) and the run's additions to the sidecar header (:func:`header_additions`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from recanon_sdk.run_header import run_header
from recanon_sdk.span import TimeSpan
from recanon_sdk.streaming import batches, limited
from recanon_sdk.types import Frame, People
from recanon_sdk.video.atomic import check_output
from recanon_sdk.video.reader import SourceInfo, VideoSource, is_stream_url
from recanon_sdk.video.sidecar import SidecarWriter

if TYPE_CHECKING:
    from recanon_sdk.anonymizer import Anonymizer


class AnonymizedFrame(NamedTuple):
    """One frame of :meth:`Anonymizer.stream`: unpacks as ``frame, people, status``.

    ``frame`` is the anonymized picture with the source frame's timestamp and index; ``people`` the
    people found, with track ids and the regions hidden; ``status`` ``"ok"`` or ``"obscured"``.
    """

    frame: Frame
    people: People
    status: str


def time_span_for(info: SourceInfo, start: float | None, end: float | None, keep_audio: bool) -> TimeSpan:
    """The span to cut from a source described by ``info``; ``ValueError`` where a span cannot apply."""
    span = TimeSpan(start, end)
    if span.whole:
        return span
    if info.kind in ("image", "images"):
        raise ValueError("start/end apply to videos and streams, not to images")
    if keep_audio:
        raise ValueError(
            "keep_audio cannot be combined with start/end: the audio would not be cut with the video"
        )
    return span


def header_additions(anonymizer: Anonymizer, span: TimeSpan) -> dict[str, Any]:
    """What a run adds to the header's ``anonymization``: the hiding policy, whether the pose is
    drawn onto the output, the enhancer's settings the header does not list otherwise, and the span."""
    config = anonymizer.config
    added: dict[str, Any] = {"policy": config.policy.record(), "draw_pose": config.draw_pose}
    enhancer = anonymizer.enhancer
    settings = {
        name: getattr(enhancer, name)
        for name in ("sigma_px", "cell_px", "fill", "line", "softness")
        if getattr(enhancer, name, None) is not None
    }
    for name in ("inside", "outside"):
        part = getattr(enhancer, name, None)
        if part is not None:
            settings[name] = getattr(part, "name", type(part).__name__)
    if settings:
        added["enhancer_settings"] = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    if not span.whole:
        added["span"] = span.record()
    return added


def stream(
    anonymizer: Anonymizer,
    source: str | Path,
    *,
    sidecar: str | Path | None = None,
    overwrite: bool = False,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> Iterator[AnonymizedFrame]:
    """The generator behind :meth:`Anonymizer.stream` (see there)."""
    inputs = () if is_stream_url(source) else (Path(source),)
    sidecar_path = None if sidecar is None else Path(sidecar)
    if sidecar_path is not None:
        check_output(sidecar_path, overwrite=overwrite, inputs=inputs)
    video = VideoSource(source)
    info = video.info
    span = time_span_for(info, start, end, keep_audio=False)
    return _frames(anonymizer, video, span, sidecar_path, max_frames)


def _frames(
    anonymizer: Anonymizer,
    video: VideoSource,
    span: TimeSpan,
    sidecar_path: Path | None,
    max_frames: int | None,
) -> Iterator[AnonymizedFrame]:
    info = video.info
    writer = None
    if sidecar_path is not None:
        header = run_header(anonymizer, info, sidecar_path)
        header["output"] = {"name": None, "frames_to": "Anonymizer.stream"}
        header["anonymization"].update(header_additions(anonymizer, span))
        writer = SidecarWriter(sidecar_path, header)
    decoded = iter(video)
    cut = span.cut(decoded)
    counts = {"frames": 0, "persons": 0, "obscured_frames": 0}
    tracks: set[int] = set()
    stills = info.kind == "images"  # unrelated photos: nothing carries over from one to the next
    anonymizer.reset()
    stopped_early: str | None = None
    try:
        try:
            for batch in batches(limited(cut, max_frames), anonymizer.config.batch_size):
                found_in = (
                    zip(batch, anonymizer._detect(batch), strict=True) if stills else anonymizer._found(batch)
                )
                for frame, found in found_in:
                    if stills:
                        anonymizer.reset()
                    item = anonymizer._anonymize(frame, found)
                    anonymizer._observe(item)
                    people = item.people
                    counts["frames"] += 1
                    counts["obscured_frames"] += item.status != "ok"
                    counts["persons"] += int(len(people) if people.held is None else (~people.held).sum())
                    if people.track_id is not None:
                        tracks.update(int(t) for t in people.track_id if t >= 0)
                    if writer is not None:
                        writer.write_frame(
                            index=frame.index,
                            pts=frame.pts,
                            seconds=frame.seconds,
                            people=people,
                            status=item.status,
                            events=item.events,
                        )
                    out = Frame(image=item.image, pts=frame.pts, time_base=frame.time_base, index=frame.index)
                    yield AnonymizedFrame(out, people, item.status)
        except GeneratorExit:
            stopped_early = f"the caller stopped reading after {counts['frames']} frames"
        finally:
            decoded.close()  # type: ignore[attr-defined]  # the input is closed however the loop ends
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        summary: dict[str, Any] = {
            **counts,
            "tracks": len(tracks),
            "stopped_early": stopped_early or video.stopped_early,
            "dropped_non_monotonic": video.dropped_non_monotonic,
        }
        if cut.source_start is not None and not span.whole:
            summary["span"] = {**span.record(), "source_start": cut.source_start}
        try:
            writer.finish(**summary)
        except BaseException:
            writer.abort()
            raise
