"""Sign what the anonymizer writes: the pose sidecar as it is written, then a run manifest.

A device that holds a deployment's Ed25519 device key signs every run, so that an investigator can
check with ``recanon verify OUT.mp4`` that the video, its sidecar and the manifest are exactly what
the device produced (formats in ``docs/key-formats.md``). The cryptography is ``recanon_keys``'s;
this module only wires it into the pipeline.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import recanon_keys as rk

from recanon_sdk._version import __version__
from recanon_sdk.video.atomic import commit, discard, temporary_name


class RunSigner:
    """Signs one run: :meth:`begin` before the sidecar is written, :meth:`prepare` once every output is
    finalized, :meth:`commit` when they get their final names.

    >>> signer = RunSigner(device_key, deployment)                       # doctest: +SKIP
    >>> Anonymizer().process_video("in.mp4", "out.mp4", signer=signer)   # doctest: +SKIP
    """

    def __init__(self, device_key: rk.DeviceKey, deployment: rk.Deployment) -> None:
        if device_key.key_id != deployment.device.key_id:
            raise ValueError(
                f"deployment {deployment.name!r} belongs to device key {deployment.device.key_id}, "
                f"not {device_key.key_id}"
            )
        self.device_key = device_key
        self.deployment = deployment
        self._signer: rk.SidecarSigner | None = None
        self._manifest_temporary: Path | None = None
        self._handle: IO[bytes] | None = None
        self._temporary: Path | None = None
        self._started = datetime.now(UTC)

    def begin(self, output: Path) -> None:
        """Open the signature file (a temporary name until :meth:`commit`)."""
        paths = rk.companion_paths(output)
        self._temporary = temporary_name(paths.sidecar_sig)
        self._handle = open(self._temporary, "wb")  # noqa: SIM115 - closed in commit/abort
        self._signer = rk.SidecarSigner(self.device_key, deployment=self.deployment, out=self._handle)
        self._started = datetime.now(UTC)

    def add_line(self, line: bytes) -> None:
        if self._signer is None:
            raise RuntimeError("RunSigner.begin() must be called before add_line()")
        self._signer.add_line(line)

    def prepare(
        self,
        *,
        source: str | Path | None,
        output: Path,
        output_file: Path | None = None,
        models: dict[str, str],
    ) -> None:
        """Finish the sidecar signature and sign the manifest, both under temporary names.

        ``output_file`` is where the finalized video lies now (its temporary name, before
        :meth:`commit`); the manifest names it ``output``. Raises before anything gets its final name.
        """
        if self._signer is None or self._handle is None or self._temporary is None:
            raise RuntimeError("RunSigner.begin() must be called before prepare()")
        summary = self._signer.finish()
        self._handle.close()
        paths = rk.companion_paths(output)
        digest = rk.file_digest(output_file or paths.video)
        manifest = rk.build_run_manifest(
            deployment=self.deployment,
            device_key=self.device_key,
            tool_version=__version__,
            models=models,
            input=rk.file_digest(source) if source is not None and os.path.isfile(source) else None,
            output=rk.FileDigest(paths.video.name, digest.sha256, digest.size),
            sidecar=summary,
            sidecar_name=paths.sidecar.name,
            started=self._started,
            finished=datetime.now(UTC),
        )
        self._manifest_temporary = temporary_name(paths.manifest)
        with open(self._manifest_temporary, "wb") as handle:
            handle.write(rk.sign_manifest(manifest, self.device_key))
        os.chmod(self._manifest_temporary, 0o644)
        self._paths = paths

    def commit(self) -> Path:
        """Name the signature, then the manifest (last: a manifest means the run is complete)."""
        if self._manifest_temporary is None or self._temporary is None:
            raise RuntimeError("RunSigner.prepare() must be called before commit()")
        commit(self._temporary, self._paths.sidecar_sig)
        self._temporary = None
        commit(self._manifest_temporary, self._paths.manifest)
        self._manifest_temporary = None
        return self._paths.manifest

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        for temporary in (self._temporary, self._manifest_temporary):
            if temporary is not None:
                discard(temporary)
        self._temporary = self._manifest_temporary = None
