"""Read frames with their exact presentation timestamps from anything FFmpeg reads.

Sources: video files (mp4, mkv, avi, mov, …), ``rtsp://``/``http(s)://`` streams, single image
files and folders of images. Frames stream one at a time (constant memory); timestamps come from the
demuxer as integers in the stream's time base and are never re-derived from a frame rate, so
variable frame rate survives. A stream that is corrupt in the middle yields every frame that decodes
and then stops, recording why in :attr:`VideoSource.stopped_early`.

Rotation: PyAV does not auto-rotate. Frames are turned upright (by the display matrix) before they
are yielded, and :attr:`VideoSource.rotation` records the angle so the writer restores it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from recanon_sdk.errors import InputError
from recanon_sdk.names import redact_url
from recanon_sdk.types import Frame
from recanon_sdk.video.kinds import IMAGE_SUFFIXES

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "srt://")
#: Time base given to image sequences (which have no timestamps of their own): 1/25 s per image.
IMAGE_TIME_BASE = Fraction(1, 25)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What is known about a source before decoding it."""

    name: str
    kind: str  # "video", "stream", "image", "images"
    width: int
    height: int
    time_base: Fraction
    average_rate: Fraction | None
    frames: int | None  # container's frame count when it states one (for progress only)
    sample_aspect_ratio: Fraction | None
    has_audio: bool
    container_format: str


def is_stream_url(source: str | Path) -> bool:
    return str(source).lower().startswith(STREAM_SCHEMES)


class VideoSource:
    """A streaming source of upright RGB :class:`~recanon_sdk.types.Frame` objects.

    >>> source = VideoSource("clip.mp4")                 # doctest: +SKIP
    >>> for frame in source: ...                          # doctest: +SKIP
    """

    def __init__(self, source: str | Path, *, stream_timeout_s: float = 10.0) -> None:
        self.source = source
        self.stopped_early: str | None = None
        self.rotation = 0
        self.dropped_non_monotonic = 0
        self._stream_timeout_s = stream_timeout_s
        if is_stream_url(source):
            self._kind = "stream"
            self._images: list[Path] = []
        else:
            path = Path(source)
            if not path.exists():
                raise InputError(f"input '{source}' does not exist", hint="check the path")
            if path.is_dir():
                self._kind = "images"
                self._images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                if not self._images:
                    raise InputError(
                        f"folder '{source}' has no image files ({', '.join(sorted(IMAGE_SUFFIXES))})",
                        hint="point to a video file, an image or a folder of images",
                    )
            else:
                if path.stat().st_size == 0:
                    raise InputError(f"input '{source}' is an empty file (0 bytes)", hint="check the file")
                self._kind = "image" if path.suffix.lower() in IMAGE_SUFFIXES else "video"
                self._images = [path] if self._kind == "image" else []
        self.info = self._probe()

    @property
    def image_paths(self) -> list[Path]:
        """The image files of an image or folder source, in frame order (empty for videos)."""
        return list(self._images)

    # -- probing ---------------------------------------------------------------------------------

    def _open(self, target: str | Path) -> av.container.InputContainer:
        shown = redact_url(target)  # a camera URL's credentials never reach a message
        options = {}
        if self._kind == "stream":
            options = {"rtsp_transport": "tcp", "timeout": str(int(self._stream_timeout_s * 1e6))}
        try:
            return av.open(str(target), mode="r", options=options, timeout=self._stream_timeout_s)
        except av.error.FileNotFoundError:
            raise InputError(f"input '{shown}' does not exist", hint="check the path") from None
        except av.error.PermissionError:
            raise InputError(f"input '{shown}' is not readable (permission denied)") from None
        except (av.error.InvalidDataError, av.error.EOFError, av.error.PatchWelcomeError):
            raise InputError(
                f"'{shown}' is not a video or image FFmpeg can read",
                hint="check that the file is complete and is a video (mp4, mkv, avi, mov, …) or an image",
            ) from None
        except av.error.FFmpegError as error:
            raise InputError(f"cannot open '{shown}': {redact_url(error.strerror or str(error))}") from None

    def _probe(self) -> SourceInfo:
        first = self._images[0] if self._images else redact_url(self.source)
        with self._open(self._images[0] if self._images else self.source) as container:
            if not container.streams.video:
                raise InputError(
                    f"'{first}' has no video stream", hint="pass a video file, an image or a folder of images"
                )
            stream = container.streams.video[0]
            ctx = stream.codec_context
            width, height = ctx.width, ctx.height
            if width <= 0 or height <= 0:
                raise InputError(f"'{first}' has a video stream without a frame size; it may be corrupt")
            if self._kind in ("image", "images"):
                time_base, rate, frames = IMAGE_TIME_BASE, 1 / IMAGE_TIME_BASE, len(self._images)
            else:
                time_base = stream.time_base or Fraction(1, 90000)
                rate = stream.average_rate or stream.guessed_rate
                frames = stream.frames or None
            return SourceInfo(
                name=Path(str(self.source)).name if self._kind != "stream" else redact_url(self.source),
                kind=self._kind,
                width=width,
                height=height,
                time_base=Fraction(time_base),
                average_rate=Fraction(rate) if rate else None,
                frames=frames,
                sample_aspect_ratio=Fraction(stream.sample_aspect_ratio)
                if stream.sample_aspect_ratio
                else None,
                has_audio=bool(container.streams.audio),
                container_format=container.format.name,
            )

    # -- decoding --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Frame]:
        if self._kind in ("image", "images"):
            yield from self._iter_images()
        else:
            yield from self._iter_video()

    def _iter_images(self) -> Iterator[Frame]:
        for index, path in enumerate(self._images):
            with self._open(path) as container:
                try:
                    decoded = next(container.decode(video=0))
                except (StopIteration, av.error.FFmpegError):
                    raise InputError(f"image '{path}' could not be decoded; it may be corrupt") from None
                yield Frame(image=_upright(decoded), pts=index, time_base=IMAGE_TIME_BASE, index=index)

    def _iter_video(self) -> Iterator[Frame]:
        with self._open(self.source) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = self.info.time_base
            index = 0
            last_pts: int | None = None
            frames = container.decode(stream)
            while True:
                try:
                    decoded = next(frames)
                except StopIteration:
                    if self._kind != "stream" and last_pts is not None:
                        self.stopped_early = _ended_before_stated_duration(
                            container, stream, last_pts * time_base
                        )
                    return
                except av.error.FFmpegError as error:
                    # Corrupt in the middle: keep what decoded so far; the caller finalizes the output.
                    self.stopped_early = f"decoding stopped at frame {index}: {error.strerror or error}"
                    return
                if index == 0:
                    self.rotation = round(decoded.rotation or 0) % 360
                pts = decoded.pts
                if pts is None:
                    # Some containers (raw streams, old AVI) give none: continue from the last one.
                    step = round(1 / (self.info.average_rate * time_base)) if self.info.average_rate else 1
                    pts = 0 if last_pts is None else last_pts + max(1, step)
                if last_pts is not None and pts <= last_pts:
                    # A duplicate or backwards timestamp cannot be muxed; skip the frame but say so.
                    self.dropped_non_monotonic += 1
                    continue
                last_pts = pts
                yield Frame(image=_upright(decoded), pts=int(pts), time_base=time_base, index=index)
                index += 1


def _ended_before_stated_duration(container, stream, last_seconds: Fraction) -> str | None:
    """A sentence if decoding ended well before the duration the container states (a truncated file).

    Truncated Matroska or MPEG-TS files decode to the cut without an error; their header still states
    the full duration. The tolerance (3 frame intervals, at least 1 s) absorbs audio that outlasts the
    video and rounding of the last frame's duration.
    """
    if stream.duration and stream.time_base:
        end = (stream.start_time or 0) * stream.time_base + stream.duration * stream.time_base
    elif container.duration:
        end = Fraction(container.duration + (container.start_time or 0), 1_000_000)
    else:
        return None
    interval = 1 / stream.average_rate if stream.average_rate else Fraction(1, 25)
    if last_seconds + interval < end - max(3 * interval, Fraction(1)):
        return f"the input ends at {float(last_seconds):.2f} s but states {float(end):.2f} s (truncated?)"
    return None


def _upright(decoded: av.VideoFrame) -> np.ndarray:
    """RGB array turned so that it displays upright (PyAV's rotation is counter-clockwise degrees)."""
    image = decoded.to_ndarray(format="rgb24")
    rotation = round(decoded.rotation or 0) % 360
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
    return image
