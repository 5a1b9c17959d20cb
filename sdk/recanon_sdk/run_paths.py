"""Where one anonymizer run writes: the output's default name, the sidecar's and the manifest's,
and the names a signed run can record.
"""

from __future__ import annotations

from pathlib import Path

from recanon_sdk.errors import OutputError
from recanon_sdk.names import unprintable_reason
from recanon_sdk.video.reader import IMAGE_SUFFIXES, is_stream_url
from recanon_sdk.video.sidecar import sidecar_path_for
from recanon_sdk.video.writer import CONTAINER_BY_SUFFIX


def sidecar_for(source: str | Path, output_path: Path, sidecar: str | Path | None) -> Path:
    if sidecar is not None:
        return Path(sidecar)
    if (
        not is_stream_url(source)
        and Path(source).is_dir()
        and output_path.suffix.lower() not in CONTAINER_BY_SUFFIX
    ):  # a folder of images in, a folder out: the sidecar sits beside the folder
        return output_path.with_name(output_path.name + ".pose.jsonl")
    return sidecar_path_for(output_path)


def check_signable(
    source: str | Path, output_path: Path, sidecar: str | Path | None, sidecar_path: Path
) -> None:
    """A signed run records its file names in the manifest, which holds printable names only."""
    if sidecar is not None and sidecar_path != sidecar_path_for(output_path):
        raise OutputError(
            "a signed run keeps the sidecar next to the video (<output>.pose.jsonl)",
            hint="drop --sidecar when signing",
        )
    names = [("output", output_path)]
    if not is_stream_url(source):
        names.append(("input", Path(source)))
    for role, path in names:
        reason = unprintable_reason(path.name)
        if reason is not None:
            raise OutputError(
                f"the {role} name {path.name!r} cannot be signed: {reason}",
                hint="rename the file (printable UTF-8, at most 255 characters) or choose -o",
            )


def manifest_path(output: Path) -> Path:
    return output.with_suffix(".manifest.json")


def originals_path_for(output: str | Path) -> Path:
    """``run.anon.mp4`` → ``run.anon.originals.sealed`` (next to the video).

    >>> originals_path_for("out/run.anon.mp4").as_posix()
    'out/run.anon.originals.sealed'
    """
    path = Path(output)
    return path.with_name(f"{path.stem if path.suffix else path.name}.originals.sealed")


def default_output_for(source: str | Path) -> Path:
    """``walk.mp4`` → ``walk.anon.mp4``; a stream URL → ``stream.anon.mp4`` in the working folder.

    >>> default_output_for("clips/walk.mov").as_posix()
    'clips/walk.anon.mov'
    >>> default_output_for("photos/door.jpg").as_posix()
    'photos/door.anon.jpg'
    """
    if is_stream_url(source):
        return Path("stream.anon.mp4")
    path = Path(source)
    if path.is_dir():
        return path.with_name(f"{path.name}.anon")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return path.with_name(f"{path.stem}.anon{path.suffix}")
    suffix = (
        path.suffix if path.suffix.lower() in (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v") else ".mp4"
    )
    return path.with_name(f"{path.stem}.anon{suffix}")
