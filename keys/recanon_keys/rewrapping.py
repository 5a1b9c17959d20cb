"""Re-wrap and rotate sealed bundles for a deployment's current holders (after a membership change).

Both need a holder who can open the bundle (to unwrap its data key) *and* the deployment's device
key (to sign the new header): a holder alone can read a bundle but cannot make one that other
holders accept. The old bundle is authenticated (device signature, MAC, whole payload) before
anything is written; the output appears only if all of it verified.

* ``rewrap``: same data key and payload bytes, new recipient list (adds holders).
* ``rotate``: fresh data key and salt, payload re-encrypted (revokes removed holders).

>>> from recanon_keys import create_deployment, generate_device_key, generate_holder, seal, open_sealed
>>> alice, bob, device = generate_holder("alice"), generate_holder("bob"), generate_device_key("cam")
>>> dep = create_deployment("lobby", device_key=device, holders=[alice.public])
>>> old = seal(b"GY", deployment=dep, model_name="gy", model_version="1", device_key=device)
>>> dep2 = dep.with_holder_added(bob.public, device_key=device)
>>> new = rewrap(old, alice, deployment=dep2, device_key=device)
>>> open_sealed(new, bob, deployment=dep2, model_name="gy", model_version="1")
b'GY'
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO

from . import _bundle_io as bio
from ._format import bundle as fmt
from ._format.encoding import Rng, now_utc
from ._format.stream import decrypt_chunks
from .deployments import Deployment
from .errors import AuthenticationFailed
from .identities import DeviceKey, HolderKey
from .sealing import (
    BundleInfo,
    _check_device_key,
    _check_digest,
    _info,
    _open_header,
    _recipients_of,
    _write_sealed,
)

__all__ = ["rewrap", "rewrap_file", "rotate", "rotate_file"]


def _opened_for_device(
    src: BinaryIO,
    holder: HolderKey,
    deployment: Deployment,
    device_key: DeviceKey,
    unsafe_allow_unsigned: bool,
    what: str,
) -> tuple[fmt.BundleHeader, bytes]:
    """The verified header and data key of a bundle that ``device_key`` (the deployment's) re-seals."""
    _check_device_key(device_key, deployment)
    return _open_header(
        src,
        holder,
        deployment=deployment,
        model_name=None,
        model_version=None,
        unsafe_allow_unsigned=unsafe_allow_unsigned,
        what=what,
    )


def _rewrap_stream(
    src: BinaryIO,
    dst: BinaryIO,
    holder: HolderKey,
    *,
    deployment: Deployment,
    device_key: DeviceKey,
    rng: Rng,
    what: str,
    unsafe_allow_unsigned: bool = False,
) -> fmt.BundleHeader:
    h, data_key = _opened_for_device(src, holder, deployment, device_key, unsafe_allow_unsigned, what)
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
        device_key=device_key,
    )
    mac = fmt.header_mac(data_key, line)
    dst.write(line)
    dst.write(mac)
    hasher = hashlib.sha256()
    tee = bio.Tee(src, dst)
    for chunk in decrypt_chunks(fmt.payload_key(data_key, h.payload_salt), tee, size=h.size, where=what):  # type: ignore[arg-type]
        hasher.update(chunk)
    _check_digest(hasher, h, what)
    return fmt.read_header(io.BytesIO(line + mac), what="the new bundle")


def _rotate_stream(
    src: BinaryIO,
    dst: BinaryIO,
    holder: HolderKey,
    *,
    deployment: Deployment,
    device_key: DeviceKey,
    rng: Rng,
    now: datetime,
    what: str,
    unsafe_allow_unsigned: bool = False,
) -> fmt.BundleHeader:
    h, data_key = _opened_for_device(src, holder, deployment, device_key, unsafe_allow_unsigned, what)
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
            device_key=device_key,
        )
    except ValueError:  # plaintext hash differs from the authenticated header: a forged bundle
        raise AuthenticationFailed(
            f"{what} failed authentication: it was altered or damaged", hint="copy an intact bundle again"
        ) from None


def rewrap(
    bundle: bytes,
    holder: HolderKey,
    *,
    deployment: Deployment,
    device_key: DeviceKey,
    unsafe_allow_unsigned: bool = False,
) -> bytes:
    """Re-wrap the data key to exactly ``deployment.holders``, signed by ``device_key`` (same payload).

    ``holder`` must be able to open the bundle. A removed holder who kept the old data key can still
    decrypt the payload: use ``rotate`` to revoke. ``unsafe_allow_unsigned=True`` accepts an unsigned
    v1 bundle as input (with a warning) and writes it signed: how old bundles are brought over.
    """
    out = io.BytesIO()
    _rewrap_stream(
        io.BytesIO(bytes(bundle)),
        out,
        holder,
        deployment=deployment,
        device_key=device_key,
        rng=os.urandom,
        what="the bundle",
        unsafe_allow_unsigned=unsafe_allow_unsigned,
    )
    return out.getvalue()


def rotate(
    bundle: bytes,
    holder: HolderKey,
    *,
    deployment: Deployment,
    device_key: DeviceKey,
    unsafe_allow_unsigned: bool = False,
) -> bytes:
    """Re-encrypt the payload under a fresh data key, wrapped to ``deployment.holders``, signed anew."""
    out = io.BytesIO()
    _rotate_stream(
        io.BytesIO(bytes(bundle)),
        out,
        holder,
        deployment=deployment,
        device_key=device_key,
        rng=os.urandom,
        now=now_utc(),
        what="the bundle",
        unsafe_allow_unsigned=unsafe_allow_unsigned,
    )
    return out.getvalue()


def _stream_file(
    transform: Callable[..., fmt.BundleHeader],
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    holder: HolderKey,
    overwrite: bool,
    **options: object,
) -> BundleInfo:
    """Run a bundle ``transform`` file to file, streamed; ``dst`` appears only if the bundle verified."""
    header = bio.bundle_file(
        src,
        dst,
        lambda fin, fout: transform(fin, fout, holder, rng=os.urandom, what=bio.what(src), **options),
        overwrite=overwrite,
        refuse_in_place=True,
    )
    return _info(header)


def rewrap_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    holder: HolderKey,
    *,
    deployment: Deployment,
    device_key: DeviceKey,
    overwrite: bool = False,
    unsafe_allow_unsigned: bool = False,
) -> BundleInfo:
    """File-to-file ``rewrap`` (streamed; ``dst`` appears only if the whole bundle verified)."""
    return _stream_file(
        _rewrap_stream, src, dst, holder, overwrite,
        deployment=deployment, device_key=device_key, unsafe_allow_unsigned=unsafe_allow_unsigned,
    )  # fmt: skip


def rotate_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    holder: HolderKey,
    *,
    deployment: Deployment,
    device_key: DeviceKey,
    overwrite: bool = False,
    unsafe_allow_unsigned: bool = False,
) -> BundleInfo:
    """File-to-file ``rotate`` (streamed; ``dst`` appears only if the whole bundle verified)."""
    return _stream_file(
        _rotate_stream, src, dst, holder, overwrite,
        deployment=deployment, device_key=device_key, now=now_utc(),
        unsafe_allow_unsigned=unsafe_allow_unsigned,
    )  # fmt: skip
