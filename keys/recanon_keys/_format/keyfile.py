"""Private key files (``recanon-holder-key/v1``, ``recanon-device-key/v1``) and holder public key files
(``recanon-holder-pub/v2`` with the holder's audit key; ``/v1`` without it is still read).

A private key file is one canonical JSON document; its 32-byte secret is sealed with
ChaCha20-Poly1305 under a key derived from the passphrase, with every other field as associated
data (so the label, public key and KDF parameters cannot be altered either)::

    wrap_key      = Argon2id(passphrase, salt, t, m)          # kdf.name == "argon2id"
    wrap_key      = SHA-256("recanon/v1/unprotected-key")     # kdf.name == "none" (no secrecy!)
    sealed_secret = ChaCha20-Poly1305(wrap_key, nonce = 0^12, secret, aad = canonical(doc - sealed_secret))

The zero nonce is safe because every write draws a fresh salt, hence a fresh wrap key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ..errors import AuthenticationFailed, InvalidFormat, WrongPassphrase
from . import kdf
from .bundle import hkdf
from .encoding import (
    Fields,
    Rng,
    b64e,
    canonical,
    check_format,
    document,
    format_time,
    key_id,
    parse_document,
)

MAX_KEY_FILE = 4096
UNPROTECTED_KEY = hashlib.sha256(b"recanon/v1/unprotected-key").digest()
_ZERO_NONCE = bytes(12)

KIND_HOLDER = "holder-key"
KIND_DEVICE = "device-key"
KIND_HOLDER_PUB = "holder-pub"

HOLDER_ID_DOMAIN = b"recanon/v1/key-id/holder"
DEVICE_ID_DOMAIN = b"recanon/v1/key-id/device"
AUDIT_ID_DOMAIN = b"recanon/v2/key-id/audit"
INFO_AUDIT_KEY = b"recanon/v1/audit-signing-key"


def holder_key_id(public_key: bytes) -> str:
    """``"hk-" + base32(SHA-256("recanon/v1/key-id/holder" || 0x00 || X25519 public key)[:10])``."""
    return key_id("hk", HOLDER_ID_DOMAIN, public_key)


def device_key_id(public_key: bytes) -> str:
    """``"dk-" + base32(SHA-256("recanon/v1/key-id/device" || 0x00 || Ed25519 public key)[:10])``."""
    return key_id("dk", DEVICE_ID_DOMAIN, public_key)


def audit_key_id(public_key: bytes) -> str:
    """``"ak-" + base32(SHA-256("recanon/v2/key-id/audit" || 0x00 || Ed25519 audit key)[:10])``."""
    return key_id("ak", AUDIT_ID_DOMAIN, public_key)


def audit_seed(secret: bytes, public_key: bytes) -> bytes:
    """The Ed25519 seed of a holder's audit key: ``HKDF(X25519 secret, X25519 public key, info)``."""
    return hkdf(secret, public_key, INFO_AUDIT_KEY)


def check_key_id(kid: str, public_key: bytes, *, what: str) -> None:
    expected = holder_key_id(public_key) if kid.startswith("hk-") else device_key_id(public_key)
    if kid != expected:
        raise InvalidFormat(f"{what}: the key id {kid} does not match its public key (altered?)")


@dataclass(frozen=True)
class KeyFileInfo:
    """The public part of a private key file (readable without the passphrase)."""

    kind: str
    key_id: str
    label: str
    created: datetime
    public_key: bytes
    protected: bool
    kdf_params: kdf.Argon2idParams | None


@dataclass(frozen=True)
class PublicKeyFile:
    key_id: str
    label: str
    created: datetime
    public_key: bytes
    audit_key: bytes | None  # None in a v1 file


def encode_private(
    *,
    kind: str,
    key_id: str,
    label: str,
    created: datetime,
    public_key: bytes,
    secret: bytes,
    passphrase: str | None,
    params: kdf.Argon2idParams | None,
    rng: Rng,
) -> bytes:
    doc: dict[str, Any] = {
        "format": f"recanon-{kind}/v1",
        "key_id": key_id,
        "label": label,
        "created": format_time(created),
        "public_key": b64e(public_key),
    }
    if passphrase is None:
        doc["kdf"] = {"name": "none"}
        wrap_key = UNPROTECTED_KEY
    else:
        if params is None:
            raise ValueError("Argon2id parameters are required with a passphrase")
        salt = rng(kdf.SALT_BYTES)
        doc["kdf"] = {
            "name": "argon2id",
            "salt": b64e(salt),
            "opslimit": params.opslimit,
            "memlimit": params.memlimit,
        }
        wrap_key = kdf.derive_wrap_key(passphrase, salt, params)
    sealed = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, secret, canonical(doc))
    doc["sealed_secret"] = b64e(sealed)
    return document(doc)


def _parse_private(
    data: bytes, kind: str, what: str
) -> tuple[dict[str, Any], KeyFileInfo, bytes, bytes | None]:
    obj = parse_document(data, kind=kind, max_size=MAX_KEY_FILE, what=what)
    f = Fields(obj, what)
    f.const("format", f"recanon-{kind}/v1")
    public_key = f.b64("public_key", length=32)
    kid = f.key_id("key_id", "hk" if kind == KIND_HOLDER else "dk")
    check_key_id(kid, public_key, what=what)
    label = f.str("label", max_len=64)
    created = f.time("created")
    kf = f.obj_("kdf")
    name = kf.str("name", max_len=16)
    params: kdf.Argon2idParams | None = None
    salt: bytes | None = None
    if name == "none":
        kf.done()
    elif name == "argon2id":
        salt = kf.b64("salt", length=kdf.SALT_BYTES)
        params = kdf.Argon2idParams(kf.int("opslimit", 1, 2**32), kf.int("memlimit", 1, 2**42))
        kf.done()
        if not params.check_for_reading():
            raise InvalidFormat(
                f"{what}: Argon2id parameters out of the accepted range "
                f"(t <= {kdf.MAX_OPSLIMIT}, {kdf.MAX_MEMLIMIT // 2**20} MiB)"
            )
    else:
        raise InvalidFormat(f"{what}: unknown key protection {name!r}")
    sealed = f.b64("sealed_secret", length=48)
    f.done()
    info = KeyFileInfo(kind, kid, label, created, public_key, name != "none", params)
    return obj, info, sealed, salt


def read_private_info(data: bytes, kind: str, *, what: str) -> KeyFileInfo:
    """Parse a private key file without opening it (no passphrase needed)."""
    return _parse_private(data, kind, what)[1]


def decode_private(data: bytes, kind: str, passphrase: str | None, *, what: str) -> tuple[KeyFileInfo, bytes]:
    """Parse and open a private key file: ``(info, 32-byte secret)``."""
    obj, info, sealed, salt = _parse_private(data, kind, what)
    if info.protected:
        if passphrase is None:
            raise WrongPassphrase(
                f"{what} is protected by a passphrase and none was given",
                hint="type it when asked, or set RECANON_PASSPHRASE / --passphrase-file",
            )
        if salt is None or info.kdf_params is None:  # _parse_private reads both for argon2id
            raise RuntimeError(f"{what}: protected by a passphrase but parsed without its Argon2id salt")
        wrap_key = kdf.derive_wrap_key(passphrase, salt, info.kdf_params)
    else:
        wrap_key = UNPROTECTED_KEY
    aad = canonical({k: v for k, v in obj.items() if k != "sealed_secret"})
    try:
        secret = ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, sealed, aad)
    except InvalidTag:
        if info.protected:
            raise WrongPassphrase(
                f"wrong passphrase for {what} (or the key file was altered)",
                hint="check the passphrase; if it is right, restore the key file from your backup",
            ) from None
        raise AuthenticationFailed(
            f"{what} was altered or damaged", hint="restore it from your backup"
        ) from None
    return info, secret


PUB_CHECKSUM_DOMAIN = b"recanon/v1/holder-pub-checksum"


def public_checksum(doc: dict[str, Any]) -> str:
    """``hex(SHA-256("recanon/v1/holder-pub-checksum" || 0x00 || canonical(doc - checksum))[:8])``.

    Detects accidental damage to any byte of a public key file (like a Bech32 checksum). It is not
    authentication: anyone can recompute it. Compare the key id with its holder out of band.
    """
    body = {k: v for k, v in doc.items() if k != "checksum"}
    return hashlib.sha256(PUB_CHECKSUM_DOMAIN + b"\x00" + canonical(body)).digest()[:8].hex()


def encode_public(
    *, key_id: str, label: str, created: datetime, public_key: bytes, audit_key: bytes | None
) -> bytes:
    """A ``recanon-holder-pub/v2`` file (``/v1`` when the audit key is unknown)."""
    doc = {
        "format": f"recanon-{KIND_HOLDER_PUB}/v{1 if audit_key is None else 2}",
        "key_id": key_id,
        "label": label,
        "created": format_time(created),
        "public_key": b64e(public_key),
    }
    if audit_key is not None:
        doc["audit_key"] = b64e(audit_key)
    return document({**doc, "checksum": public_checksum(doc)})


def decode_public(data: bytes, *, what: str) -> PublicKeyFile:
    obj = parse_document(data, kind=KIND_HOLDER_PUB, max_size=MAX_KEY_FILE, what=what, versions=(1, 2))
    f = Fields(obj, what)
    version = check_format(obj, KIND_HOLDER_PUB, what=what, versions=(1, 2))
    f.const("format", f"recanon-{KIND_HOLDER_PUB}/v{version}")
    out = PublicKeyFile(
        key_id=f.key_id("key_id", "hk"),
        label=f.str("label", max_len=64),
        created=f.time("created"),
        public_key=f.b64("public_key", length=32),
        audit_key=f.b64("audit_key", length=32) if version == 2 else None,
    )
    checksum = f.hex("checksum", length=8)
    f.done()
    if checksum != public_checksum(obj):
        raise InvalidFormat(
            f"{what} is damaged (its checksum does not match)", hint="ask the holder for it again"
        )
    check_key_id(out.key_id, out.public_key, what=what)
    return out
