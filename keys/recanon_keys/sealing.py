"""Sealed bundles: a model (or any blob) encrypted so that only a deployment's key holders open it.

Envelope encryption: a fresh 32-byte data key encrypts the payload (STREAM, 64 KiB chunks); the
data key is wrapped to each holder's X25519 key; a MAC under the data key authenticates the header,
which binds format version, deployment id, model name and version, and the plaintext's SHA-256 and
size. Opening happens in memory only and releases nothing unless everything verified.

>>> from recanon_keys.identities import generate_device_key, generate_holder
>>> from recanon_keys.deployments import create_deployment
>>> alice, bob = generate_holder("alice"), generate_holder("bob")
>>> device = generate_device_key("cam")
>>> dep = create_deployment("lobby", device_key=device, holders=[alice.public, bob.public])
>>> bundle = seal(b"GY weights", deployment=dep, model_name="gy", model_version="1.0")
>>> open_sealed(bundle, bob, deployment=dep, model_name="gy", model_version="1.0")
b'GY weights'
>>> read_bundle_info(bundle).recipients == (alice.key_id, bob.key_id)
True
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from . import _atomic
from ._format import bundle as fmt
from ._format.encoding import Rng, check_label, now_utc
from ._format.stream import CHUNK_SIZE, decrypt_chunks, encrypt_chunks
from .deployments import Deployment
from .errors import AuthenticationFailed, WrongDeployment, WrongKey, WrongModel
from .identities import HolderKey

__all__ = [
    "BundleInfo",
    "open_sealed",
    "open_sealed_io",
    "read_bundle_info",
    "rewrap",
    "rewrap_file",
    "rotate",
    "rotate_file",
    "seal",
    "seal_file",
]

Source = bytes | bytearray | memoryview | str | os.PathLike[str]
BUNDLE_MODE = 0o644


@dataclass(frozen=True)
class BundleInfo:
    """The public header of a bundle (no secret): what ``recanon keys inspect`` shows."""

    format: str
    deployment_id: str
    model_name: str
    model_version: str
    sha256: str
    size: int
    created: datetime
    recipients: tuple[str, ...]


def _info(h: fmt.BundleHeader) -> BundleInfo:
    return BundleInfo(
        "recanon-bundle/v1",
        h.deployment_id,
        h.model_name,
        h.model_version,
        h.sha256,
        h.size,
        h.created,
        h.recipient_ids(),
    )


def _opened(source: Source) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")
    raise TypeError("a bundle is given as bytes or as a path")


def _what(source: Source) -> str:
    return f"the bundle {os.fspath(source)}" if isinstance(source, str | os.PathLike) else "the bundle"


def _read_exact(src: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = src.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _plain_chunks(src: BinaryIO) -> Iterator[bytes]:
    first = True
    while True:
        buf = _read_exact(src, CHUNK_SIZE)
        if buf or first:
            yield buf
        first = False
        if len(buf) < CHUNK_SIZE:
            return


def _hashing(chunks: Iterable[bytes], hasher: hashlib._Hash) -> Iterator[bytes]:
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk


def _recipients_of(deployment: Deployment, data_key: bytes, rng: Rng) -> tuple[fmt.Recipient, ...]:
    if len(deployment.holders) < deployment.policy.min_holders:
        raise ValueError(
            f"deployment {deployment.name!r} has {len(deployment.holders)} holder(s); its policy asks for at "
            f"least {deployment.policy.min_holders} (add holders with `recanon keys holder add`)"
        )
    return tuple(fmt.wrap(data_key, h.key_id, h.public_key, rng) for h in deployment.holders)


def _write_sealed(
    dst: BinaryIO,
    chunks: Iterable[bytes],
    *,
    size: int,
    sha256: str,
    deployment_id: str,
    model_name: str,
    model_version: str,
    created: datetime,
    data_key: bytes,
    payload_salt: bytes,
    recipients: tuple[fmt.Recipient, ...],
    recheck: bool = True,
) -> fmt.BundleHeader:
    """Write header, MAC and payload; raise ``ValueError`` if the plaintext does not hash to ``sha256``.

    ``recheck=False`` skips that second hash, for immutable in-memory input already hashed.
    """
    line = fmt.encode_header_line(
        deployment_id=deployment_id,
        model_name=model_name,
        model_version=model_version,
        sha256=sha256,
        size=size,
        created=created,
        payload_salt=payload_salt,
        recipients=recipients,
    )
    mac = fmt.header_mac(data_key, line)
    dst.write(line)
    dst.write(mac)
    hasher = hashlib.sha256()
    plain = _hashing(chunks, hasher) if recheck else chunks
    for block in encrypt_chunks(fmt.payload_key(data_key, payload_salt), plain, size=size):
        dst.write(block)
    if recheck and hasher.hexdigest() != sha256:
        raise ValueError("the input changed while it was being sealed (its SHA-256 differs)")
    return fmt.BundleHeader(
        deployment_id, model_name, model_version, sha256, size, created, payload_salt, recipients, line, mac
    )


def _seal_stream(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    size: int,
    sha256: str,
    deployment: Deployment,
    model_name: str,
    model_version: str,
    rng: Rng,
    now: datetime,
    recheck: bool = True,
) -> fmt.BundleHeader:
    check_label(model_name, what="model name", max_len=128)
    check_label(model_version, what="model version", max_len=64)
    if not 0 <= size <= fmt.MAX_SIZE:
        raise ValueError("the input is too large to seal")
    data_key, payload_salt = rng(32), rng(fmt.SALT_SIZE)
    recipients = _recipients_of(deployment, data_key, rng)
    return _write_sealed(
        dst,
        _plain_chunks(src),
        size=size,
        sha256=sha256,
        deployment_id=deployment.deployment_id,
        model_name=model_name,
        model_version=model_version,
        created=now,
        data_key=data_key,
        payload_salt=payload_salt,
        recipients=recipients,
        recheck=recheck,
    )


def seal(plaintext: bytes, *, deployment: Deployment, model_name: str, model_version: str) -> bytes:
    """Seal ``plaintext`` to every holder of ``deployment``; returns the bundle bytes."""
    data = bytes(plaintext)
    out = io.BytesIO()
    _seal_stream(
        io.BytesIO(data),
        out,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        deployment=deployment,
        model_name=model_name,
        model_version=model_version,
        rng=os.urandom,
        now=now_utc(),
        recheck=False,  # immutable bytes, hashed just above
    )
    return out.getvalue()


def _bundle_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    stream: Callable[[BinaryIO, BinaryIO], fmt.BundleHeader],
    *,
    overwrite: bool,
    refuse_in_place: bool,
) -> BundleInfo:
    """Run ``stream(fin, fout)`` from the file ``src`` into ``dst`` (atomic); return the new header's info.

    ``dst`` appears only if ``stream`` returns; it is never clobbered unless ``overwrite``. With
    ``refuse_in_place``, ``src`` and ``dst`` naming the same file is refused up front (before any
    reading) unless ``overwrite``.
    """
    if refuse_in_place and Path(src).resolve() == Path(dst).resolve() and not overwrite:
        raise FileExistsError(f"{dst} already exists")
    with open(src, "rb") as fin, _atomic.atomic_output(dst, mode=BUNDLE_MODE, overwrite=overwrite) as fout:
        header = stream(fin, fout)
    return _info(header)


def _sha256_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size


def seal_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    deployment: Deployment,
    model_name: str,
    model_version: str,
    overwrite: bool = False,
) -> BundleInfo:
    """Seal the file ``src`` into ``dst``: streamed, atomic, no clobbering unless ``overwrite``."""
    sha256, size = _sha256_file(src)
    return _bundle_file(
        src,
        dst,
        lambda fin, fout: _seal_stream(
            fin,
            fout,
            size=size,
            sha256=sha256,
            deployment=deployment,
            model_name=model_name,
            model_version=model_version,
            rng=os.urandom,
            now=now_utc(),
        ),
        overwrite=overwrite,
        refuse_in_place=False,
    )


def _check_binding(
    h: fmt.BundleHeader,
    *,
    deployment: Deployment,
    model_name: str | None,
    model_version: str | None,
    what: str,
) -> None:
    if h.deployment_id != deployment.deployment_id:
        raise WrongDeployment(
            f"{what} belongs to deployment {h.deployment_id}, "
            f"not to {deployment.name!r} ({deployment.deployment_id})",
            hint="use the deployment file the bundle was sealed for",
        )
    if model_name is not None and h.model_name != model_name:
        raise WrongModel(f"{what} holds model {h.model_name!r}, not {model_name!r}")
    if model_version is not None and h.model_version != model_version:
        raise WrongModel(f"{what} holds {h.model_name!r} version {h.model_version!r}, not {model_version!r}")


def _describe(key_id: str, deployment: Deployment) -> str:
    holder = deployment.holder(key_id)
    return f"{holder.label} ({key_id})" if holder else key_id


def _data_key(h: fmt.BundleHeader, holder: HolderKey, *, deployment: Deployment, what: str) -> bytes:
    if not isinstance(holder, HolderKey):
        raise TypeError("holder must be a HolderKey (see load_holder_key)")
    recipient = next((r for r in h.recipients if r.key_id == holder.key_id), None)
    if recipient is None:
        listed = ", ".join(_describe(k, deployment) for k in h.recipient_ids())
        raise WrongKey(
            f"{what} is sealed to holders {listed}; your key is {holder.label} ({holder.key_id})",
            hint="ask one of those holders to re-wrap it to you (`recanon keys rewrap`)",
            recipients=h.recipient_ids(),
            key_id=holder.key_id,
        )
    data_key = fmt.unwrap(recipient, holder, what=what)
    fmt.verify_header_mac(data_key, h, what=what)
    return data_key


def _open_header(
    src: BinaryIO,
    holder: HolderKey,
    *,
    deployment: Deployment,
    model_name: str | None,
    model_version: str | None,
    what: str,
) -> tuple[fmt.BundleHeader, bytes]:
    h = fmt.read_header(src, what=what)
    _check_binding(h, deployment=deployment, model_name=model_name, model_version=model_version, what=what)
    return h, _data_key(h, holder, deployment=deployment, what=what)


def _check_digest(hasher: hashlib._Hash, h: fmt.BundleHeader, what: str) -> None:
    if hasher.hexdigest() != h.sha256:
        raise AuthenticationFailed(
            f"{what} failed authentication: it was altered or damaged",
            hint="copy an intact bundle again; nothing was decrypted",
        )


def open_sealed(
    bundle: Source,
    holder: HolderKey,
    *,
    deployment: Deployment,
    model_name: str | None,
    model_version: str | None,
) -> bytes:
    """Decrypt a bundle (bytes, or a path) in memory; returns the plaintext only if everything verified.

    ``model_name``/``model_version`` must match the header (``None`` accepts any: say so explicitly).
    Raises ``WrongDeployment``, ``WrongModel``, ``WrongKey``, ``AuthenticationFailed``, ``Truncated``,
    ``InvalidFormat``/``UnsupportedVersion``/``WrongFileType``.
    """
    what = _what(bundle)
    with _opened(bundle) as src:
        h, data_key = _open_header(
            src, holder, deployment=deployment, model_name=model_name, model_version=model_version, what=what
        )
        hasher = hashlib.sha256()
        parts = list(
            _hashing(
                decrypt_chunks(fmt.payload_key(data_key, h.payload_salt), src, size=h.size, where=what),
                hasher,
            )
        )
    _check_digest(hasher, h, what)
    return b"".join(parts)


def open_sealed_io(
    bundle: Source,
    holder: HolderKey,
    *,
    deployment: Deployment,
    model_name: str | None,
    model_version: str | None,
) -> io.BytesIO:
    """Like ``open_sealed`` but returns an in-memory file object (e.g. for ``torch.load``)."""
    return io.BytesIO(
        open_sealed(bundle, holder, deployment=deployment, model_name=model_name, model_version=model_version)
    )


def read_bundle_info(bundle: Source) -> BundleInfo:
    """The bundle's public header (not authenticated: only a holder's key can check the MAC)."""
    with _opened(bundle) as src:
        return _info(fmt.read_header(src, what=_what(bundle)))


class _Tee(io.RawIOBase):
    """Reads from ``src`` and copies every byte read to ``dst``."""

    def __init__(self, src: BinaryIO, dst: BinaryIO) -> None:
        self.src, self.dst = src, dst

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        data = self.src.read(n)
        self.dst.write(data)
        return data


def _rewrap_stream(
    src: BinaryIO, dst: BinaryIO, holder: HolderKey, *, deployment: Deployment, rng: Rng, what: str
) -> fmt.BundleHeader:
    h, data_key = _open_header(
        src, holder, deployment=deployment, model_name=None, model_version=None, what=what
    )
    recipients = _recipients_of(deployment, data_key, rng)
    line = fmt.encode_header_line(
        deployment_id=h.deployment_id,
        model_name=h.model_name,
        model_version=h.model_version,
        sha256=h.sha256,
        size=h.size,
        created=h.created,
        payload_salt=h.payload_salt,
        recipients=recipients,
    )
    mac = fmt.header_mac(data_key, line)
    dst.write(line)
    dst.write(mac)
    hasher = hashlib.sha256()
    tee = _Tee(src, dst)
    for chunk in decrypt_chunks(fmt.payload_key(data_key, h.payload_salt), tee, size=h.size, where=what):  # type: ignore[arg-type]
        hasher.update(chunk)
    _check_digest(hasher, h, what)
    return fmt.BundleHeader(
        h.deployment_id,
        h.model_name,
        h.model_version,
        h.sha256,
        h.size,
        h.created,
        h.payload_salt,
        recipients,
        line,
        mac,
    )


def _rotate_stream(
    src: BinaryIO,
    dst: BinaryIO,
    holder: HolderKey,
    *,
    deployment: Deployment,
    rng: Rng,
    now: datetime,
    what: str,
) -> fmt.BundleHeader:
    h, data_key = _open_header(
        src, holder, deployment=deployment, model_name=None, model_version=None, what=what
    )
    new_key, new_salt = rng(32), rng(fmt.SALT_SIZE)
    recipients = _recipients_of(deployment, new_key, rng)
    plain = decrypt_chunks(fmt.payload_key(data_key, h.payload_salt), src, size=h.size, where=what)
    try:
        return _write_sealed(
            dst,
            plain,
            size=h.size,
            sha256=h.sha256,
            deployment_id=h.deployment_id,
            model_name=h.model_name,
            model_version=h.model_version,
            created=now,
            data_key=new_key,
            payload_salt=new_salt,
            recipients=recipients,
        )
    except ValueError:  # plaintext hash differs from the authenticated header: a forged bundle
        raise AuthenticationFailed(
            f"{what} failed authentication: it was altered or damaged", hint="copy an intact bundle again"
        ) from None


def rewrap(bundle: bytes, holder: HolderKey, *, deployment: Deployment) -> bytes:
    """Re-wrap the data key to exactly ``deployment.holders`` (same payload bytes, checked on the way).

    ``holder`` must be able to open the bundle. A removed holder who kept the old data key can still
    decrypt the payload: use ``rotate`` to revoke.
    """
    out = io.BytesIO()
    _rewrap_stream(
        io.BytesIO(bytes(bundle)), out, holder, deployment=deployment, rng=os.urandom, what="the bundle"
    )
    return out.getvalue()


def rotate(bundle: bytes, holder: HolderKey, *, deployment: Deployment) -> bytes:
    """Re-encrypt the payload under a fresh data key, wrapped to ``deployment.holders``."""
    out = io.BytesIO()
    _rotate_stream(
        io.BytesIO(bytes(bundle)),
        out,
        holder,
        deployment=deployment,
        rng=os.urandom,
        now=now_utc(),
        what="the bundle",
    )
    return out.getvalue()


def rewrap_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    holder: HolderKey,
    *,
    deployment: Deployment,
    overwrite: bool = False,
) -> BundleInfo:
    """File-to-file ``rewrap`` (streamed; ``dst`` appears only if the whole bundle verified)."""
    return _bundle_file(
        src,
        dst,
        lambda fin, fout: _rewrap_stream(
            fin, fout, holder, deployment=deployment, rng=os.urandom, what=_what(src)
        ),
        overwrite=overwrite,
        refuse_in_place=True,
    )


def rotate_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    holder: HolderKey,
    *,
    deployment: Deployment,
    overwrite: bool = False,
) -> BundleInfo:
    """File-to-file ``rotate`` (streamed; ``dst`` appears only if the whole bundle verified)."""
    return _bundle_file(
        src,
        dst,
        lambda fin, fout: _rotate_stream(
            fin, fout, holder, deployment=deployment, rng=os.urandom, now=now_utc(), what=_what(src)
        ),
        overwrite=overwrite,
        refuse_in_place=True,
    )
