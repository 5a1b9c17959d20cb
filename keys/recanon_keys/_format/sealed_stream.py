"""Sealed stream format ``recanon-stream/v1``: header line, header MAC, length-prefixed AEAD records.

A bundle needs its plaintext's size and hash up front; a stream does not: it is written record by
record while a video is being anonymized, so the device never holds more than one record.

::

    file         = header_line || header_mac || record_0 || ... || record_(n-1)
    mac_key      = HKDF(ikm = data_key, salt = "", info = "recanon/v1/stream-header")
    header_mac   = HMAC-SHA256(mac_key, header_line)
    payload_key  = HKDF(ikm = data_key, salt = payload_salt, info = "recanon/v1/stream-payload")
    per holder:  shared = X25519(ephemeral_secret, holder_pk)
                 wrap_key = HKDF(ikm = shared, salt = epk || holder_pk, info = "recanon/v1/stream-wrap")
                 wrapped_key = ChaCha20-Poly1305(wrap_key, nonce = 0^12, data_key, aad = "")
    record_i     = len_i (4 bytes, big-endian)
                   || ChaCha20-Poly1305(payload_key, nonce_i, plaintext_i, aad = "")
    nonce_i      = i as 11-byte big-endian || (0x01 if record i is the final record else 0x00)

``len_i`` is the ciphertext length (plaintext + 16-byte tag). Data records have 1 to ``MAX_RECORD``
bytes of plaintext; the final record has an empty plaintext and the last-flag, so a stream that was
cut short (at a record boundary or inside one) is detected, and the counter in the nonce detects
reordered or dropped records.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from ..errors import InvalidFormat
from . import bundle as _bundle
from .encoding import (
    Fields,
    b64e,
    canonical,
    document,
    format_time,
)

KIND = "stream"
MAX_HEADER = 64 * 1024
MAX_META = 8 * 1024
MAX_RECORD = 64 * 1024 * 1024
TAG_SIZE = 16
LENGTH_SIZE = 4
RUN_ID_SIZE = 16
INFO_HEADER = b"recanon/v1/stream-header"
INFO_PAYLOAD = b"recanon/v1/stream-payload"
INFO_WRAP = b"recanon/v1/stream-wrap"
_DEP_RE = re.compile(r"dp-[a-z2-7]{16}")
_CONTENT_RE = re.compile(r"[a-z0-9][a-z0-9./_-]{0,127}")


@dataclass(frozen=True)
class StreamHeader:
    deployment_id: str
    content: str
    meta: dict[str, Any]
    run_id: bytes
    created: datetime
    payload_salt: bytes
    recipients: tuple[_bundle.Recipient, ...]
    line: bytes
    mac: bytes

    def recipient_ids(self) -> tuple[str, ...]:
        return tuple(r.key_id for r in self.recipients)


def header_mac(data_key: bytes, line: bytes) -> bytes:
    return hmac.new(_bundle.hkdf(data_key, b"", INFO_HEADER), line, hashlib.sha256).digest()


def payload_key(data_key: bytes, salt: bytes) -> bytes:
    return _bundle.hkdf(data_key, salt, INFO_PAYLOAD)


def check_content(content: str) -> str:
    if not isinstance(content, str) or not _CONTENT_RE.fullmatch(content):
        raise ValueError(
            f"stream content {content!r} must be 1-128 characters of a-z, 0-9, '.', '/', '_', '-'"
        )
    return content


def check_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` must be a JSON object of strings, integers, booleans and lists/objects of them."""
    if not isinstance(meta, dict):
        raise ValueError("stream meta must be a dict")
    try:
        encoded = canonical(meta)
    except (TypeError, ValueError) as error:
        raise ValueError(f"stream meta is not canonical JSON: {error}") from error
    if len(encoded) > MAX_META:
        raise ValueError(f"stream meta is {len(encoded)} bytes encoded, at most {MAX_META}")
    _no_floats(meta)
    return meta


def _no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("stream meta may hold integers only, no floating-point numbers")
    if isinstance(value, dict):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _no_floats(item)


def encode_header_line(
    *,
    deployment_id: str,
    content: str,
    meta: dict[str, Any],
    run_id: bytes,
    created: datetime,
    payload_salt: bytes,
    recipients: tuple[_bundle.Recipient, ...],
) -> bytes:
    return document(
        {
            "format": f"recanon-{KIND}/v1",
            "deployment_id": deployment_id,
            "content": content,
            "meta": meta,
            "run_id": b64e(run_id),
            "created": format_time(created),
            "payload_salt": b64e(payload_salt),
            "recipients": _bundle.encode_recipients(recipients),
        }
    )


def read_header(src: BinaryIO, *, what: str) -> StreamHeader:
    """Read and parse the header line and MAC (``src`` positioned at the start of the file)."""
    line, obj = _bundle.read_header_line(src, KIND, what=what)
    f = Fields(obj, what)
    f.const("format", f"recanon-{KIND}/v1")
    deployment_id = f.str("deployment_id", max_len=19, pattern=_DEP_RE)
    content = f.str("content", max_len=128, pattern=_CONTENT_RE)
    meta = f._get("meta")
    if not isinstance(meta, dict) or len(canonical(meta)) > MAX_META:
        raise InvalidFormat(f"{what}: 'meta' must be a JSON object of at most {MAX_META} bytes")
    run_id = f.b64("run_id", length=RUN_ID_SIZE)
    created = f.time("created")
    salt = f.b64("payload_salt", length=_bundle.SALT_SIZE)
    recipients = _bundle.read_recipients(f, what=what)
    f.done()
    _bundle.check_recipients(recipients, what=what)
    mac = _bundle.read_mac(src, what=what)
    return StreamHeader(deployment_id, content, meta, run_id, created, salt, recipients, line, mac)
