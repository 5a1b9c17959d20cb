"""The recovery audit log (``recanon-audit/v1``): signed, hash-chained JSON Lines next to a deployment.

Every recovery appends one entry *before* anything is decrypted: who (the holder's key id), what
(the input's SHA-256, tracks, time range, mode), when, with which tool. Entries are chained (each
names the SHA-256 of the line before it, the first a deployment-specific genesis value) and signed
with an Ed25519 *audit key* derived from the holder's X25519 secret, so that:

* removing, reordering, inserting or altering an entry breaks the chain or a signature
  (``verify_audit_log`` names the first bad line); cutting the log's tail is visible only against a
  head kept elsewhere (``expect_head=``: the hash of the last entry when it was copied, which
  ``AuditReport.head`` gives);
* an entry can only be written by someone holding the holder's private key: a
  ``recanon-deployment/v2`` file lists each holder's audit key (signed by the device), and every
  entry must be signed with the key listed for its holder, so a log cut and re-signed with fresh
  keys fails at the first re-signed entry. A v1 deployment file lists only X25519 keys (which cannot
  sign): against it the verifier can only check that each holder's entries all use one audit key
  (trust on first use, ``AuditReport.pinned`` is false) unless ``audit_keys=`` gives them.

>>> import tempfile, os
>>> from recanon_keys import create_deployment, generate_device_key, generate_holder
>>> alice = generate_holder("alice")
>>> dep = create_deployment("lobby", device_key=generate_device_key("cam"), holders=[alice.public])
>>> log = os.path.join(tempfile.mkdtemp(), "lobby.audit.jsonl")
>>> append_audit_entry(log, {"action": "recover", "tracks": [7]}, holder=alice, deployment=dep)
1
>>> report = verify_audit_log(log, deployment=dep)
>>> report.entries, report.ok, report.pinned
(1, True, True)
>>> verify_audit_log(log, deployment=dep, expect_head=report.head).ok
True
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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
GENESIS_CONTEXT = b"recanon/v1/audit-genesis"
_HEAD_RE = re.compile(r"[0-9a-f]{64}")


def _signing_key(holder: HolderKey) -> Ed25519PrivateKey:
    return holder._audit_signing_key()


def audit_public_key(holder: HolderKey) -> bytes:
    """The holder's 32-byte Ed25519 audit key (public; also ``holder.public.audit_key``)."""
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
    pinned: bool = False  # every signer checked against an audit key the deployment (v2) lists
    head_line: int | None = None  # the line whose hash is ``expect_head``, when it was given and found

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


def _pinned_key(deployment: Deployment, audit_keys: dict[str, bytes] | None, holder: str) -> bytes | None:
    if audit_keys is not None and holder in audit_keys:
        return audit_keys[holder]
    listed = deployment.holder(holder)
    return listed.audit_key if listed is not None and deployment.pins_audit_keys else None


def _signer_problem(number: int, entry: AuditEntry, deployment: Deployment, pinned: bytes | None) -> str:
    listed = deployment.holder(entry.holder)
    who = f"{listed.label} ({entry.holder})" if listed else entry.holder
    if pinned is not None:
        return (
            f"line {number} is signed with a key that is not the audit key of {who} "
            "that the deployment lists (the entry was re-signed or forged)"
        )
    return f"line {number} is signed for {who} with another audit key than earlier lines"


def verify_audit_log(
    path: str | os.PathLike[str],
    *,
    deployment: Deployment,
    audit_keys: dict[str, bytes] | None = None,
    expect_head: str | None = None,
) -> AuditReport:
    """Check every line: format, signature, chain, sequence, holder listed, and who signed.

    Against a v2 deployment every entry must be signed with the audit key it lists for the entry's
    holder (``report.pinned``); against a v1 deployment, each holder's entries must all use one key
    (trust on first use). ``audit_keys`` (holder key id → audit key) pins keys explicitly.
    ``expect_head`` (hex SHA-256 of an entry, e.g. an earlier ``report.head`` kept elsewhere) must
    be the hash of one of the log's lines: if it is not, entries were cut from the end (or the log
    replaced). Never raises for a bad log; the report lists problems and the first bad line.
    """
    if expect_head is not None and not _HEAD_RE.fullmatch(expect_head):
        raise ValueError("the expected head is a SHA-256 in 64 lowercase hex digits")
    given = audit_keys or {}
    explicit = bool(deployment.holders) and all(h.key_id in given for h in deployment.holders)
    report = AuditReport(pinned=deployment.pins_audit_keys or explicit)
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
            elif (expected := _pinned_key(deployment, audit_keys, entry.holder)) not in (None, entry.signer):
                problem = _signer_problem(number, entry, deployment, expected)
            elif report.holders.setdefault(entry.holder, entry.signer) != entry.signer:
                problem = _signer_problem(number, entry, deployment, None)
            if problem:
                report.problems.append(problem)
                report.first_bad_line = number
                return report
            prev = entry.line_sha256
            report.entries += 1
            report.log.append(entry)
            report.head = prev
            if prev == expect_head:
                report.head_line = number
    if expect_head is not None and report.head_line is None:
        report.problems.append(
            f"the log's {report.entries} entries do not include the head you kept ({expect_head[:16]}…): "
            "entries were cut from its end, or the log was replaced"
        )
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
    listed = deployment.holder(holder.key_id)
    if listed is None:
        raise ValueError(f"{holder.key_id} is not a holder of deployment {deployment.name!r}")
    if deployment.pins_audit_keys and listed.audit_key != holder.public.audit_key:
        raise AuthenticationFailed(
            f"deployment {deployment.name!r} lists another audit key for {holder.label} ({holder.key_id}) "
            "than this key file's: entries signed with it would not verify",
            hint="nothing was appended; ask the administrator to re-add your public key file",
        )
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
