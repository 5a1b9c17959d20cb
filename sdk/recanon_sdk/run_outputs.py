"""Every file one anonymizer run writes, committed together or not at all.

A run writes up to five files: the video (or images), the pose sidecar, the sealed originals, the
sidecar's signature and the signed manifest. Each is written under a hidden temporary name;
:meth:`RunOutputs.finish` first finalizes all of them (flushes the encoder, writes the sidecar's end
line, closes the sealed stream, signs the manifest) — anything that can fail fails here, while no
file has its final name — and only then renames them, the manifest last. :meth:`RunOutputs.abort`
removes every temporary file. So a crash, an error or Ctrl-C never leaves a partial output, and an
output never exists without the files that vouch for it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from recanon_sdk.types import Frame, People
from recanon_sdk.video.atomic import commit, discard, temporary_name
from recanon_sdk.video.sidecar import SidecarWriter

if TYPE_CHECKING:
    import recanon_keys as rk

    from recanon_sdk.originals import OriginalsConfig
    from recanon_sdk.signing import RunSigner


class Sink(Protocol):
    """A video or image output (:class:`~recanon_sdk.video.writer.VideoSink`, ``ImageSink``)."""

    rotation: int

    def write(self, frame: Frame, image: np.ndarray | None = None) -> None: ...
    def finalize(self) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


@dataclass(slots=True)
class FrameOutput:
    """One processed frame on its way to the outputs."""

    frame: Frame
    image: np.ndarray
    people: People
    status: str
    events: list[dict[str, Any]]


class OriginalsOutput:
    """The sealed-originals file of one run: written under a temporary name, committed by the run."""

    def __init__(
        self,
        path: Path,
        deployment: rk.Deployment,
        width: int,
        height: int,
        config: OriginalsConfig | None,
    ) -> None:
        from recanon_sdk.originals import OriginalsWriter

        self.path = path
        self._temporary = temporary_name(path)
        self._handle = open(self._temporary, "wb")  # noqa: SIM115 - closed in close/abort
        try:
            self._writer = OriginalsWriter(
                self._handle, deployment=deployment, width=width, height=height, config=config
            )
        except BaseException:
            self.abort()
            raise
        self.run_id = self._writer.run_id

    def write(self, item: FrameOutput) -> None:
        image = item.frame.image
        if item.status != "ok":  # the whole frame was obscured: keep all of it
            regions = np.array([[0, 0, image.shape[1], image.shape[0]]])
        else:
            regions = item.people.region if item.people.region is not None else np.zeros((0, 4), int)
        self._writer.write(item.frame.index, image, regions)

    def close(self) -> dict[str, Any]:
        """Finish the stream; return its name, size, SHA-256 and frame count (:meth:`commit` names it)."""
        import recanon_keys as rk

        self._writer.close()
        self._handle.close()
        digest = rk.file_digest(self._temporary)
        return {
            "name": self.path.name,
            "sha256": digest.sha256,
            "size": digest.size,
            "frames": self._writer.frames,
        }

    def commit(self) -> None:
        commit(self._temporary, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.abort()
        self._handle.close()
        if self._temporary.exists():
            discard(self._temporary)


class RunOutputs:
    """The outputs of one run into ``output``: ``sink`` and ``sidecar`` always, ``originals`` and
    ``signer`` optionally."""

    def __init__(
        self,
        output: Path,
        sink: Sink,
        sidecar: SidecarWriter,
        *,
        originals: OriginalsOutput | None = None,
        signer: RunSigner | None = None,
    ) -> None:
        self.output = output
        self.sink = sink
        self.sidecar = sidecar
        self.originals = originals
        self.signer = signer
        if signer is not None:
            sidecar.on_line.append(signer.add_line)

    def write(self, item: FrameOutput) -> None:
        """One frame to every output, in order: the picture, the sealed originals, the sidecar line."""
        self.sink.write(item.frame, item.image)
        if self.originals is not None:
            self.originals.write(item)
        self.sidecar.write_frame(
            index=item.frame.index,
            pts=item.frame.pts,
            seconds=item.frame.seconds,
            people=item.people,
            status=item.status,
            events=item.events,
        )

    def finish(
        self,
        summary: dict[str, Any],
        *,
        source: str | Path | None,
        models: dict[str, str],
    ) -> tuple[dict[str, Any] | None, Path | None]:
        """Finalize every output, then give them all their final names (the manifest last).

        Returns the sealed originals' summary (name, sha256, size, frames) and the manifest's path.
        """
        self.sink.finalize()
        originals = self.originals.close() if self.originals is not None else None
        self.sidecar.finalize(**summary, **({"originals": originals} if originals else {}))
        if self.signer is not None:
            self.signer.prepare(
                source=source,
                output=self.output,
                output_file=getattr(self.sink, "temporary", None),
                models=models,
            )
        self.sink.commit()
        if self.originals is not None:
            self.originals.commit()
        self.sidecar.commit()
        manifest = self.signer.commit() if self.signer is not None else None
        return originals, manifest

    def abort(self) -> None:
        """Remove every temporary file; never raises."""
        for part in (self.sink, self.sidecar, self.signer, self.originals):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.abort()
