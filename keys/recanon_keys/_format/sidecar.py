"""Sidecar signature file ``recanon-sidecar-sig/v1``: JSON Lines, one start record, then signed records.

::

    h_0        = SHA-256("recanon/v1/sidecar-chain" || 0x00 || run_id)
    h_i        = SHA-256(h_(i-1) || SHA-256(line_i))             # line_i: the exact bytes, "\\n" included
    digest_i   = SHA-256(line_i)[:8]
    record sig = Ed25519(device, "recanon/v1/sidecar-record" || 0x00 || SHA-256(start_line)
                                 || canonical(record - sig))

A checkpoint record covers the next ``checkpoint_every`` lines; the final record covers the rest
(0..checkpoint_every lines). Each record lists the per-line digests of its lines and the chain head
after them, so a verifier can name the first line that differs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InvalidFormat
from .encoding import (
    Fields,
    b64e,
    canonical,
    check_format,
    document,
    ensure_canonical,
    format_time,
    parse_line,
)

KIND = "sidecar-sig"
CHAIN_DOMAIN = b"recanon/v1/sidecar-chain"
SIG_DOMAIN = b"recanon/v1/sidecar-record"
DIGEST_SIZE = 8
RUN_ID_SIZE = 16
MAX_CHECKPOINT_EVERY = 65536
MAX_RECORD = 1024 * 1024
MAX_LINE = 16 * 1024 * 1024


def chain_start(run_id: bytes) -> bytes:
    return hashlib.sha256(CHAIN_DOMAIN + b"\x00" + run_id).digest()


def chain_step(head: bytes, line_hash: bytes) -> bytes:
    return hashlib.sha256(head + line_hash).digest()


@dataclass(frozen=True)
class Start:
    deployment_id: str
    device_key_id: str
    run_id: bytes
    checkpoint_every: int
    created: datetime
    line: bytes


@dataclass(frozen=True)
class Record:
    type: str
    seq: int
    lines: int
    chain: bytes
    digests: bytes
    sig: bytes
    body: dict[str, Any]


def encode_start(
    *, deployment_id: str, device_key_id: str, run_id: bytes, checkpoint_every: int, created: datetime
) -> bytes:
    return document(
        {
            "format": f"recanon-{KIND}/v1",
            "type": "start",
            "deployment_id": deployment_id,
            "device_key_id": device_key_id,
            "run_id": b64e(run_id),
            "checkpoint_every": checkpoint_every,
            "created": format_time(created),
        }
    )


def record_body(*, type_: str, seq: int, lines: int, chain: bytes, digests: bytes) -> dict[str, Any]:
    return {"type": type_, "seq": seq, "lines": lines, "chain": chain.hex(), "digests": b64e(digests)}


def signed_message(start_line: bytes, body: dict[str, Any]) -> bytes:
    return SIG_DOMAIN + b"\x00" + hashlib.sha256(start_line).digest() + canonical(body)


def encode_record(body: dict[str, Any], sig: bytes) -> bytes:
    return document({**body, "sig": b64e(sig)})


def parse_start(line: bytes, *, what: str) -> Start:
    obj = parse_line(line[:-1], what=what)
    check_format(obj, KIND, what=what)
    ensure_canonical(obj, line[:-1], what=what)
    f = Fields(obj, what)
    f.const("format", f"recanon-{KIND}/v1")
    f.const("type", "start")
    start = Start(
        deployment_id=f.str("deployment_id", max_len=19),
        device_key_id=f.key_id("device_key_id", "dk"),
        run_id=f.b64("run_id", length=RUN_ID_SIZE),
        checkpoint_every=f.int("checkpoint_every", 1, MAX_CHECKPOINT_EVERY),
        created=f.time("created"),
        line=line,
    )
    f.done()
    return start


def parse_record(line: bytes, *, what: str) -> Record:
    obj = parse_line(line[:-1], what=what)
    ensure_canonical(obj, line[:-1], what=what)
    f = Fields(obj, what)
    type_ = f.str("type", max_len=16)
    if type_ not in ("checkpoint", "final"):
        raise InvalidFormat(f"{what}: unexpected record type {type_!r}")
    rec = Record(
        type=type_,
        seq=f.int("seq", 1, 2**40),
        lines=f.int("lines", 0, 2**48),
        chain=bytes.fromhex(f.hex("chain", length=32)),
        digests=f.b64("digests", max_length=DIGEST_SIZE * MAX_CHECKPOINT_EVERY),
        sig=f.b64("sig", length=64),
        body={k: v for k, v in obj.items() if k != "sig"},
    )
    f.done()
    return rec
