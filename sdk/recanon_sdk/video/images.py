"""Still-image outputs: one image for an image input, a folder of images for a folder input.

Same contract as :class:`~recanon_sdk.video.writer.VideoSink` (``write``, ``close``, ``abort``):
the output appears under its final name only when complete.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from recanon_sdk.errors import OutputError
from recanon_sdk.types import Frame
from recanon_sdk.video.atomic import commit, discard, temporary_name

#: Image suffixes cv2 writes, and the quality flags used for lossy ones.
WRITE_PARAMS = {
    ".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".webp": [cv2.IMWRITE_WEBP_QUALITY, 95],
    ".png": [],
    ".bmp": [],
    ".tif": [],
    ".tiff": [],
}


class ImageSink:
    """Writes anonymized stills: to ``path`` (one image) or into the folder ``path`` (one file per input)."""

    def __init__(self, path: str | Path, names: list[str]) -> None:
        self.path = Path(path)
        self.names = names
        self.folder = len(names) != 1 or self.path.suffix.lower() not in WRITE_PARAMS
        if not self.folder and self.path.suffix.lower() not in WRITE_PARAMS:
            raise OutputError(
                f"cannot write image '{self.path}'", hint=f"use one of {', '.join(WRITE_PARAMS)}"
            )
        self._temporary = (
            temporary_name(self.path)
            if not self.folder
            else self.path.with_name(f".{self.path.name}.partial")
        )
        if self.folder:
            self._temporary.mkdir(exist_ok=False)
        self.frames_written = 0
        self.rotation = 0  # stills are written upright

    def write(self, frame: Frame, image: np.ndarray | None = None) -> None:
        picture = frame.image if image is None else image
        if self.folder:
            name = Path(self.names[frame.index])
            suffix = name.suffix.lower() if name.suffix.lower() in WRITE_PARAMS else ".png"
            target = self._temporary / (name.stem + suffix)
        else:
            target, suffix = self._temporary, self.path.suffix.lower()
        if not cv2.imwrite(str(target), np.ascontiguousarray(picture[:, :, ::-1]), WRITE_PARAMS[suffix]):
            raise OutputError(f"writing '{target}' failed")
        self.frames_written += 1

    def close(self) -> None:
        if self.frames_written == 0:
            raise OutputError(f"no image was written to '{self.path}'; nothing to finalize")
        if self.folder and self.path.exists():
            shutil.rmtree(self.path)  # only reached with overwrite (checked before the run)
        commit(self._temporary, self.path)

    def abort(self) -> None:
        if self.folder:
            shutil.rmtree(self._temporary, ignore_errors=True)
        else:
            discard(self._temporary)
