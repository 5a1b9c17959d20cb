"""Sealed bundle format ``recanon-bundle/v2`` (``/v1``: the same without signature): header line,
header MAC, STREAM payload.

::

    signature    = Ed25519(device key, "recanon/v2/bundle-signature" || 0x00 || canonical(header - sig))
    header_line  = canonical JSON header, with "signer" (device key id) and "sig" || "\\n"
    mac_key      = HKDF(ikm = data_key, salt = "", info = "recanon/v1/bundle-header")
    header_mac   = HMAC-SHA256(mac_key, header_line)
    payload_key  = HKDF(ikm = data_key, salt = payload_salt, info = "recanon/v1/bundle-payload")
    per holder:  shared = X25519(ephemeral_secret, holder_pk)
                 wrap_key = HKDF(ikm = shared, salt = epk || holder_pk, info = "recanon/v1/bundle-wrap")
                 wrapped_key = ChaCha20-Poly1305(wrap_key, nonce = 0^12, data_key, aad = "")
    file         = header_line || header_mac (32 bytes) || STREAM(payload_key, plaintext)

HKDF is HKDF-SHA256 with 32 bytes of output. The data key is 32 fresh random bytes per seal or rotation.
The signature covers every header field (recipients included, hence the data key each holder
unwraps), so a reader that checks it against the deployment's device key before unwrapping
decrypts nothing that device did not seal.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import AuthenticationFailed, InvalidFormat, Truncated
from .encoding import (
    Fields,
    Rng,
    b64e,
    canonical,
    check_format,
    document,
    ensure_canonical,
    format_time,
    parse_line,
)

KIND = "bundle"
VERSION = 2  # what writers write
VERSIONS = (1, 2)  # what readers read (v1: unsigned, only when the caller accepts that)
SIG_CONTEXT = b"recanon/v2/bundle-signature"
SIG_SIZE = 64
MAX_HEADER = 64 * 1024
MAX_RECIPIENTS = 32
MAX_SIZE = 2**48
MAC_SIZE = 32
SALT_SIZE = 16
INFO_HEADER = b"recanon/v1/bundle-header"
INFO_PAYLOAD = b"recanon/v1/bundle-payload"
INFO_WRAP = b"recanon/v1/bundle-wrap"
_ZERO_NONCE = bytes(12)
_DEP_RE = re.compile(r"dp-[a-z2-7]{16}")


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


@dataclass(frozen=True)
class Recipient:
    key_id: str
    epk: bytes
    wrapped_key: bytes


@dataclass(frozen=True)
class BundleHeader:
    deployment_id: str
    model_name: str
    model_version: str
    sha256: str
    size: int
    created: datetime
    payload_salt: bytes
    recipients: tuple[Recipient, ...]
    line: bytes
    mac: bytes
    version: int = VERSION
    signer: str | None = None  # the device key id that signed the header (v2)
    sig: bytes | None = None
    signed: bytes = b""  # the message the signature covers (v2)

    def recipient_ids(self) -> tuple[str, ...]:
        return tuple(r.key_id for r in self.recipients)


def wrap(data_key: bytes, key_id: str, holder_pk: bytes, rng: Rng, info: bytes = INFO_WRAP) -> Recipient:
    esk = X25519PrivateKey.from_private_bytes(rng(32))
    epk = esk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = esk.exchange(X25519PublicKey.from_public_bytes(holder_pk))
    wrap_key = hkdf(shared, epk + holder_pk, info)
    return Recipient(key_id, epk, ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, data_key, b""))


def unwrap(recipient: Recipient, holder: Any, *, what: str, info: bytes = INFO_WRAP) -> bytes:
    """Recover the data key with ``holder`` (a HolderKey). One opaque error for every failure."""
    try:
        shared = holder._exchange(recipient.epk)
        wrap_key = hkdf(shared, recipient.epk + holder.public.public_key, info)
        return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, recipient.wrapped_key, b"")
    except (InvalidTag, ValueError):
        raise _auth_failed(what) from None


def _auth_failed(what: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"{what} failed authentication: it was altered or damaged",
        hint="copy an intact bundle again; nothing was decrypted",
    )


def header_mac(data_key: bytes, line: bytes) -> bytes:
    return hmac.new(hkdf(data_key, b"", INFO_HEADER), line, hashlib.sha256).digest()


def verify_header_mac(data_key: bytes, header: BundleHeader, *, what: str) -> None:
    if not hmac.compare_digest(header_mac(data_key, header.line), header.mac):
        raise _auth_failed(what)


def payload_key(data_key: bytes, salt: bytes) -> bytes:
    return hkdf(data_key, salt, INFO_PAYLOAD)


def signed_message(header: dict[str, Any]) -> bytes:
    """What a v2 header's signature covers: the context string and every field but ``sig``."""
    return SIG_CONTEXT + b"\x00" + canonical({k: v for k, v in header.items() if k != "sig"})


def encode_header_line(
    *,
    deployment_id: str,
    model_name: str,
    model_version: str,
    sha256: str,
    size: int,
    created: datetime,
    payload_salt: bytes,
    recipients: tuple[Recipient, ...],
    device_key: Any,
) -> bytes:
    """The canonical header line, signed by ``device_key`` (a DeviceKey); ``None`` writes an unsigned
    v1 header (test vectors of the old format only)."""
    doc: dict[str, Any] = {
        "format": f"recanon-{KIND}/v{1 if device_key is None else VERSION}",
        "deployment_id": deployment_id,
        "model": {"name": model_name, "version": model_version},
        "plaintext": {"sha256": sha256, "size": size},
        "created": format_time(created),
        "payload_salt": b64e(payload_salt),
        "recipients": encode_recipients(recipients),
    }
    if device_key is not None:
        doc["signer"] = device_key.key_id
        doc["sig"] = b64e(device_key._sign(signed_message(doc)))
    return document(doc)


def encode_recipients(recipients: tuple[Recipient, ...]) -> list[dict[str, str]]:
    return [{"key_id": r.key_id, "epk": b64e(r.epk), "wrapped_key": b64e(r.wrapped_key)} for r in recipients]


def read_header_line(
    src: BinaryIO, kind: str, *, what: str, versions: tuple[int, ...] = (1,)
) -> tuple[bytes, dict[str, Any]]:
    """Read the canonical header line of a binary recanon file (at most 64 KiB) and parse it."""
    first = src.read(1)
    if not first:
        raise Truncated(f"{what} is empty")
    if first != b"{":
        raise InvalidFormat(f"{what} is not a recanon file")
    line = first + src.readline(MAX_HEADER)
    if not line.endswith(b"\n"):
        if len(line) > MAX_HEADER:
            raise InvalidFormat(f"{what} has a header longer than {MAX_HEADER} bytes")
        raise Truncated(
            f"{what} is truncated: it ends inside its header", hint="copy the complete file again"
        )
    obj = parse_line(line[:-1], what=what)
    check_format(obj, kind, what=what, versions=versions)
    ensure_canonical(obj, line[:-1], what=what)
    return line, obj


def read_recipients(f: Fields, *, what: str) -> tuple[Recipient, ...]:
    recipients = []
    for i, item in enumerate(f.list("recipients", min_len=1, max_len=MAX_RECIPIENTS)):
        r = Fields(item, f"{what}: recipient {i + 1}")
        recipients.append(
            Recipient(r.key_id("key_id", "hk"), r.b64("epk", length=32), r.b64("wrapped_key", length=48))
        )
        r.done()
    return tuple(recipients)


def check_recipients(recipients: tuple[Recipient, ...], *, what: str) -> None:
    if len({r.key_id for r in recipients}) != len(recipients):
        raise InvalidFormat(f"{what} lists the same recipient twice")


def read_mac(src: BinaryIO, *, what: str) -> bytes:
    mac = src.read(MAC_SIZE)
    if len(mac) != MAC_SIZE:
        raise Truncated(
            f"{what} is truncated: it ends inside its header MAC", hint="copy the complete file again"
        )
    return mac


def read_header(src: BinaryIO, *, what: str) -> BundleHeader:
    """Read and parse the header line and MAC from ``src`` (positioned at the start of the file)."""
    line, obj = read_header_line(src, KIND, what=what, versions=VERSIONS)
    version = check_format(obj, KIND, what=what, versions=VERSIONS)
    f = Fields(obj, what)
    f.const("format", f"recanon-{KIND}/v{version}")
    deployment_id = f.str("deployment_id", max_len=19, pattern=_DEP_RE)
    m = f.obj_("model")
    model_name, model_version = m.str("name", max_len=128), m.str("version", max_len=64)
    m.done()
    p = f.obj_("plaintext")
    sha256, size = p.hex("sha256", length=32), p.int("size", 0, MAX_SIZE)
    p.done()
    created = f.time("created")
    salt = f.b64("payload_salt", length=SALT_SIZE)
    recipients = read_recipients(f, what=what)
    signer, sig = None, None
    if version >= 2:
        signer, sig = f.key_id("signer", "dk"), f.b64("sig", length=SIG_SIZE)
    f.done()
    check_recipients(recipients, what=what)
    mac = read_mac(src, what=what)
    return BundleHeader(
        deployment_id,
        model_name,
        model_version,
        sha256,
        size,
        created,
        salt,
        recipients,
        line,
        mac,
        version=version,
        signer=signer,
        sig=sig,
        signed=signed_message(obj) if version >= 2 else b"",
    )
