"""The outputs of one recovery: a video and optionally a folder of stills, private, all or nothing.

Recovered frames show de-anonymized people, so they are written only where their owner can read
them: under hidden names inside folders created with mode 0700, and given their final names (files
``mode``, 0600 by default; folders the same plus ``x`` where ``r`` is set) only once everything is
complete and the inputs were not changed meanwhile. Anything else is removed.

An existing stills folder is replaced (with ``overwrite``) only if it holds nothing but stills
recanon writes (``frame000123.png``): a folder with anything else in it is refused, never deleted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from recanon_sdk.errors import OutputError
from recanon_sdk.types import Frame
from recanon_sdk.video.atomic import check_output
from recanon_sdk.video.writer import EncoderConfig, VideoSink

__all__ = [
    "DEFAULT_MODE",
    "RecoveryOutputs",
    "check_mode",
    "check_stills_folder",
    "folder_mode",
    "still_name",
]

#: Recovered files are readable by their owner only unless asked otherwise.
DEFAULT_MODE = 0o600
_STILL = re.compile(r"frame[0-9]{6,}\.png")


def still_name(index: int) -> str:
    """The file name of the still of frame ``index``.

    >>> still_name(42)
    'frame000042.png'
    """
    return f"frame{index:06d}.png"


def check_mode(mode: int) -> int:
    """A file mode for recovered outputs: the owner reads and writes; nobody else writes.

    >>> oct(check_mode(0o640))
    '0o640'
    >>> check_mode(0o666)
    Traceback (most recent call last):
    ValueError: mode 0o666 lets others write the recovered files: use at most 0o644 (e.g. 0o600 or 0o640)
    """
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o777:
        raise ValueError(f"mode {mode!r} is not a file mode (0o000 to 0o777)")
    if mode & 0o600 != 0o600:
        raise ValueError(f"mode {oct(mode)} must let the owner read and write (e.g. 0o600)")
    if mode & 0o133:
        raise ValueError(
            f"mode {oct(mode)} lets others write the recovered files: use at most 0o644 (e.g. 0o600 or 0o640)"
        )
    return mode


def folder_mode(mode: int) -> int:
    """The mode of a folder of recovered files: ``mode`` plus ``x`` wherever ``r`` is set.

    >>> oct(folder_mode(0o600)), oct(folder_mode(0o640))
    ('0o700', '0o750')
    """
    return mode | ((mode & 0o444) >> 2)


def _foreign(path: Path) -> list[str]:
    """What in folder ``path`` recanon did not write (anything but regular files named like stills)."""
    with os.scandir(path) as entries:
        return sorted(
            e.name + ("/" if e.is_dir(follow_symlinks=False) else "")
            for e in entries
            if not (_STILL.fullmatch(e.name) and e.is_file(follow_symlinks=False))
        )


def check_stills_folder(path: Path, *, overwrite: bool) -> None:
    """Refuse ``path`` as the stills folder if it exists (without ``overwrite``) or holds foreign files."""
    if not os.path.lexists(path):
        check_output(path, overwrite=False)
        return
    if path.is_symlink() or not path.is_dir():
        raise OutputError(
            f"'{path}' exists and is not a folder of stills recanon wrote; refusing to replace it",
            hint="choose a new folder for --stills",
        )
    if not overwrite:
        raise OutputError(
            f"output '{path}' exists already", hint="pass --overwrite to replace it, or choose another folder"
        )
    foreign = _foreign(path)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(
            f"'{path}' holds files recanon did not write ({shown}); refusing to replace it",
            hint="--overwrite replaces only a folder of recanon's stills (frame000123.png); choose another",
        )


class RecoveryOutputs:
    """Writes the recovered video (and stills) privately; :meth:`commit` names all, :meth:`abort` none."""

    def __init__(
        self,
        video: Path,
        *,
        time_base: Fraction,
        average_rate: Fraction | None,
        sample_aspect_ratio: Fraction | None,
        encoder: EncoderConfig,
        stills: Path | None = None,
        mode: int = DEFAULT_MODE,
        overwrite: bool = False,
    ) -> None:
        self.video, self.stills, self.mode, self.overwrite = video, stills, check_mode(mode), overwrite
        self._staging = Path(
            tempfile.mkdtemp(prefix=f".{video.name}.", suffix=".recovering", dir=video.parent)
        )
        self._stills_dir: Path | None = None
        try:
            self.sink = VideoSink(
                self._staging / video.name,
                time_base=time_base,
                average_rate=average_rate,
                sample_aspect_ratio=sample_aspect_ratio,
                config=encoder,
            )
            if stills is not None:
                self._stills_dir = Path(
                    tempfile.mkdtemp(prefix=f".{stills.name}.", suffix=".partial", dir=stills.parent)
                )
        except BaseException:
            self.abort()
            raise
        self.stills_written = 0

    def write(self, frame: Frame, image: np.ndarray, restored: np.ndarray) -> None:
        """One recovered frame; it becomes a still too when something was restored in it."""
        self.sink.write(frame, image)
        if self._stills_dir is not None and len(restored):
            import cv2

            ok, png = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
            target = self._stills_dir / still_name(frame.index)
            if not ok:
                raise OutputError(f"encoding the still '{target.name}' failed")
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(png.tobytes())
            self.stills_written += 1

    def commit(self, inputs_unchanged: Callable[[], None]) -> None:
        """Finish the video, run ``inputs_unchanged`` (raises if an input changed), then name everything."""
        try:
            self.sink.close()
            inputs_unchanged()
            staged = self._staging / self.video.name
            os.chmod(staged, self.mode)
            if self._stills_dir is not None:
                for still in self._stills_dir.iterdir():
                    os.chmod(still, self.mode)
                os.chmod(self._stills_dir, folder_mode(self.mode))
                if self.stills is not None and os.path.lexists(self.stills):
                    check_stills_folder(self.stills, overwrite=self.overwrite)  # again, just before
            _place_file(staged, self.video, overwrite=self.overwrite)
        except BaseException:
            self.abort()
            raise
        placed = os.stat(self.video)
        if self._stills_dir is not None and self.stills is not None:
            try:
                _place_folder(self._stills_dir, self.stills)
            except BaseException:
                now = os.stat(self.video)
                if (now.st_dev, now.st_ino) == (placed.st_dev, placed.st_ino):
                    os.unlink(self.video)  # all or nothing: the video goes too
                self.abort()
                raise
            self._stills_dir = None
        shutil.rmtree(self._staging, ignore_errors=True)

    def abort(self) -> None:
        """Remove everything written so far (only recanon's own hidden folders)."""
        sink = getattr(self, "sink", None)
        if sink is not None:
            sink.abort()
        shutil.rmtree(self._staging, ignore_errors=True)
        if self._stills_dir is not None:
            shutil.rmtree(self._stills_dir, ignore_errors=True)
            self._stills_dir = None


def _place_file(staged: Path, final: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(staged, final)
        return
    try:
        os.link(staged, final)  # never replaces a file that appeared meanwhile
    except FileExistsError:
        raise OutputError(f"output '{final}' exists already", hint="pass --overwrite to replace it") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(final):
            raise OutputError(
                f"output '{final}' exists already", hint="pass --overwrite to replace it"
            ) from None
        os.replace(staged, final)
        return
    os.unlink(staged)


def _place_folder(staged: Path, final: Path) -> None:
    """Move the finished stills folder to ``final``; an old folder of stills there goes, file by file."""
    if not os.path.lexists(final):
        os.rename(staged, final)
        return
    old = final.with_name(f".{final.name}.{secrets.token_hex(4)}.replaced")
    os.rename(final, old)
    os.rename(staged, final)
    for entry in list(old.iterdir()):
        if _STILL.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink()
    with contextlib.suppress(OSError):  # something appeared meanwhile: it is kept, never deleted
        old.rmdir()
