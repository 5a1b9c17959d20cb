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
            self._check_replaceable()
            self._temporary.mkdir(exist_ok=False)
        self.frames_written = 0
        self.rotation = 0  # stills are written upright

    def _output_name(self, index: int) -> str:
        name = Path(self.names[index])
        suffix = name.suffix.lower() if name.suffix.lower() in WRITE_PARAMS else ".png"
        return name.stem + suffix

    def _check_replaceable(self) -> None:
        """An existing output folder is replaced only if it holds nothing but images this run writes."""
        if not self.path.exists():
            return
        if not self.path.is_dir():
            raise OutputError(f"output '{self.path}' exists and is not a folder", hint="choose another -o")
        ours = {self._output_name(i) for i in range(len(self.names))}
        foreign = sorted(
            entry.name + ("/" if entry.is_dir() else "")
            for entry in self.path.iterdir()
            if entry.name not in ours or not entry.is_file()
        )
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise OutputError(
                f"output folder '{self.path}' holds files recanon would not write ({shown}); "
                "refusing to replace it",
                hint="move those files away or choose another -o",
            )

    def write(self, frame: Frame, image: np.ndarray | None = None) -> None:
        picture = frame.image if image is None else image
        if self.folder:
            target = self._temporary / self._output_name(frame.index)
            suffix = target.suffix
        else:
            target, suffix = self._temporary, self.path.suffix.lower()
        if not cv2.imwrite(str(target), np.ascontiguousarray(picture[:, :, ::-1]), WRITE_PARAMS[suffix]):
            raise OutputError(f"writing '{target}' failed")
        self.frames_written += 1

    def close(self) -> None:
        self.finalize()
        self.commit()

    def finalize(self) -> None:
        """Check that something was written (the images are complete as written)."""
        if self.frames_written == 0:
            raise OutputError(f"no image was written to '{self.path}'; nothing to finalize")

    def commit(self) -> None:
        """Give the written image (or folder of images) its final name."""
        if self.folder and self.path.exists():  # only reached with overwrite (checked before the run)
            self._check_replaceable()  # still nothing but our images: remove them one by one
            for entry in self.path.iterdir():
                entry.unlink()
            self.path.rmdir()
        commit(self._temporary, self.path)

    def abort(self) -> None:
        if self.folder:
            shutil.rmtree(self._temporary, ignore_errors=True)
        else:
            discard(self._temporary)
