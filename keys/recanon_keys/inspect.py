"""Describe any recanon file without a secret (``recanon keys inspect``). Never shows secret material.

>>> from recanon_keys.identities import generate_holder
>>> alice = generate_holder("alice")
>>> info = inspect_bytes(alice.public.to_bytes())
>>> info.kind, dict(info.fields)["label"]
('holder-pub', 'alice')
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import BinaryIO

from ._format import sidecar as sidecar_fmt
from ._format.encoding import file_kind, format_time, parse_line
from ._format.keyfile import KIND_DEVICE, KIND_HOLDER, read_private_info
from .deployments import load_deployment
from .errors import InvalidFormat, Truncated
from .identities import HolderPublicKey
from .manifest import parse_manifest
from .sealing import read_bundle_info

__all__ = ["Inspection", "inspect_bytes", "inspect_file"]

MAX_FIRST_LINE = 1024 * 1024
MAX_DOCUMENT = 64 * 1024


@dataclass
class Inspection:
    kind: str
    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: object) -> None:
        self.fields.append((name, str(value)))


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


def inspect_file(path: str | os.PathLike[str]) -> Inspection:
    """Inspect the file at ``path`` (reads at most its first line and signature records)."""
    with open(path, "rb") as fh:
        return _inspect(fh, what=f"{os.fspath(path)}")


def inspect_bytes(data: bytes) -> Inspection:
    return _inspect(io.BytesIO(bytes(data)), what="the file")


def _inspect(src: BinaryIO, *, what: str) -> Inspection:
    first = src.readline(MAX_FIRST_LINE + 1)
    if not first:
        raise Truncated(f"{what} is empty")
    if not first.startswith(b"{"):
        raise InvalidFormat(f"{what} is not a recanon file")
    if not first.endswith(b"\n"):
        raise (InvalidFormat if len(first) > MAX_FIRST_LINE else Truncated)(
            f"{what} ends inside its first line"
        )
    kind = file_kind(parse_line(first[:-1], what=what))
    if kind is None:
        raise InvalidFormat(f'{what} is not a recanon file (no known "format" field)')
    src.seek(0)
    name = kind[0]
    if name == "bundle":
        return _bundle(src.read(len(first) + 32), what)
    if name == "sidecar-sig":
        return _sidecar_sig(src, what)
    if name == "stream":
        return _stream(src.read(len(first) + 32), what)
    data = src.read(MAX_DOCUMENT + 1)
    if name in (KIND_HOLDER, KIND_DEVICE):
        return _private(data, name, what)
    if name == "holder-pub":
        pub = HolderPublicKey.from_bytes(data, what=what)
        out = Inspection(name, f"holder public key (recanon-holder-pub/v{kind[1]})")
        out.add("key id", pub.key_id)
        out.add("label", pub.label)
        out.add("created", format_time(pub.created))
        out.add("public key", pub.public_key.hex())
        out.add(
            "audit key",
            f"{pub.audit_key_id} ({pub.audit_key.hex()})" if pub.audit_key else "not in a v1 file",
        )
        out.notes.append("confirm the key id and the audit key id with the holder before adding the key")
        return out
    if name == "deployment":
        return _deployment(data, what)
    return _manifest(data, what)


def _private(data: bytes, kind: str, what: str) -> Inspection:
    info = read_private_info(data, kind, what=what)
    title = "key holder private key" if kind == KIND_HOLDER else "device signing key"
    out = Inspection(kind, f"{title} (recanon-{kind}/v1)")
    out.add("key id", info.key_id)
    out.add("label", info.label)
    out.add("created", format_time(info.created))
    out.add("public key", info.public_key.hex())
    if info.kdf_params:
        out.add(
            "protection",
            f"passphrase, Argon2id t={info.kdf_params.opslimit} m={_mib(info.kdf_params.memlimit)}",
        )
    else:
        out.add("protection", "NONE: anyone who reads this file has the key")
    out.notes.append("the secret key is not shown; opening it needs the passphrase")
    return out


def _deployment(data: bytes, what: str) -> Inspection:
    dep = load_deployment(data, what=what)
    out = Inspection("deployment", f"deployment (recanon-deployment/v{dep.version})")
    out.add("name", dep.name)
    out.add("deployment id", dep.deployment_id)
    out.add("revision", dep.revision)
    out.add("created", format_time(dep.created))
    out.add("device", f"{dep.device.key_id} ({dep.device_label})")
    if not dep.holders:
        out.add("holders", "none yet")
    for i, h in enumerate(dep.holders, 1):
        audit = f", audit key {h.audit_key_id}" if h.audit_key_id else ""
        out.add(f"holder {i}", f"{h.key_id} ({h.label}){audit}")
    out.add(
        "policy",
        f"checkpoint every {dep.policy.checkpoint_every} lines, at least {dep.policy.min_holders} holder(s)",
    )
    out.add("signature", f"valid, by device {dep.device.key_id}")
    out.notes.append("compare the deployment id and device key id with a copy you trust")
    if not dep.pins_audit_keys:
        out.notes.append(
            "a v1 file: it does not list the holders' audit keys, so the audit log's signers are not pinned "
            "(`recanon keys upgrade` writes a v2 revision)"
        )
    return out


def _bundle(head: bytes, what: str) -> Inspection:
    info = read_bundle_info(head if len(head) else b"")
    out = Inspection("bundle", f"sealed bundle ({info.format})")
    out.add("deployment id", info.deployment_id)
    out.add("model", f"{info.model_name} version {info.model_version}")
    out.add("plaintext sha256", info.sha256)
    out.add("plaintext size", f"{info.size} bytes")
    out.add("sealed", format_time(info.created))
    for i, kid in enumerate(info.recipients, 1):
        out.add(f"recipient {i}", kid)
    out.add("signed by", info.signer or "NOBODY: an unsigned v1 bundle, refused when opened")
    out.notes.append("the signature and header are checked against the deployment when a holder opens it")
    return out


def _stream(head: bytes, what: str) -> Inspection:
    from .streams import read_stream_info

    info = read_stream_info(head)
    out = Inspection("stream", "sealed stream (recanon-stream/v1)")
    out.add("deployment id", info.deployment_id)
    out.add("content", info.content)
    out.add("run id", info.run_id.hex())
    out.add("sealed", format_time(info.created))
    for i, kid in enumerate(info.recipients, 1):
        out.add(f"recipient {i}", kid)
    out.notes.append("the header is authenticated only when a recipient opens the stream")
    return out


def _sidecar_sig(src: BinaryIO, what: str) -> Inspection:
    start = sidecar_fmt.parse_start(src.readline(MAX_FIRST_LINE + 1), what=what)
    out = Inspection("sidecar-sig", "pose sidecar signature (recanon-sidecar-sig/v1)")
    out.add("deployment id", start.deployment_id)
    out.add("device", start.device_key_id)
    out.add("run id", sidecar_fmt.b64e(start.run_id))
    out.add("started", format_time(start.created))
    out.add("checkpoint every", f"{start.checkpoint_every} lines")
    records, lines, final = 0, 0, False
    while rec_line := src.readline(sidecar_fmt.MAX_RECORD + 1):
        if not rec_line.endswith(b"\n"):
            out.notes.append("the file ends inside a record")
            break
        rec = sidecar_fmt.parse_record(rec_line, what=f"{what}, record {records + 1}")
        records, lines, final = records + 1, rec.lines, rec.type == "final"
    out.add("records", records)
    out.add("lines covered", lines)
    out.add("finished", "yes" if final else "NO (no final record: interrupted run?)")
    out.notes.append("signatures are checked by `recanon verify` against the deployment file")
    return out


def _manifest(data: bytes, what: str) -> Inspection:
    m, _sig, _msg = parse_manifest(data, what=what)
    out = Inspection("manifest", "run manifest (recanon-manifest/v1)")
    out.add("deployment id", m.deployment_id)
    out.add("device", m.device_key_id)
    out.add("run id", m.sidecar.run_id)
    out.add("tool", f"{m.tool_name} {m.tool_version}")
    for name, digest in m.models:
        out.add(f"model {name}", digest)
    if m.input:
        out.add("input", f"{m.input.name} sha256 {m.input.sha256} ({m.input.size} bytes)")
    out.add("output", f"{m.output.name} sha256 {m.output.sha256} ({m.output.size} bytes)")
    out.add("sidecar", f"{m.sidecar_name}: {m.sidecar.lines} lines, chain head {m.sidecar.chain_head}")
    out.add("started", format_time(m.started))
    out.add("finished", format_time(m.finished))
    out.notes.append("the signature is checked by `recanon verify` against the deployment file")
    return out
