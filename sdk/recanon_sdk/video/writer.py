"""Encode frames with PyAV, keeping each input frame's exact timestamp, resolution, rotation and aspect.

The encoder's time base is the input stream's and every frame carries the input ``pts``, so variable
frame rate, gaps and the first timestamp survive (PyAV rescales to the muxer's time base). Output is
written to a hidden temporary name and renamed only by :meth:`VideoSink.close` after a clean finish;
:meth:`VideoSink.abort` removes it. Audio is dropped unless ``keep_audio`` (voices identify people):
then the input's audio packets are copied, interleaved by time, without re-encoding.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from recanon_sdk.errors import OutputError
from recanon_sdk.types import Frame
from recanon_sdk.video.atomic import commit, discard, temporary_name

#: Container formats by output suffix (the temporary name keeps the suffix, but be explicit).
CONTAINER_BY_SUFFIX = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".avi": "avi",
    ".webm": "webm",
    ".ts": "mpegts",
}
CODEC_ALIASES = {
    "h264": "libx264",
    "x264": "libx264",
    "h265": "libx265",
    "hevc": "libx265",
    "x265": "libx265",
    "av1": "libsvtav1",
    "vp9": "libvpx-vp9",
}


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    """Encoder settings. ``crf`` 23 and preset ``veryfast`` balance size and speed on small CPUs.

    ``threads``: x264's threads (x265 and SVT-AV1 keep their own thread pools). With one (the
    default) the same frames always give the same bytes; x264 with several threads gave outputs
    that differed by up to 12 grey levels from one run to the next while the pose model ran beside
    it, and on 2 cores one thread encodes as fast (the model is the bottleneck). ``0`` lets x264
    choose (many cores, large frames).
    """

    codec: str = "libx264"
    crf: int = 23
    preset: str = "veryfast"
    pix_fmt: str = "yuv420p"
    threads: int = 1

    def __post_init__(self) -> None:
        if self.threads < 0:
            raise ValueError(f"encoder threads must be ≥ 0 (0: the codec's choice), got {self.threads}")

    @property
    def encoder_name(self) -> str:
        return CODEC_ALIASES.get(self.codec, self.codec)


class VideoSink:
    """Writes upright RGB frames to a video file, atomically.

    >>> with VideoSink("out.mp4", time_base=Fraction(1, 90000)) as sink:   # doctest: +SKIP
    ...     sink.write(frame)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        time_base: Fraction,
        average_rate: Fraction | None = None,
        rotation: int = 0,
        sample_aspect_ratio: Fraction | None = None,
        config: EncoderConfig | None = None,
        audio_from: str | Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.config = config or EncoderConfig()
        self.time_base = time_base
        self.average_rate = average_rate
        self.rotation = rotation
        self.sample_aspect_ratio = sample_aspect_ratio
        self._audio_from = audio_from
        self._temporary = temporary_name(self.path)
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._audio: _AudioCopier | None = None
        self.frames_written = 0
        fmt = CONTAINER_BY_SUFFIX.get(self.path.suffix.lower())
        if fmt is None:
            raise OutputError(
                f"cannot tell the container format of '{self.path}' from its suffix",
                hint=f"use one of {', '.join(sorted(CONTAINER_BY_SUFFIX))}",
            )
        self._format = fmt
        if self.config.encoder_name not in av.codecs_available:
            raise OutputError(
                f"video codec '{self.config.codec}' is not available in this FFmpeg build",
                hint="use libx264 (default), libx265 or libsvtav1",
            )

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _open(self, width: int, height: int) -> None:
        try:
            self._container = av.open(str(self._temporary), mode="w", format=self._format)
        except (av.error.FFmpegError, OSError) as error:
            raise OutputError(
                f"cannot write '{self.path}': {getattr(error, 'strerror', None) or error}"
            ) from None
        rate = self.average_rate if self.average_rate and self.average_rate > 0 else Fraction(25)
        # Rate-control hint only: the real timing is each frame's pts in the input time base.
        stream = self._container.add_stream(self.config.encoder_name, rate=rate)
        stream.width, stream.height = width, height
        pix_fmt = self.config.pix_fmt
        if pix_fmt == "yuv420p" and (width % 2 or height % 2):
            pix_fmt = "yuv444p"  # 4:2:0 needs even sizes; 4:4:4 keeps the odd resolution exactly
        stream.pix_fmt = pix_fmt
        stream.codec_context.time_base = self.time_base
        stream.time_base = self.time_base
        if self.sample_aspect_ratio:
            stream.codec_context.sample_aspect_ratio = self.sample_aspect_ratio
        options = {}
        if self.config.encoder_name in ("libx264", "libx265"):
            options = {"crf": str(self.config.crf), "preset": self.config.preset}
        elif self.config.encoder_name == "libsvtav1":
            options = {"crf": str(self.config.crf), "preset": "10"}
        stream.codec_context.options = options
        if self.config.threads:
            stream.codec_context.thread_count = self.config.threads
        if self.rotation:
            stream.set_display_rotation(self.rotation)
        self._stream = stream
        if self._audio_from is not None:
            self._audio = _AudioCopier(self._audio_from, self._container)

    def _opened(self) -> tuple[av.container.OutputContainer, av.video.stream.VideoStream]:
        """The container and its video stream, which :meth:`_open` sets up together."""
        if self._container is None or self._stream is None:
            raise RuntimeError(
                f"the encoder of '{self.path}' is only half set up (opening it failed earlier): "
                "abort this output instead of writing to it"
            )
        return self._container, self._stream

    def write(self, frame: Frame, image: np.ndarray | None = None) -> None:
        """Encode ``image`` (default ``frame.image``) at ``frame.pts`` in ``frame.time_base``."""
        picture = frame.image if image is None else image
        if self.rotation:
            picture = np.ascontiguousarray(np.rot90(picture, k=-(self.rotation // 90)))
        if self._container is None:
            self._open(picture.shape[1], picture.shape[0])
        container, stream = self._opened()
        video_frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        video_frame.pts = frame.pts
        video_frame.time_base = frame.time_base
        if self._audio is not None and frame.pts is not None:
            self._audio.copy_until(frame.pts * frame.time_base)
        try:
            for packet in stream.encode(video_frame):
                container.mux(packet)
        except (av.error.FFmpegError, OSError) as error:
            raise OutputError(
                f"writing '{self.path}' failed: {getattr(error, 'strerror', None) or error}"
            ) from None
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, finalize the container and rename it to its final name."""
        self.finalize()
        self.commit()

    def finalize(self) -> None:
        """Flush the encoder and finalize the container under its temporary name (:meth:`commit` names it)."""
        if self._container is None:
            raise OutputError(f"no frame was written to '{self.path}'; nothing to finalize")
        container, stream = self._opened()
        try:
            for packet in stream.encode(None):
                container.mux(packet)
            if self._audio is not None:
                self._audio.copy_until(None)
                self._audio.close()
            container.close()
        except (av.error.FFmpegError, OSError) as error:
            self.abort()
            raise OutputError(
                f"finalizing '{self.path}' failed: {getattr(error, 'strerror', None) or error}"
            ) from None
        self._container = None
        self._finalized = True

    @property
    def temporary(self) -> Path:
        """Where the output is written until :meth:`commit`."""
        return self._temporary

    def commit(self) -> None:
        """Give the finalized output its final name."""
        if not getattr(self, "_finalized", False):
            raise OutputError(f"'{self.path}' was not finalized; nothing to commit")
        commit(self._temporary, self.path)

    def abort(self) -> None:
        """Drop the partial output: nothing is left that could be mistaken for a complete file."""
        if self._audio is not None:
            self._audio.close()
            self._audio = None
        if self._container is not None:
            with contextlib.suppress(Exception):  # a broken container may fail to close; removed anyway
                self._container.close()
            self._container = None
        discard(self._temporary)


class _AudioCopier:
    """Copies the input's first audio stream into the output, packet by packet, interleaved by time."""

    def __init__(self, source: str | Path, output: av.container.OutputContainer) -> None:
        self._input = av.open(str(source))
        self._in_stream = self._input.streams.audio[0]
        self._out_stream = output.add_stream_from_template(self._in_stream)
        self._output = output
        self._packets = self._input.demux(self._in_stream)
        self._pending: av.Packet | None = None
        self._done = False

    def copy_until(self, seconds: Fraction | None) -> None:
        while not self._done:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                self._done = True
                return
            if packet.dts is None:
                continue
            if seconds is not None and packet.pts is not None and packet.pts * packet.time_base > seconds:
                self._pending = packet
                return
            packet.stream = self._out_stream
            self._output.mux(packet)

    def close(self) -> None:
        self._input.close()
