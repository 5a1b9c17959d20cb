"""Run manifests: what one anonymizer run read and wrote, signed by the device (``X.manifest.json``).

``sig = Ed25519(device, "recanon/v1/manifest" || 0x00 || canonical(manifest without "sig"))``

>>> import io
>>> from datetime import UTC, datetime
>>> from recanon_keys.identities import generate_device_key
>>> from recanon_keys.deployments import create_deployment
>>> from recanon_keys.sidecar import SidecarSummary
>>> device = generate_device_key("cam-01")
>>> dep = create_deployment("lobby", device_key=device)
>>> t = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
>>> m = build_run_manifest(
...     deployment=dep, device_key=device, tool_version="0.1.0", models={"gx": "ab" * 32},
...     input=FileDigest("in.mp4", "cd" * 32, 10), output=FileDigest("out.mp4", "ef" * 32, 9),
...     sidecar=SidecarSummary("AAAAAAAAAAAAAAAAAAAAAA==", 3, "00" * 32, "11" * 32, 40),
...     sidecar_name="out.pose.jsonl", started=t, finished=t)
>>> verify_manifest(sign_manifest(m, device), deployment=dep) == m
True
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from . import _atomic
from ._format.encoding import (
    Fields,
    b64e,
    canonical,
    check_label,
    document,
    format_time,
    parse_document,
)
from .deployments import DEPLOYMENT_ID_RE, Deployment
from .errors import AuthenticationFailed, WrongDeployment
from .identities import DeviceKey
from .sidecar import SidecarSummary

__all__ = [
    "FileDigest",
    "RunManifest",
    "build_run_manifest",
    "file_digest",
    "sign_manifest",
    "stream_digest",
    "verify_manifest",
]

KIND = "manifest"
SIG_DOMAIN = b"recanon/v1/manifest"
MAX_MANIFEST = 64 * 1024
MAX_MODELS = 32
_RUN_ID_RE = re.compile(r"[A-Za-z0-9+/]{22}==")


@dataclass(frozen=True)
class FileDigest:
    """A file by base name, SHA-256 (hex) and size in bytes."""

    name: str
    sha256: str
    size: int


def file_digest(path: str | os.PathLike[str]) -> FileDigest:
    """Hash a file (streamed) into a ``FileDigest`` named by its base name."""
    with open(path, "rb") as fh:
        return stream_digest(fh, Path(path).name)


def stream_digest(handle: BinaryIO, name: str) -> FileDigest:
    """Hash what ``handle`` reads from its position to its end (streamed) into a ``FileDigest``.

    >>> import io
    >>> stream_digest(io.BytesIO(b"abc"), "x").sha256[:16]
    'ba7816bf8f01cfea'
    """
    hasher, size = hashlib.sha256(), 0
    while block := handle.read(1 << 20):
        hasher.update(block)
        size += len(block)
    return FileDigest(name, hasher.hexdigest(), size)


@dataclass(frozen=True)
class RunManifest:
    deployment_id: str
    device_key_id: str
    tool_name: str
    tool_version: str
    models: tuple[tuple[str, str], ...]  # (name, sha256 hex), sorted by name
    input: FileDigest | None
    output: FileDigest
    sidecar_name: str
    sidecar: SidecarSummary
    started: datetime
    finished: datetime


def build_run_manifest(
    *,
    deployment: Deployment,
    device_key: DeviceKey,
    tool_version: str,
    models: Mapping[str, str],
    input: FileDigest | None,
    output: FileDigest,
    sidecar: SidecarSummary,
    sidecar_name: str,
    started: datetime,
    finished: datetime,
    tool_name: str = "recanon",
) -> RunManifest:
    """Collect a run's facts. ``models`` maps model name → SHA-256 hex of its weights (plaintext)."""
    if device_key.key_id != deployment.device.key_id:
        raise ValueError(
            f"deployment {deployment.name!r} trusts device {deployment.device.key_id}, not this key"
        )
    if len(models) > MAX_MODELS:
        raise ValueError(f"at most {MAX_MODELS} models")
    for name, digest in models.items():
        check_label(name, what="model name", max_len=128)
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"model {name!r}: sha256 must be 64 lowercase hex digits")
    for fd in (input, output) if input else (output,):
        _check_digest(fd)
    check_label(sidecar_name, what="sidecar name", max_len=255)
    return RunManifest(
        deployment_id=deployment.deployment_id,
        device_key_id=device_key.key_id,
        tool_name=check_label(tool_name, what="tool name"),
        tool_version=check_label(tool_version, what="tool version"),
        models=tuple(sorted(models.items())),
        input=input,
        output=output,
        sidecar_name=sidecar_name,
        sidecar=sidecar,
        started=started,
        finished=finished,
    )


def _check_digest(fd: FileDigest) -> None:
    check_label(fd.name, what="file name", max_len=255)
    if not re.fullmatch(r"[0-9a-f]{64}", fd.sha256) or not 0 <= fd.size <= 2**62:
        raise ValueError(f"{fd.name}: bad sha256 or size")


def _fd(fd: FileDigest) -> dict[str, Any]:
    return {"name": fd.name, "sha256": fd.sha256, "size": fd.size}


def _body(m: RunManifest) -> dict[str, Any]:
    return {
        "format": f"recanon-{KIND}/v1",
        "deployment_id": m.deployment_id,
        "device_key_id": m.device_key_id,
        "run_id": m.sidecar.run_id,
        "tool": {"name": m.tool_name, "version": m.tool_version},
        "models": [{"name": n, "sha256": d} for n, d in m.models],
        "input": _fd(m.input) if m.input else None,
        "output": _fd(m.output),
        "sidecar": {
            "name": m.sidecar_name,
            "sha256": m.sidecar.sha256,
            "size": m.sidecar.size,
            "lines": m.sidecar.lines,
            "chain_head": m.sidecar.chain_head,
        },
        "started": format_time(m.started),
        "finished": format_time(m.finished),
    }


def sign_manifest(manifest: RunManifest, device_key: DeviceKey) -> bytes:
    """The signed ``recanon-manifest/v1`` file (write it to ``X.manifest.json``)."""
    if device_key.key_id != manifest.device_key_id:
        raise ValueError("sign with the device key the manifest names")
    body = _body(manifest)
    return document({**body, "sig": b64e(device_key._sign(SIG_DOMAIN + b"\x00" + canonical(body)))})


def write_signed_manifest(
    path: str | os.PathLike[str], manifest: RunManifest, device_key: DeviceKey, *, overwrite: bool = False
) -> Path:
    """Sign ``manifest`` and write it to ``path`` (``X.manifest.json``) atomically, mode 0644."""
    _atomic.write_atomic(path, sign_manifest(manifest, device_key), mode=0o644, overwrite=overwrite)
    return Path(path)


def _read_fd(f: Fields) -> FileDigest:
    out = FileDigest(f.str("name", max_len=255), f.hex("sha256", length=32), f.int("size", 0, 2**62))
    f.done()
    return out


def parse_manifest(data: bytes, *, what: str = "the manifest") -> tuple[RunManifest, bytes, bytes]:
    """Parse without verifying: ``(manifest, signature, signed message)``."""
    obj = parse_document(data, kind=KIND, max_size=MAX_MANIFEST, what=what)
    f = Fields(obj, what)
    f.const("format", f"recanon-{KIND}/v1")
    t = f.obj_("tool")
    tool = (t.str("name", max_len=64), t.str("version", max_len=64))
    t.done()
    models = []
    for i, item in enumerate(f.list("models", min_len=0, max_len=MAX_MODELS)):
        mf = Fields(item, f"{what}: model {i + 1}")
        models.append((mf.str("name", max_len=128), mf.hex("sha256", length=32)))
        mf.done()
    inp = None if f.has("input") and f.obj["input"] is None else _read_fd(f.obj_("input"))
    f.seen.add("input")
    s = f.obj_("sidecar")
    sidecar_name = s.str("name", max_len=255)
    run_id = f.str("run_id", max_len=24, pattern=_RUN_ID_RE)
    summary = SidecarSummary(
        run_id,
        s.int("lines", 0, 2**48),
        s.hex("chain_head", length=32),
        s.hex("sha256", length=32),
        s.int("size", 0, 2**62),
    )
    s.done()
    m = RunManifest(
        deployment_id=f.str("deployment_id", max_len=19, pattern=DEPLOYMENT_ID_RE),
        device_key_id=f.key_id("device_key_id", "dk"),
        tool_name=tool[0],
        tool_version=tool[1],
        models=tuple(models),
        input=inp,
        output=_read_fd(f.obj_("output")),
        sidecar_name=sidecar_name,
        sidecar=summary,
        started=f.time("started"),
        finished=f.time("finished"),
    )
    sig = f.b64("sig", length=64)
    f.done()
    return m, sig, SIG_DOMAIN + b"\x00" + canonical({k: v for k, v in obj.items() if k != "sig"})


def verify_manifest(data: bytes, *, deployment: Deployment, what: str = "the manifest") -> RunManifest:
    """Parse and verify a manifest against ``deployment``'s device key.

    Raises ``WrongDeployment``, ``AuthenticationFailed``, ``InvalidFormat`` and subclasses.
    """
    m, sig, message = parse_manifest(data, what=what)
    if m.deployment_id != deployment.deployment_id:
        raise WrongDeployment(
            f"{what} is for deployment {m.deployment_id}, "
            f"not {deployment.name!r} ({deployment.deployment_id})"
        )
    if m.device_key_id != deployment.device.key_id:
        raise WrongDeployment(
            f"{what} names device {m.device_key_id}; "
            f"deployment {deployment.name!r} trusts {deployment.device.key_id}"
        )
    if not deployment.device.verify(sig, message):
        raise AuthenticationFailed(
            f"{what} has an invalid signature: it was altered after the device signed it"
        )
    return m
