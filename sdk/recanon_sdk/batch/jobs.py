"""What a batch is made of: one :class:`Job` per input file, the :class:`BatchSettings` every job shares,
and the :class:`FileResult` each job ends with.

All three are plain picklable dataclasses, so that jobs travel to worker processes and Ray tasks as
they are; nothing secret is in them (a device key is loaded by the worker from its file, see
:class:`SigningSpec`).

>>> job = Job(0, Path("archive/cam1/a.mp4"), Path("cam1/a.mp4"), Path("anon/cam1/a.mp4"), "video")
>>> [p.as_posix() for p in job.final_paths(signed=True, sealed=False)]
['anon/cam1/a.mp4', 'anon/cam1/a.pose.jsonl', 'anon/cam1/a.pose.jsonl.sig', 'anon/cam1/a.manifest.json']
>>> FileResult(job.index, str(job.source), "done", frames=12, seconds=2.0).fps
6.0
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from recanon_sdk.names import display_name

if TYPE_CHECKING:
    import recanon_keys as rk

    from recanon_sdk.anonymizer import AnonymizerConfig
    from recanon_sdk.originals import OriginalsConfig
    from recanon_sdk.signing import RunSigner

Kind = Literal["video", "image"]
Status = Literal["done", "skipped", "failed", "interrupted"]


@dataclass(frozen=True, slots=True)
class Job:
    """One input file of a batch and where its outputs go.

    ``relative`` is the input's path below the folder (or glob base) it was found in; the output
    tree mirrors it. ``kind`` decides the detector preset: ``"image"`` runs the stills setting.
    """

    index: int
    source: Path
    relative: Path
    output: Path
    kind: Kind

    @property
    def sidecar(self) -> Path:
        return self.output.with_name(f"{self.output.stem}.pose.jsonl")

    @property
    def manifest(self) -> Path:
        return self.output.with_suffix(".manifest.json")

    @property
    def signature(self) -> Path:
        return self.sidecar.with_name(self.sidecar.name + ".sig")

    @property
    def originals(self) -> Path:
        return self.output.with_name(f"{self.output.stem}.originals.sealed")

    def final_paths(self, *, signed: bool, sealed: bool) -> list[Path]:
        """Every file a run of this job writes (the video first)."""
        paths = [self.output, self.sidecar]
        if signed:
            paths += [self.signature, self.manifest]
        if sealed:
            paths.append(self.originals)
        return paths

    def all_paths(self) -> list[Path]:
        """Every file a run of this job may write, whatever the settings."""
        return self.final_paths(signed=True, sealed=True)


def temporaries_of(final: Path) -> list[Path]:
    """The hidden temporaries (``.NAME.xxxxxxxx.partial.EXT``) that a run writing ``final`` leaves when
    it is killed before it can clean up (:func:`recanon_sdk.video.atomic.temporary_name`)."""
    folder = final.parent
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(final.stem)}\.[0-9a-f]{{8}}\.partial{re.escape(final.suffix)}")
    return [folder / name for name in os.listdir(folder) if pattern.fullmatch(name)]


def remove_temporaries(job: Job) -> list[Path]:
    """Remove what a killed earlier attempt at ``job`` left under hidden names; return what was removed.

    Only this job's own names are touched: a batch owns its outputs, one batch per output folder.
    """
    removed = []
    for final in job.all_paths():
        for temporary in temporaries_of(final):
            try:
                temporary.unlink()
            except FileNotFoundError:
                continue
            removed.append(temporary)
    return removed


@dataclass(frozen=True, slots=True)
class SigningSpec:
    """How a worker signs its runs: it loads the device key itself, from ``device_key``.

    ``passphrase`` is filled in only for worker processes on this machine; on Ray the passphrase
    never travels through the cluster: the worker reads ``passphrase_file`` (a path it can see) or
    ``$RECANON_PASSPHRASE`` in its own environment.
    """

    deployment: Path
    device_key: Path
    passphrase_file: Path | None = None
    passphrase: str | None = field(default=None, repr=False)

    def without_passphrase(self) -> SigningSpec:
        return SigningSpec(self.deployment, self.device_key, self.passphrase_file, None)

    def load(self) -> RunSigner:
        """The run signer, loaded from the files (:class:`~recanon_sdk.errors.OutputError` if not)."""
        import recanon_keys as rk

        from recanon_sdk.errors import OutputError
        from recanon_sdk.signing import RunSigner

        try:
            deployment = rk.load_deployment(self.deployment.read_bytes(), what=str(self.deployment))
            data = rk.read_private_key_file(self.device_key, kind="device-key")
            protected = rk.read_key_file_info(data, kind="device-key", what=str(self.device_key)).protected
            passphrase = None
            if protected:
                passphrase = self.passphrase
                if passphrase is None and self.passphrase_file is not None:
                    passphrase = rk.read_passphrase_file(self.passphrase_file)
                passphrase = passphrase or os.environ.get("RECANON_PASSPHRASE")
                if not passphrase:
                    raise OutputError(
                        f"no passphrase for the device key '{self.device_key}' on this worker",
                        hint="give --passphrase-file on a path the workers can read, or set "
                        "RECANON_PASSPHRASE in their environment",
                    )
            key = rk.load_device_key(data, passphrase=passphrase, what=str(self.device_key))
            return RunSigner(key, deployment)
        except OSError as error:
            raise OutputError(f"cannot read '{error.filename}': {error.strerror}") from None
        except rk.RecanonKeysError as error:
            raise OutputError(error.message, hint=error.hint) from None
        except ValueError as error:
            raise OutputError(str(error), hint="use the device key the deployment was created with") from None


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """What every job of a batch shares.

    ``video`` and ``stills`` are the anonymizer settings for video and image inputs (the stills
    detector preset differs: :meth:`~recanon_sdk.detect.pose.DetectorConfig.for_stills`).
    ``threads`` is ONNX Runtime's thread count per pipeline (``None``: its default).
    ``gx_from_device_key``: the worker derives the keyed GX's secret from the device key itself.
    """

    video: AnonymizerConfig
    stills: AnonymizerConfig
    backend: str = "auto"
    engine: str = "auto"
    providers: tuple[str, ...] | None = None
    threads: int | None = None
    overwrite: bool = False
    max_frames: int | None = None
    signing: SigningSpec | None = None
    seal_to: rk.Deployment | None = None
    originals: OriginalsConfig | None = None
    gx_from_device_key: bool = False

    @property
    def signed(self) -> bool:
        return self.signing is not None

    @property
    def sealed(self) -> bool:
        return self.seal_to is not None

    def config_for(self, kind: Kind) -> AnonymizerConfig:
        return self.stills if kind == "image" else self.video


@dataclass(slots=True)
class FileResult:
    """What became of one input: ``status`` is ``done``, ``skipped`` (already complete, ``--resume``),
    ``failed`` (``error`` says why) or ``interrupted``. ``stopped_early`` is set when the input
    stopped decoding before its end (the outputs hold the frames before it)."""

    index: int
    input: str
    status: Status
    output: str | None = None
    sidecar: str | None = None
    manifest: str | None = None
    originals: str | None = None
    frames: int = 0
    persons: int = 0
    tracks: int = 0
    obscured_frames: int = 0
    seconds: float = 0.0
    stopped_early: str | None = None
    error: str | None = None
    hint: str | None = None
    attempts: int = 1
    worker: str | None = None
    #: Hidden temporaries of a killed earlier attempt that this run removed before it started.
    cleaned_temporaries: int = 0
    #: Peak resident memory of the process that ran it, so far (MiB; ``None`` where unknown).
    peak_rss_mib: float | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("done", "skipped") and self.stopped_early is None

    def to_json(self) -> dict[str, Any]:
        """One machine-readable record (``recanon anonymize --json`` prints one per input)."""
        record = asdict(self)
        record["outputs"] = {
            name: record.pop(name) for name in ("output", "sidecar", "manifest", "originals")
        }
        record["seconds"] = round(self.seconds, 3)
        record["input"] = display_name(self.input)
        for name, value in record["outputs"].items():
            record["outputs"][name] = None if value is None else display_name(value)
        return record
