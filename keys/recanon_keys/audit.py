"""The recovery audit log (``recanon-audit/v1``): signed, hash-chained JSON Lines next to a deployment.

Every recovery appends one entry *before* anything is decrypted: who (the holder's key id), what
(the input's SHA-256, tracks, time range, mode), when, with which tool. Entries are chained (each
names the SHA-256 of the line before it, the first a deployment-specific genesis value) and signed
with an Ed25519 *audit key* derived from the holder's X25519 secret, so that:

* removing, reordering, inserting or altering an entry breaks the chain or a signature
  (``verify_audit_log`` names the first bad line); cutting the log's tail is visible only against a
  copy or a count kept elsewhere (the last entry's ``seq`` and hash are what to keep);
* an entry can only be written by someone holding the holder's private key, *once the verifier
  knows that holder's audit key* (``audit_public_key``; X25519 keys cannot sign, and v1 deployment
  files list only X25519 keys). Without it, the verifier checks that each holder's entries all use
  one audit key (trust on first use) and reports the keys it saw.

>>> import tempfile, os
>>> from recanon_keys import create_deployment, generate_device_key, generate_holder
>>> alice = generate_holder("alice")
>>> dep = create_deployment("lobby", device_key=generate_device_key("cam"), holders=[alice.public])
>>> log = os.path.join(tempfile.mkdtemp(), "lobby.audit.jsonl")
>>> append_audit_entry(log, {"action": "recover", "tracks": [7]}, holder=alice, deployment=dep)
1
>>> report = verify_audit_log(log, deployment=dep, audit_keys={alice.key_id: audit_public_key(alice)})
>>> report.entries, report.ok
(1, True)
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ._format.bundle import hkdf
from ._format.encoding import (
    Fields,
    b64e,
    canonical,
    check_format,
    document,
    ensure_canonical,
    format_time,
    now_utc,
    parse_line,
)
from .deployments import Deployment
from .errors import AuthenticationFailed, InvalidFormat, WrongDeployment
from .identities import HolderKey

__all__ = ["AuditEntry", "AuditReport", "append_audit_entry", "audit_public_key", "verify_audit_log"]

KIND = "audit"
MAX_LINE = 16 * 1024
MAX_EVENT = 8 * 1024
SIGNING_CONTEXT = b"recanon/v1/audit-entry"
INFO_AUDIT_KEY = b"recanon/v1/audit-signing-key"
GENESIS_CONTEXT = b"recanon/v1/audit-genesis"


def _signing_key(holder: HolderKey) -> Ed25519PrivateKey:
    seed = hkdf(holder._secret_bytes(), holder.public.public_key, INFO_AUDIT_KEY)
    return Ed25519PrivateKey.from_private_bytes(seed)


def audit_public_key(holder: HolderKey) -> bytes:
    """The holder's 32-byte Ed25519 audit key (public: give it to whoever verifies the audit log)."""
    return _signing_key(holder).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def genesis(deployment_id: str) -> str:
    """The ``prev`` value of a log's first entry (hex)."""
    return hashlib.sha256(GENESIS_CONTEXT + b"\x00" + deployment_id.encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: datetime
    holder: str
    signer: bytes
    event: dict[str, Any]
    line_sha256: str


@dataclass
class AuditReport:
    """What :func:`verify_audit_log` found: every entry up to the first bad line, and problems."""

    entries: int = 0
    holders: dict[str, bytes] = field(default_factory=dict)  # key id -> audit key seen
    log: list[AuditEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_bad_line: int | None = None
    head: str | None = None  # SHA-256 of the last good line: keep it elsewhere to detect a cut tail

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse(line: bytes, *, deployment_id: str, number: int, what: str) -> tuple[dict[str, Any], AuditEntry]:
    where = f"{what} line {number}"
    if not line.endswith(b"\n"):
        raise InvalidFormat(f"{where} is cut short (no newline)")
    obj = parse_line(line[:-1], what=where)
    check_format(obj, KIND, what=where)
    ensure_canonical(obj, line[:-1], what=where)
    f = Fields(obj, where)
    f.const("format", f"recanon-{KIND}/v1")
    if f.str("deployment_id", max_len=19) != deployment_id:
        raise WrongDeployment(f"{where} belongs to deployment {obj['deployment_id']}, not {deployment_id}")
    seq = f.int("seq", 1, 2**53)
    f.hex("prev", length=32)
    when = f.time("time")
    holder = f.key_id("holder", "hk")
    signer = f.b64("signer", length=32)
    event = f._get("event")
    if not isinstance(event, dict) or len(canonical(event)) > MAX_EVENT:
        raise InvalidFormat(f"{where}: 'event' must be a JSON object of at most {MAX_EVENT} bytes")
    sig = f.b64("sig", length=64)
    f.done()
    body = {k: v for k, v in obj.items() if k != "sig"}
    try:
        Ed25519PublicKey.from_public_bytes(signer).verify(sig, SIGNING_CONTEXT + b"\x00" + canonical(body))
    except (InvalidSignature, ValueError):
        raise AuthenticationFailed(
            f"{where}: the signature does not verify (the entry was altered)"
        ) from None
    return obj, AuditEntry(seq, when, holder, signer, event, hashlib.sha256(line).hexdigest())


def verify_audit_log(
    path: str | os.PathLike[str], *, deployment: Deployment, audit_keys: dict[str, bytes] | None = None
) -> AuditReport:
    """Check every line: format, signature, chain, sequence, holder listed, one audit key per holder.

    ``audit_keys`` (holder key id → audit key) makes the check of *who* signed strict. Never raises
    for a bad log; the report lists problems and the first bad line.
    """
    report = AuditReport()
    what = f"the audit log {os.fspath(path)}"
    prev = genesis(deployment.deployment_id)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        report.problems.append(f"cannot read {what}: {error.strerror}")
        return report
    with handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE + 1), b""), start=1):
            try:
                obj, entry = _parse(line, deployment_id=deployment.deployment_id, number=number, what=what)
            except (InvalidFormat, AuthenticationFailed, WrongDeployment) as error:
                report.problems.append(error.message)
                report.first_bad_line = number
                return report
            problem = None
            if obj["prev"] != prev:
                problem = (
                    f"line {number} does not follow line {number - 1} "
                    "(an entry was removed, reordered or inserted)"
                )
            elif entry.seq != number:
                problem = f"line {number} has sequence number {entry.seq}"
            elif deployment.holder(entry.holder) is None:
                problem = (
                    f"line {number} was written by {entry.holder}, who is not a holder of this deployment"
                )
            elif (
                audit_keys is not None
                and entry.holder in audit_keys
                and audit_keys[entry.holder] != entry.signer
            ):
                problem = f"line {number} is not signed with {entry.holder}'s audit key"
            elif report.holders.setdefault(entry.holder, entry.signer) != entry.signer:
                problem = (
                    f"line {number} is signed for {entry.holder} with another audit key than earlier lines"
                )
            if problem:
                report.problems.append(problem)
                report.first_bad_line = number
                return report
            prev = entry.line_sha256
            report.entries += 1
            report.log.append(entry)
            report.head = prev
    return report


def append_audit_entry(
    path: str | os.PathLike[str],
    event: dict[str, Any],
    *,
    holder: HolderKey,
    deployment: Deployment,
    now: datetime | None = None,
) -> int:
    """Verify the log, append one signed entry for ``holder`` (under an exclusive lock, fsynced).

    Returns the new entry's sequence number. Raises ``AuthenticationFailed``/``InvalidFormat`` if
    the existing log does not verify (nothing is appended to a broken log), ``ValueError`` if
    ``holder`` is not a holder of ``deployment`` or ``event`` is not a small JSON object.
    """
    if deployment.holder(holder.key_id) is None:
        raise ValueError(f"{holder.key_id} is not a holder of deployment {deployment.name!r}")
    if not isinstance(event, dict) or len(canonical(event)) > MAX_EVENT:
        raise ValueError(f"an audit event is a JSON object of at most {MAX_EVENT} bytes")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        report = verify_audit_log(path, deployment=deployment)
        if not report.ok:
            raise AuthenticationFailed(
                f"the audit log {os.fspath(path)} does not verify: {report.problems[0]}",
                hint="nothing was appended; restore the log from a copy and run `recanon verify --audit-log`",
            )
        key = _signing_key(holder)
        body = {
            "format": f"recanon-{KIND}/v1",
            "deployment_id": deployment.deployment_id,
            "seq": report.entries + 1,
            "prev": report.head or genesis(deployment.deployment_id),
            "time": format_time(now or now_utc()),
            "holder": holder.key_id,
            "signer": b64e(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
            "event": event,
        }
        sig = key.sign(SIGNING_CONTEXT + b"\x00" + canonical(body))
        line = document({**body, "sig": b64e(sig)})
        if len(line) > MAX_LINE:
            raise ValueError("the audit entry is too large")
        handle.seek(0, os.SEEK_END)
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
        return int(body["seq"])
