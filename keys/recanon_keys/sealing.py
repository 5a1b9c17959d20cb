"""Sealed bundles: a model (or any blob) the deployment's device signs and only its key holders open.

Envelope encryption: a fresh 32-byte data key encrypts the payload (STREAM, 64 KiB chunks); the
data key is wrapped to each holder's X25519 key; the header, which binds format version,
deployment id, model name and version, the plaintext's SHA-256 and size and the recipients, is
signed with the deployment's device key (Ed25519) and MACed under the data key. Opening checks the
signature against the deployment *before* it unwraps or decrypts anything, happens in memory only,
and releases nothing unless everything verified. Sealing therefore needs the device key: whoever
has only the public deployment file cannot make a bundle that a holder accepts.

>>> from recanon_keys.identities import generate_device_key, generate_holder
>>> from recanon_keys.deployments import create_deployment
>>> alice, bob = generate_holder("alice"), generate_holder("bob")
>>> device = generate_device_key("cam")
>>> dep = create_deployment("lobby", device_key=device, holders=[alice.public, bob.public])
>>> bundle = seal(b"GY weights", deployment=dep, model_name="gy", model_version="1.0", device_key=device)
>>> open_sealed(bundle, bob, deployment=dep, model_name="gy", model_version="1.0")
b'GY weights'
>>> info = read_bundle_info(bundle)
>>> info.recipients == (alice.key_id, bob.key_id), info.signer == device.key_id
(True, True)
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from . import _bundle_io as bio
from ._format import bundle as fmt
from ._format.encoding import Rng, check_label, now_utc
from ._format.stream import decrypt_chunks, encrypt_chunks
from .deployments import Deployment
from .errors import AuthenticationFailed, UnsignedBundleWarning, WrongDeployment, WrongKey, WrongModel
from .identities import DeviceKey, HolderKey

__all__ = [
    "BundleInfo",
    "open_sealed",
    "open_sealed_io",
    "read_bundle_info",
    "seal",
    "seal_file",
]

Source = bio.Source


@dataclass(frozen=True)
class BundleInfo:
    """The public header of a bundle (no secret): what ``recanon keys inspect`` shows.

    ``signer`` is the device key id that signed it (``None`` for an unsigned v1 bundle); the
    signature itself is checked only against a deployment, when the bundle is opened.
    """

    format: str
    deployment_id: str
    model_name: str
    model_version: str
    sha256: str
    size: int
    created: datetime
    recipients: tuple[str, ...]
    signer: str | None = None


def _info(h: fmt.BundleHeader) -> BundleInfo:
    return BundleInfo(
        f"recanon-bundle/v{h.version}",
        h.deployment_id,
        h.model_name,
        h.model_version,
        h.sha256,
        h.size,
        h.created,
        h.recipient_ids(),
        h.signer,
    )


def _check_device_key(device_key: DeviceKey, deployment: Deployment) -> None:
    if not isinstance(device_key, DeviceKey):
        raise TypeError("device_key must be a DeviceKey (see load_device_key)")
    if device_key.key_id != deployment.device.key_id:
        raise WrongDeployment(
            f"deployment {deployment.name!r} belongs to device {deployment.device.key_id}, "
            f"not to {device_key.key_id}: only its own device key signs its bundles",
            hint="pass the device key the deployment was created with",
        )


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
    device_key: DeviceKey | None,
    recheck: bool = True,
) -> fmt.BundleHeader:
    """Write header, MAC and payload; raise ``ValueError`` if the plaintext does not hash to ``sha256``.

    ``recheck=False`` skips that second hash, for immutable in-memory input already hashed.
    ``device_key=None`` writes an unsigned v1 header (test vectors of the old format only).
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
        device_key=device_key,
    )
    mac = fmt.header_mac(data_key, line)
    dst.write(line)
    dst.write(mac)
    hasher = hashlib.sha256()
    plain = bio.hashing(chunks, hasher) if recheck else chunks
    for block in encrypt_chunks(fmt.payload_key(data_key, payload_salt), plain, size=size):
        dst.write(block)
    if recheck and hasher.hexdigest() != sha256:
        raise ValueError("the input changed while it was being sealed (its SHA-256 differs)")
    return fmt.read_header(io.BytesIO(line + mac), what="the new bundle")


def _seal_stream(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    size: int,
    sha256: str,
    deployment: Deployment,
    model_name: str,
    model_version: str,
    device_key: DeviceKey | None,
    rng: Rng,
    now: datetime,
    recheck: bool = True,
) -> fmt.BundleHeader:
    check_label(model_name, what="model name", max_len=128)
    check_label(model_version, what="model version", max_len=64)
    if device_key is not None:
        _check_device_key(device_key, deployment)
    if not 0 <= size <= fmt.MAX_SIZE:
        raise ValueError("the input is too large to seal")
    data_key, payload_salt = rng(32), rng(fmt.SALT_SIZE)
    recipients = _recipients_of(deployment, data_key, rng)
    return _write_sealed(
        dst,
        bio.plain_chunks(src),
        size=size,
        sha256=sha256,
        deployment_id=deployment.deployment_id,
        model_name=model_name,
        model_version=model_version,
        created=now,
        data_key=data_key,
        payload_salt=payload_salt,
        recipients=recipients,
        device_key=device_key,
        recheck=recheck,
    )


def seal(
    plaintext: bytes, *, deployment: Deployment, model_name: str, model_version: str, device_key: DeviceKey
) -> bytes:
    """Seal ``plaintext`` to every holder of ``deployment``, signed by its ``device_key``; the bundle bytes.

    Raises ``WrongDeployment`` if ``device_key`` is not the deployment's device key.
    """
    _check_device_key(device_key, deployment)
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
        device_key=device_key,
        rng=os.urandom,
        now=now_utc(),
        recheck=False,  # immutable bytes, hashed just above
    )
    return out.getvalue()


def seal_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    deployment: Deployment,
    model_name: str,
    model_version: str,
    device_key: DeviceKey,
    overwrite: bool = False,
) -> BundleInfo:
    """Seal the file ``src`` into ``dst`` (signed by ``device_key``): streamed, atomic, no clobbering."""
    _check_device_key(device_key, deployment)
    sha256, size = bio.sha256_file(src)
    header = bio.bundle_file(
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
            device_key=device_key,
            rng=os.urandom,
            now=now_utc(),
        ),
        overwrite=overwrite,
        refuse_in_place=False,
    )
    return _info(header)


def _check_binding(
    h: fmt.BundleHeader,
    *,
    deployment: Deployment,
    model_name: str | None,
    model_version: str | None,
    what: str,
) -> None:
    if model_name is not None and h.model_name != model_name:
        raise WrongModel(f"{what} holds model {h.model_name!r}, not {model_name!r}")
    if model_version is not None and h.model_version != model_version:
        raise WrongModel(f"{what} holds {h.model_name!r} version {h.model_version!r}, not {model_version!r}")


def _authenticate(
    h: fmt.BundleHeader, deployment: Deployment, *, unsafe_allow_unsigned: bool, what: str
) -> None:
    """Check the header's deployment and its device signature; nothing has been decrypted yet."""
    if h.deployment_id != deployment.deployment_id:
        raise WrongDeployment(
            f"{what} belongs to deployment {h.deployment_id}, "
            f"not to {deployment.name!r} ({deployment.deployment_id})",
            hint="use the deployment file the bundle was sealed for",
        )
    if h.version < 2:
        message = (
            f"{what} is unsigned (format recanon-bundle/v1): anyone who has the deployment file can "
            "make such a bundle"
        )
        if not unsafe_allow_unsigned:
            raise AuthenticationFailed(
                f"{message}, so it is refused",
                hint="ask for one sealed with the deployment's device key (an old bundle is re-sealed by "
                "`recanon keys rewrap OLD --allow-unsigned --device-key DEVICE.key ...`); open it unsigned "
                "only if you trust where it came from",
            )
        warnings.warn(UnsignedBundleWarning(f"{message}; opened anyway, as asked"), stacklevel=4)
        return
    if h.signer != deployment.device.key_id:
        raise AuthenticationFailed(
            f"{what} is signed by {h.signer}, not by the device of deployment {deployment.name!r} "
            f"({deployment.device.key_id}): it was not sealed for this deployment, and is refused",
            hint="use a bundle sealed with this deployment's device key; nothing was decrypted",
        )
    if h.sig is None or not deployment.device.verify(h.sig, h.signed):
        raise AuthenticationFailed(
            f"{what} has an invalid signature: it was altered or forged, and is refused",
            hint="copy an intact bundle again; nothing was decrypted",
        )


def _describe(key_id: str, deployment: Deployment) -> str:
    holder = deployment.holder(key_id)
    return f"{holder.label} ({key_id})" if holder else key_id


def _data_key(h: fmt.BundleHeader, holder: HolderKey, *, deployment: Deployment, what: str) -> bytes:
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
    unsafe_allow_unsigned: bool,
    what: str,
) -> tuple[fmt.BundleHeader, bytes]:
    """Read the header, authenticate it (deployment, device signature), then unwrap the data key."""
    if not isinstance(holder, HolderKey):
        raise TypeError("holder must be a HolderKey (see load_holder_key)")
    h = fmt.read_header(src, what=what)
    _authenticate(h, deployment, unsafe_allow_unsigned=unsafe_allow_unsigned, what=what)
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
    unsafe_allow_unsigned: bool = False,
) -> bytes:
    """Decrypt a bundle (bytes, or a path) in memory; returns the plaintext only if everything verified.

    The header's device signature is checked against ``deployment`` before anything is decrypted.
    ``model_name``/``model_version`` must match the header (``None`` accepts any: say so explicitly).
    An unsigned v1 bundle is refused (``AuthenticationFailed``) unless ``unsafe_allow_unsigned=True``,
    which opens it with an ``UnsignedBundleWarning``. Raises ``WrongDeployment``, ``WrongModel``,
    ``WrongKey``, ``AuthenticationFailed``, ``Truncated``,
    ``InvalidFormat``/``UnsupportedVersion``/``WrongFileType``.
    """
    what = bio.what(bundle)
    with bio.opened(bundle) as src:
        h, data_key = _open_header(
            src,
            holder,
            deployment=deployment,
            model_name=model_name,
            model_version=model_version,
            unsafe_allow_unsigned=unsafe_allow_unsigned,
            what=what,
        )
        hasher = hashlib.sha256()
        parts = list(
            bio.hashing(
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
    unsafe_allow_unsigned: bool = False,
) -> io.BytesIO:
    """Like ``open_sealed`` but returns an in-memory file object (e.g. for ``torch.load``)."""
    return io.BytesIO(
        open_sealed(
            bundle,
            holder,
            deployment=deployment,
            model_name=model_name,
            model_version=model_version,
            unsafe_allow_unsigned=unsafe_allow_unsigned,
        )
    )


def read_bundle_info(bundle: Source) -> BundleInfo:
    """The bundle's public header (not authenticated: only opening checks the signature and MAC)."""
    with bio.opened(bundle) as src:
        return _info(fmt.read_header(src, what=bio.what(bundle)))
