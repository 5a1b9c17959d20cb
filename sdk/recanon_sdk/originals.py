"""Sealed originals: the raw pixels of every anonymized region, encrypted to the key holders.

For *exact* recovery, the anonymizer can keep what it hid. Every frame with anonymized regions is
copied with everything *outside* those regions set to black, encoded as H.264 (people-only video
compresses well: the black background costs almost nothing and the encoder predicts between frames),
and every encoded packet is sealed, as it comes out of the encoder, into a ``recanon-stream/v1`` file
(:mod:`recanon_keys.streams`) to the deployment's holders. The device holds only their public keys:
once a run has ended, the device (or whoever steals it) cannot open what it wrote.

Content ``originals/h264`` (docs/formats.md): one record per encoded packet,
``pts (8 bytes, big-endian, signed) || flags (1 byte; bit 0: keyframe) || H.264 Annex B packet``,
where ``pts`` is the output frame index. Lossy by default (libx264, 4:4:4 chroma, CRF 23: 42.7 dB
inside the regions on the shared walking video); ``lossless=True`` uses libx264rgb at QP 0, which
restores the decoded RGB pixels bit for bit.

>>> import io, numpy as np, recanon_keys as rk
>>> alice = rk.generate_holder("alice")
>>> dep = rk.create_deployment("lobby", device_key=rk.generate_device_key("cam"), holders=[alice.public])
>>> buf = io.BytesIO()
>>> writer = OriginalsWriter(buf, deployment=dep, width=64, height=48, config=OriginalsConfig(lossless=True))
>>> image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
>>> writer.write(0, image, np.array([[8, 8, 40, 40]]))
>>> writer.close()
>>> reader = rk.open_stream(buf.getvalue(), alice, deployment=dep, content=CONTENT)
>>> [(i, bool((frame[8:40, 8:40] == image[8:40, 8:40]).all())) for i, frame in decode_originals(reader)]
[(0, True)]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import av
import numpy as np
import recanon_keys as rk

from recanon_sdk.run_paths import originals_path_for  # where they go: a path rule, kept with the others

__all__ = ["CONTENT", "OriginalsConfig", "OriginalsWriter", "decode_originals", "originals_path_for"]

CONTENT = "originals/h264"
_RECORD_HEAD = struct.Struct(">qB")
_KEYFRAME = 0x01


@dataclass(frozen=True, slots=True)
class OriginalsConfig:
    """How the original pixels are compressed before sealing.

    ``crf`` 23 with 4:4:4 chroma (the anonymized video's own CRF) keeps 42.7 dB PSNR inside the
    regions, at 208 % of a blurred video's size; CRF 18 gives 45.4 dB at 363 %, CRF 28 40.0 dB at
    118 %; ``lossless`` stores the decoded RGB pixels exactly, at 2040 % (200 frames of the shared
    walking video, ``benchmarks/bench_recover.py``; docs/results.md).
    """

    lossless: bool = False
    crf: int = 23
    preset: str = "fast"

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be within 0..51, got {self.crf}")

    @property
    def meta(self) -> dict[str, Any]:
        if self.lossless:
            return {"codec": "libx264rgb", "pix_fmt": "rgb24", "qp": 0, "lossless": True}
        return {"codec": "libx264", "pix_fmt": "yuv444p", "crf": self.crf, "lossless": False}


class OriginalsWriter:
    """Encodes and seals the original pixels of each frame's anonymized regions.

    ``dst`` is a binary file object (the caller names and commits the file atomically). Frames must
    come in increasing index order and have the size given at construction. Frames without regions
    cost nothing (no record).
    """

    def __init__(
        self,
        dst: BinaryIO,
        *,
        deployment: rk.Deployment,
        width: int,
        height: int,
        config: OriginalsConfig | None = None,
    ) -> None:
        self.config = config or OriginalsConfig()
        self.width, self.height = width, height
        meta = {**self.config.meta, "width": width, "height": height, "pts": "output frame index"}
        self._stream = rk.SealedStreamWriter(dst, deployment=deployment, content=CONTENT, meta=meta)
        self._encoder = av.CodecContext.create(self.config.meta["codec"], "w")
        self._encoder.width, self._encoder.height = width, height
        self._encoder.pix_fmt = self.config.meta["pix_fmt"]
        self._encoder.time_base = Fraction(1, 1)
        options = {"preset": self.config.preset}
        options.update({"qp": "0"} if self.config.lossless else {"crf": str(self.config.crf)})
        self._encoder.options = options
        self._encoder.open()
        self._last_index = -1
        self.frames = 0

    @property
    def run_id(self) -> bytes:
        return self._stream.run_id

    @property
    def bytes_written(self) -> int:
        return self._stream.bytes_written

    def write(self, index: int, image: np.ndarray, regions: np.ndarray) -> None:
        """Keep ``image``'s pixels inside ``regions`` (``(N, 4)`` ints x0, y0, x1, y1) of frame ``index``."""
        if index <= self._last_index:
            raise ValueError(f"frame {index} comes after frame {self._last_index}: indices must increase")
        if image.shape != (self.height, self.width, 3) or image.dtype != np.uint8:
            raise ValueError(f"expected a {self.height}×{self.width} RGB uint8 frame, got {image.shape}")
        self._last_index = index
        if len(regions) == 0:
            return
        kept = np.zeros_like(image)
        for x0, y0, x1, y1 in np.asarray(regions, dtype=np.int64):
            x0, x1 = max(int(x0), 0), min(int(x1), self.width)
            y0, y1 = max(int(y0), 0), min(int(y1), self.height)
            if x1 > x0 and y1 > y0:
                kept[y0:y1, x0:x1] = image[y0:y1, x0:x1]
        frame = av.VideoFrame.from_ndarray(kept, format="rgb24")
        if not self.config.lossless:
            frame = frame.reformat(format=self.config.meta["pix_fmt"])
        frame.pts = index
        self._seal(self._encoder.encode(frame))
        self.frames += 1

    def _seal(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            flags = _KEYFRAME if packet.is_keyframe else 0
            self._stream.append(_RECORD_HEAD.pack(int(packet.pts), flags) + bytes(packet))

    def close(self) -> None:
        """Flush the encoder and write the stream's final record."""
        self._seal(self._encoder.encode(None))
        self._stream.close()

    def abort(self) -> None:
        """Stop without a final record (the stream reads as truncated) and forget the data key."""
        self._stream.abandon()


def decode_originals(reader: rk.SealedStreamReader) -> Iterator[tuple[int, np.ndarray]]:
    """Decode an opened ``originals/h264`` stream: ``(frame index, RGB image)`` in increasing order.

    Pixels outside the anonymized regions of that frame are black. Raises what the stream raises
    (``Truncated``, ``AuthenticationFailed``) when it reaches the damage.
    """
    if reader.info.content != CONTENT:
        raise rk.WrongModel(f"the sealed stream holds {reader.info.content!r}, not {CONTENT!r}")
    decoder = av.CodecContext.create("h264", "r")
    last = -1
    for record in reader.records():
        if len(record) <= _RECORD_HEAD.size:
            raise rk.InvalidFormat("a record of the sealed originals is too short")
        pts, _flags = _RECORD_HEAD.unpack_from(record)
        packet = av.Packet(record[_RECORD_HEAD.size :])
        packet.pts = pts
        for frame in decoder.decode(packet):
            last = _check_order(frame.pts, last)
            yield frame.pts, _to_rgb(frame)
    for frame in decoder.decode(None):
        last = _check_order(frame.pts, last)
        yield frame.pts, _to_rgb(frame)


def _check_order(pts: int | None, last: int) -> int:
    if pts is None or pts <= last:
        raise rk.InvalidFormat("the sealed originals decode to frames out of order")
    return pts


def _to_rgb(frame: av.VideoFrame) -> np.ndarray:
    # libx264rgb decodes to planar G, B, R (gbrp): converting to rgb24 only reorders bytes (exact).
    return frame.to_ndarray(format="rgb24")
