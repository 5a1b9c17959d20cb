"""From what a user names (folders, globs, files) to the list of jobs of a batch, checked before work.

Rules:

* a **folder** contributes every video (:data:`VIDEO_SUFFIXES`) and image below it, recursively;
  hidden files and folders (``.name``, which include recanon's own temporaries) are skipped, and so is
  the output folder when it lies inside the input folder;
* a **glob** (``*``, ``?``, ``[``; ``**`` crosses folders) contributes the videos and images it
  matches; its base is the part of the pattern before the first wildcard;
* a **file** contributes itself.

With an output folder, each output sits at the input's path below its folder (or glob base; a named
file: at its name) under the output folder, so the tree is mirrored; without one, a folder's outputs
go to ``FOLDER.anon/`` beside it and a file's next to it as ``NAME.anon.EXT``. Videos are written
under their own name (a suffix recanon cannot write becomes ``.mp4``), images keep theirs.

:func:`plan_batch` refuses, before any work, outputs that would collide (two inputs onto one name,
also when names differ only in case, which some file systems do not tell apart) and outputs that
would be an input.

>>> is_video(Path("cam1/2024-01-01.MKV")), is_video(Path("notes.txt"))
(True, False)
>>> glob_base("archive/*/cam?.mp4").as_posix()
'archive'
>>> output_name(Path("a/b.ts")).as_posix(), output_name(Path("a/p.JPG")).as_posix()
('a/b.mp4', 'a/p.JPG')
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from recanon_sdk.batch.jobs import Job, Kind
from recanon_sdk.errors import InputError, OutputError
from recanon_sdk.video.reader import IMAGE_SUFFIXES, is_stream_url

#: Suffixes of the files a folder or glob contributes as videos.
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg",
     ".wmv", ".flv", ".3gp", ".mxf", ".h264", ".h265", ".hevc", ".gif"}
)  # fmt: skip
#: Video suffixes recanon writes as they are; any other video is written as ``.mp4``.
KEPT_VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v"})
_MAGIC = frozenset("*?[")


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def is_glob(text: str) -> bool:
    return any(c in _MAGIC for c in text)


def glob_base(pattern: str) -> Path:
    """The folder part of ``pattern`` before its first wildcard (``.`` if it starts with one)."""
    parts = []
    for part in Path(pattern).parts:
        if is_glob(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def output_name(relative: Path) -> Path:
    """The output's path for an input at ``relative``: videos keep a writable suffix, else ``.mp4``."""
    if is_image(relative) or relative.suffix.lower() in KEPT_VIDEO_SUFFIXES:
        return relative
    return relative.with_suffix(".mp4")


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def walk(folder: Path, *, exclude: Path | None = None) -> list[Path]:
    """Every video and image below ``folder``, sorted; hidden entries and ``exclude`` skipped."""
    exclude_resolved = exclude.resolve() if exclude is not None else None
    found = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside(here / d, exclude_resolved))
        for name in files:
            path = here / name
            if not name.startswith(".") and (is_video(path) or is_image(path)):
                found.append(path)
    return sorted(found)


def has_video(folder: Path) -> bool:
    """Whether any video lies below ``folder`` (hidden entries skipped), stopping at the first."""
    for _root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(not n.startswith(".") and is_video(Path(n)) for n in files):
            return True
    return False


def folder_mode(folder: Path) -> str:
    """How ``recanon anonymize FOLDER`` treats a folder: ``"batch"`` when a video lies anywhere below
    it, or when its images are only in subfolders; else ``"stills"`` (images at its top level and no
    video: one job, a folder of anonymized images out, as a folder of images always was; an empty
    folder too, which that path reports).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     (Path(d) / "p.jpg").touch()
    ...     before = folder_mode(Path(d))
    ...     (Path(d) / "day1").mkdir(); (Path(d) / "day1" / "cam.mp4").touch()
    ...     before, folder_mode(Path(d))
    ('stills', 'batch')
    """
    if has_video(folder):
        return "batch"
    top = any(not p.name.startswith(".") and p.is_file() and is_image(p) for p in folder.iterdir())
    if top:
        return "stills"
    return "batch" if walk(folder) else "stills"


def is_stills_folder(folder: Path) -> bool:
    """Whether ``folder`` is one set of stills (see :func:`folder_mode`)."""
    return folder.is_dir() and folder_mode(folder) == "stills"


def discover(
    sources: Sequence[str | os.PathLike[str]], out_dir: Path | None
) -> list[tuple[Path, Path, Path | None]]:
    """``(input, relative path, root)`` for every file the sources name, in order, without repeats.

    ``root`` is the folder or glob base the input was found in (``None`` for a file named directly),
    used for the default output folder. Raises :class:`InputError` for a source that names nothing.
    """
    found: list[tuple[Path, Path, Path | None]] = []
    seen: set[Path] = set()

    def add(path: Path, relative: Path, root: Path | None) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append((path, relative, root))

    for raw in sources:
        text = os.fspath(raw)
        if is_stream_url(text):
            raise InputError(
                f"'{_shown(text)}' is a stream; a batch reads files",
                hint="record cameras with 'recanon watch CONFIG' (several at once, segmented outputs)",
            )
        path = Path(text)
        if path.is_dir():
            files = walk(path, exclude=out_dir)
            if not files:
                raise InputError(
                    f"folder '{text}' holds no video or image files",
                    hint=f"videos: {', '.join(sorted(VIDEO_SUFFIXES))}; images: "
                    f"{', '.join(sorted(IMAGE_SUFFIXES))}",
                )
            for file in files:
                add(file, file.relative_to(path), path)
        elif path.exists():
            add(path, Path(path.name), None)
        elif is_glob(text):
            base = glob_base(text)
            matches = sorted(
                Path(m)
                for m in glob.glob(text, recursive=True)
                if Path(m).is_file() and (is_video(Path(m)) or is_image(Path(m)))
            )
            matches = [m for m in matches if not _inside(m, out_dir.resolve() if out_dir else None)]
            if not matches:
                raise InputError(f"'{text}' matches no video or image file", hint="check the pattern")
            for match in matches:
                add(match, match.relative_to(base), base)
        else:
            raise InputError(f"input '{text}' does not exist", hint="check the path")
    return found


def plan_batch(
    sources: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str] | None = None
) -> list[Job]:
    """The jobs for ``sources`` into ``out_dir`` (see the module docstring), collisions refused."""
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and out.exists() and not out.is_dir():
        raise OutputError(f"output '{out}' exists and is not a folder", hint="a batch writes into a folder")
    jobs = []
    for index, (source, relative, root) in enumerate(discover(sources, out)):
        kind: Kind = "video" if is_video(source) else "image"
        if out is not None:
            output = out / output_name(relative)
        elif root is not None:
            output = root.parent / f"{root.name}.anon" / output_name(relative)
        else:
            output = _beside(source)
        jobs.append(Job(index, source, relative, output, kind))
    check_collisions(jobs)
    return jobs


def _beside(source: Path) -> Path:
    from recanon_sdk.run_paths import default_output_for

    return default_output_for(source)


def check_collisions(jobs: Iterable[Job]) -> None:
    """Raise :class:`OutputError` naming both inputs if two jobs would write one file, or a job would
    write onto an input."""
    jobs = list(jobs)
    owners: dict[str, Job] = {}
    inputs = {str(job.source.resolve()).casefold(): job for job in jobs}
    for job in jobs:
        for path in job.all_paths():
            key = str(path.resolve()).casefold()
            other = owners.get(key)
            if other is not None and other is not job:
                raise OutputError(
                    f"'{_shown(other.source)}' and '{_shown(job.source)}' would both write '{_shown(path)}'",
                    hint="rename one of them, or anonymize them in separate runs with different -o",
                )
            if key in inputs:
                raise OutputError(
                    f"output '{_shown(path)}' would replace the input '{_shown(inputs[key].source)}'",
                    hint="choose an output folder (-o) outside the inputs",
                )
            owners[key] = job


def _shown(value: object) -> str:
    from recanon_sdk.names import display_name, redact_url

    return display_name(redact_url(os.fspath(value) if isinstance(value, os.PathLike) else str(value)))
