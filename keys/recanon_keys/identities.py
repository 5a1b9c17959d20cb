"""Key holders (X25519) and devices (Ed25519): generate, save, load; short key ids for humans.

Keys are only ever made by ``generate_holder``/``generate_device_key`` (nobody invents key bytes),
and a private key is only written with a passphrase, or when the caller says
``unsafe_no_passphrase=True``. The ``repr`` of a private key shows its id, never its secret.

>>> alice = generate_holder("alice")
>>> alice.key_id.startswith("hk-") and len(alice.key_id) == 19
True
>>> alice                                           # doctest: +ELLIPSIS
HolderKey(key_id='hk-...', label='alice')
>>> data = alice.to_bytes(passphrase=None, unsafe_no_passphrase=True)
>>> load_holder_key(data, passphrase=None).key_id == alice.key_id
True
>>> HolderPublicKey.from_bytes(alice.public.to_bytes()) == alice.public
True
>>> alice.public.audit_key_id.startswith("ak-")                 # shown next to the key id, to confirm both
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from . import _atomic
from ._format import kdf, keyfile
from ._format.encoding import Rng, check_label, now_utc
from .errors import AuthenticationFailed, InvalidFormat

__all__ = [
    "DeviceKey",
    "DevicePublicKey",
    "HolderKey",
    "HolderPublicKey",
    "KeyFileInfo",
    "generate_device_key",
    "generate_holder",
    "load_device_key",
    "load_holder_key",
    "read_key_file_info",
    "save_private_key",
]

KeyFileInfo = keyfile.KeyFileInfo
_RAW = (Encoding.Raw, PublicFormat.Raw)


def _x25519_public_ok(public_key: bytes) -> bool:
    """False for the low-order points, whose shared secret is all zero (they would wrap to nobody)."""
    try:
        X25519PrivateKey.from_private_bytes(b"\x01" * 32).exchange(
            X25519PublicKey.from_public_bytes(public_key)
        )
    except ValueError:
        return False
    return True


def _ed25519_public_ok(public_key: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HolderPublicKey:
    """A key holder's public X25519 key: what a deployment lists and what bundles are sealed to.

    ``audit_key`` is the holder's Ed25519 audit key (signs their recovery audit entries), derived
    from the X25519 secret; ``None`` when it came from a v1 file, which does not carry it. Two
    objects with the same X25519 key compare equal whether or not the audit key is known.
    """

    key_id: str
    label: str
    public_key: bytes
    created: datetime
    audit_key: bytes | None = field(default=None, compare=False)

    @property
    def audit_key_id(self) -> str | None:
        """``ak-…``: the short id of the audit key, to confirm with the holder next to ``key_id``."""
        return None if self.audit_key is None else keyfile.audit_key_id(self.audit_key)

    def to_bytes(self) -> bytes:
        """The ``recanon-holder-pub/v2`` file (``/v1`` if the audit key is unknown)."""
        return keyfile.encode_public(
            key_id=self.key_id,
            label=self.label,
            created=self.created,
            public_key=self.public_key,
            audit_key=self.audit_key,
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, what: str = "the public key file") -> HolderPublicKey:
        """Parse a ``recanon-holder-pub/v2`` (or ``/v1``) file. Raises ``InvalidFormat`` and subclasses."""
        pub = keyfile.decode_public(data, what=what)
        if not _x25519_public_ok(pub.public_key):
            raise InvalidFormat(f"{what} holds an unusable (low-order) X25519 key")
        if pub.audit_key is not None and not _ed25519_public_ok(pub.audit_key):
            raise InvalidFormat(f"{what} holds an unusable Ed25519 audit key")
        return cls(pub.key_id, pub.label, pub.public_key, pub.created, pub.audit_key)


@dataclass(frozen=True)
class DevicePublicKey:
    """A device's public Ed25519 key: verifies deployments, sidecars and manifests."""

    key_id: str
    public_key: bytes

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class _PrivateKey:
    _kind: str
    key_id: str
    label: str
    created: datetime

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.key_id!r}, label={self.label!r})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError(f"{type(self).__name__} cannot be pickled (it would copy the secret)")

    def _secret_bytes(self) -> bytes:
        raise NotImplementedError

    def _public_bytes(self) -> bytes:
        raise NotImplementedError

    def to_bytes(
        self,
        *,
        passphrase: str | None,
        unsafe_no_passphrase: bool = False,
        kdf_params: kdf.Argon2idParams = kdf.DEFAULT_PARAMS,
        unsafe_weak_kdf: bool = False,
    ) -> bytes:
        """The private key file, sealed under ``passphrase`` (Argon2id), or unprotected if asked for."""
        return self._to_bytes(
            passphrase=passphrase,
            unsafe_no_passphrase=unsafe_no_passphrase,
            kdf_params=kdf_params,
            unsafe_weak_kdf=unsafe_weak_kdf,
            rng=os.urandom,
        )

    def _to_bytes(
        self,
        *,
        passphrase: str | None,
        unsafe_no_passphrase: bool,
        kdf_params: kdf.Argon2idParams,
        unsafe_weak_kdf: bool,
        rng: Rng,
    ) -> bytes:
        if passphrase is None and not unsafe_no_passphrase:
            raise ValueError("a passphrase is required (or unsafe_no_passphrase=True)")
        if passphrase is not None and unsafe_no_passphrase:
            raise ValueError("give a passphrase or unsafe_no_passphrase=True, not both")
        if passphrase is not None:
            kdf.encode_passphrase(passphrase)
            kdf_params.check_for_writing(unsafe_weak_kdf=unsafe_weak_kdf)
        return keyfile.encode_private(
            kind=self._kind,
            key_id=self.key_id,
            label=self.label,
            created=self.created,
            public_key=self._public_bytes(),
            secret=self._secret_bytes(),
            passphrase=passphrase,
            params=kdf_params if passphrase is not None else None,
            rng=rng,
        )


class HolderKey(_PrivateKey):
    """A key holder's X25519 private key (opens sealed bundles). Make one with ``generate_holder``."""

    _kind = keyfile.KIND_HOLDER

    def __init__(self, secret: bytes, label: str, created: datetime) -> None:
        self._key = X25519PrivateKey.from_private_bytes(secret)
        pk = self._key.public_key().public_bytes(*_RAW)
        self.key_id = keyfile.holder_key_id(pk)
        self.label = label
        self.created = created
        audit = self._audit_signing_key().public_key().public_bytes(*_RAW)
        self.public = HolderPublicKey(self.key_id, label, pk, created, audit)

    def _secret_bytes(self) -> bytes:
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def _public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes(*_RAW)

    def _audit_signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs this holder's audit entries (derived, never stored)."""
        return Ed25519PrivateKey.from_private_bytes(
            keyfile.audit_seed(self._secret_bytes(), self._public_bytes())
        )

    def _exchange(self, peer_public: bytes) -> bytes:
        """X25519 with a peer's public key; ``ValueError`` on a low-order point."""
        return self._key.exchange(X25519PublicKey.from_public_bytes(peer_public))


class DeviceKey(_PrivateKey):
    """A device's Ed25519 signing key (signs deployments, sidecars, manifests); ``generate_device_key``."""

    _kind = keyfile.KIND_DEVICE

    def __init__(self, secret: bytes, label: str, created: datetime) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(secret)
        pk = self._key.public_key().public_bytes(*_RAW)
        self.key_id = keyfile.device_key_id(pk)
        self.label = label
        self.created = created
        self.public = DevicePublicKey(self.key_id, pk)

    def _secret_bytes(self) -> bytes:
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def _public_bytes(self) -> bytes:
        return self.public.public_key

    def _sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def _generate_holder(label: str, *, rng: Rng, now: datetime) -> HolderKey:
    return HolderKey(rng(32), check_label(label), now)


def _generate_device_key(label: str, *, rng: Rng, now: datetime) -> DeviceKey:
    return DeviceKey(rng(32), check_label(label), now)


def generate_holder(label: str) -> HolderKey:
    """A fresh key holder key pair; ``label`` is a human name shown next to the key id (public)."""
    return _generate_holder(label, rng=os.urandom, now=now_utc())


def generate_device_key(label: str) -> DeviceKey:
    """A fresh device signing key; ``label`` names the device (public)."""
    return _generate_device_key(label, rng=os.urandom, now=now_utc())


def load_holder_key(data: bytes, *, passphrase: str | None, what: str = "the holder key file") -> HolderKey:
    """Open a ``recanon-holder-key/v1`` file. Raises ``WrongPassphrase``, ``InvalidFormat``, ..."""
    info, secret = keyfile.decode_private(data, keyfile.KIND_HOLDER, passphrase, what=what)
    key = HolderKey(secret, info.label, info.created)
    _check_public(key, info, what)
    return key


def load_device_key(data: bytes, *, passphrase: str | None, what: str = "the device key file") -> DeviceKey:
    """Open a ``recanon-device-key/v1`` file. Raises ``WrongPassphrase``, ``InvalidFormat``, ..."""
    info, secret = keyfile.decode_private(data, keyfile.KIND_DEVICE, passphrase, what=what)
    key = DeviceKey(secret, info.label, info.created)
    _check_public(key, info, what)
    return key


def _check_public(key: HolderKey | DeviceKey, info: KeyFileInfo, what: str) -> None:
    if key.public.public_key != info.public_key:
        raise AuthenticationFailed(
            f"{what}: its secret does not match its public key", hint="restore it from backup"
        )


def read_key_file_info(data: bytes, *, kind: str, what: str = "the key file") -> KeyFileInfo:
    """The public part of a private key file (no passphrase). ``kind``: "holder-key" or "device-key"."""
    if kind not in (keyfile.KIND_HOLDER, keyfile.KIND_DEVICE):
        raise ValueError("kind must be 'holder-key' or 'device-key'")
    return keyfile.read_private_info(data, kind, what=what)


def save_private_key(
    path: str | os.PathLike[str],
    key: HolderKey | DeviceKey,
    *,
    passphrase: str | None,
    unsafe_no_passphrase: bool = False,
    overwrite: bool = False,
    kdf_params: kdf.Argon2idParams = kdf.DEFAULT_PARAMS,
    unsafe_weak_kdf: bool = False,
) -> Path:
    """Write the private key file atomically with mode 0600; never replaces a file unless ``overwrite``."""
    data = key.to_bytes(
        passphrase=passphrase,
        unsafe_no_passphrase=unsafe_no_passphrase,
        kdf_params=kdf_params,
        unsafe_weak_kdf=unsafe_weak_kdf,
    )
    _atomic.write_atomic(path, data, mode=0o600, overwrite=overwrite)
    return Path(path)
