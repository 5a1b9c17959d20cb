"""Deployments: who holds the keys and which device signs, as one small file signed by that device.

``sig = Ed25519(device, "recanon/v1/deployment" || 0x00 || canonical(document without "sig"))``

The file is self-signed: the signature proves that whoever holds the device key wrote it, and that
nothing changed since. Trust comes from comparing the deployment id and device key id with a
value obtained out of band (see docs/security.md). ``recanon-deployment/v2`` also lists each
holder's Ed25519 audit key, so that the recovery audit log's signers are pinned; ``/v1`` files
(without them) are still read, and ``with_audit_keys`` turns one into a v2 revision.

>>> from recanon_keys.identities import generate_device_key, generate_holder
>>> device = generate_device_key("cam-01")
>>> dep = create_deployment("lobby", device_key=device, holders=[generate_holder("alice").public])
>>> loaded = load_deployment(dep.to_bytes())
>>> (loaded.name, loaded.revision, len(loaded.holders), loaded.device.key_id == device.key_id)
('lobby', 1, 1, True)
>>> bob = generate_holder("bob").public
>>> dep2 = dep.with_holder_added(bob, device_key=device)
>>> (dep2.revision, [h.label for h in dep2.holders], dep2.version)
(2, ['alice', 'bob'], 2)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ._format.encoding import (
    Fields,
    Rng,
    b64e,
    canonical,
    check_format,
    check_plain_name,
    document,
    format_time,
    key_id,
    now_utc,
    parse_document,
)
from ._format.keyfile import check_key_id
from .errors import AuthenticationFailed, InvalidFormat
from .identities import DeviceKey, DevicePublicKey, HolderPublicKey, _ed25519_public_ok, _x25519_public_ok

__all__ = ["Deployment", "Policy", "create_deployment", "load_deployment"]

KIND = "deployment"
SIG_DOMAIN = b"recanon/v1/deployment"
MAX_DEPLOYMENT_FILE = 64 * 1024
MAX_HOLDERS = 32
VERSIONS = (1, 2)
DEPLOYMENT_ID_RE = re.compile(r"dp-[a-z2-7]{16}")


@dataclass(frozen=True)
class Policy:
    """Signed rules of a deployment.

    ``checkpoint_every``: a sidecar signature checkpoint every N lines (1..65536); a crash loses at
    most N lines of verifiable sidecar. ``min_holders``: sealing refuses fewer recipients (1..32),
    so losing one key need not lose the model.
    """

    checkpoint_every: int = 256
    min_holders: int = 1

    def __post_init__(self) -> None:
        if type(self.checkpoint_every) is not int or not 1 <= self.checkpoint_every <= 65536:
            raise ValueError("checkpoint_every must be an integer from 1 to 65536")
        if type(self.min_holders) is not int or not 1 <= self.min_holders <= MAX_HOLDERS:
            raise ValueError(f"min_holders must be an integer from 1 to {MAX_HOLDERS}")


@dataclass(frozen=True)
class Deployment:
    """A verified deployment file (only ``create_deployment``/``load_deployment`` make one).

    ``version`` is the file format: 2 pins every holder's audit key (``HolderPublicKey.audit_key``),
    1 (older files) does not.
    """

    deployment_id: str
    name: str
    created: datetime
    revision: int
    device: DevicePublicKey
    device_label: str
    holders: tuple[HolderPublicKey, ...]
    policy: Policy
    raw: bytes = field(repr=False, compare=False)
    version: int = 2

    def to_bytes(self) -> bytes:
        """The signed ``recanon-deployment/v2`` (or ``/v1``) file, byte for byte as it was loaded or made."""
        return self.raw

    @property
    def pins_audit_keys(self) -> bool:
        """Whether this file lists every holder's audit key (v2), so audit-log signers are checked."""
        return self.version >= 2

    def holder(self, key_id: str) -> HolderPublicKey | None:
        return next((h for h in self.holders if h.key_id == key_id), None)

    def with_holder_added(self, holder: HolderPublicKey, *, device_key: DeviceKey) -> Deployment:
        """A new revision that also lists ``holder`` (re-signed by ``device_key``)."""
        if self.holder(holder.key_id) is not None:
            raise ValueError(f"{holder.key_id} is already a holder of this deployment")
        if len(self.holders) >= MAX_HOLDERS:
            raise ValueError(f"a deployment has at most {MAX_HOLDERS} holders")
        if self.version >= 2:
            _require_audit_keys([holder])
        return self._revise(holders=(*self.holders, holder), device_key=device_key)

    def with_audit_keys(self, holders: Iterable[HolderPublicKey], *, device_key: DeviceKey) -> Deployment:
        """A v2 revision that pins every current holder's audit key, taken from ``holders``.

        ``holders`` are the holders' v2 public keys (``HolderPublicKey.from_bytes`` of their ``.pub``
        files, or ``HolderKey.public``); each current holder must be among them, with the same X25519
        key. The deployment id, name, policy and holder order are kept.
        """
        given = {h.key_id: h for h in holders}
        pinned = []
        for h in self.holders:
            new = given.get(h.key_id)
            if new is None or new.public_key != h.public_key:
                raise ValueError(f"no public key file given for holder {h.label} ({h.key_id})")
            _require_audit_keys([new])
            pinned.append(replace(h, audit_key=new.audit_key))
        return _sign(replace(self, version=2, revision=self.revision + 1, holders=tuple(pinned)), device_key)

    def with_holder_removed(self, holder_key_id: str, *, device_key: DeviceKey) -> Deployment:
        """A new revision without that holder. Bundles already sealed to it still open with its key:
        re-wrap AND rotate them (see ``rotate``)."""
        if self.holder(holder_key_id) is None:
            raise ValueError(f"{holder_key_id} is not a holder of this deployment")
        return self._revise(
            holders=tuple(h for h in self.holders if h.key_id != holder_key_id), device_key=device_key
        )

    def _revise(self, *, holders: tuple[HolderPublicKey, ...], device_key: DeviceKey) -> Deployment:
        if self.version < 2:  # a v1 file cannot say them: keep the object what the file says
            holders = tuple(replace(h, audit_key=None) for h in holders)
        return _sign(replace(self, revision=self.revision + 1, holders=holders), device_key)


def _require_audit_keys(holders: Iterable[HolderPublicKey]) -> None:
    for h in holders:
        if h.audit_key is None:
            raise ValueError(
                f"holder {h.label} ({h.key_id}) comes from a v1 public key file, which has no audit key: "
                "ask them for a new one (`recanon keys holder pub --key THEIR.key`)"
            )


def _holder_entry(h: HolderPublicKey, version: int) -> dict[str, Any]:
    entry = {
        "key_id": h.key_id,
        "label": h.label,
        "public_key": b64e(h.public_key),
        "created": format_time(h.created),
    }
    if version >= 2:
        if h.audit_key is None:
            raise ValueError(f"holder {h.key_id} has no audit key")
        entry["audit_key"] = b64e(h.audit_key)
    return entry


def _body(dep: Deployment) -> dict[str, Any]:
    return {
        "format": f"recanon-{KIND}/v{dep.version}",
        "deployment_id": dep.deployment_id,
        "name": dep.name,
        "created": format_time(dep.created),
        "revision": dep.revision,
        "device": {
            "key_id": dep.device.key_id,
            "label": dep.device_label,
            "public_key": b64e(dep.device.public_key),
        },
        "holders": [_holder_entry(h, dep.version) for h in dep.holders],
        "policy": {"checkpoint_every": dep.policy.checkpoint_every, "min_holders": dep.policy.min_holders},
    }


def _sign(dep: Deployment, device_key: DeviceKey) -> Deployment:
    if device_key.key_id != dep.device.key_id:
        raise ValueError(
            f"this deployment is signed by device {dep.device.key_id}, not by {device_key.key_id}"
        )
    body = _body(dep)
    body["sig"] = b64e(device_key._sign(SIG_DOMAIN + b"\x00" + canonical(body)))
    return replace(dep, raw=document(body))


def _create_deployment(
    name: str,
    *,
    device_key: DeviceKey,
    holders: Iterable[HolderPublicKey],
    policy: Policy,
    rng: Rng,
    now: datetime,
) -> Deployment:
    holders = tuple(holders)
    _require_audit_keys(holders)
    if len({h.key_id for h in holders}) != len(holders):
        raise ValueError("the same holder is listed twice")
    if len(holders) > MAX_HOLDERS:
        raise ValueError(f"a deployment has at most {MAX_HOLDERS} holders")
    dep = Deployment(
        deployment_id=key_id("dp", b"recanon/v1/deployment-id", rng(16)),
        name=check_plain_name(name, what="deployment name"),
        created=now,
        revision=1,
        device=device_key.public,
        device_label=device_key.label,
        holders=holders,
        policy=policy,
        raw=b"",
    )
    return _sign(dep, device_key)


def create_deployment(
    name: str, *, device_key: DeviceKey, holders: Iterable[HolderPublicKey] = (), policy: Policy | None = None
) -> Deployment:
    """A new ``recanon-deployment/v2`` (fresh random id, revision 1) signed by ``device_key``.

    ``name`` is a plain name (it names the files ``NAME.deployment``, ``NAME.device.key``); every
    holder needs its audit key (a ``HolderKey.public``, or a v2 ``.pub`` file).
    """
    return _create_deployment(
        name, device_key=device_key, holders=holders, policy=policy or Policy(), rng=os.urandom, now=now_utc()
    )


def load_deployment(data: bytes, *, what: str = "the deployment file") -> Deployment:
    """Parse and verify a deployment file.

    Raises ``InvalidFormat`` (and subclasses) or ``AuthenticationFailed``.
    """
    obj = parse_document(data, kind=KIND, max_size=MAX_DEPLOYMENT_FILE, what=what, versions=VERSIONS)
    f = Fields(obj, what)
    version = check_format(obj, KIND, what=what, versions=VERSIONS)
    f.const("format", f"recanon-{KIND}/v{version}")
    dep_id = f.str("deployment_id", max_len=19, pattern=DEPLOYMENT_ID_RE)
    name = f.str("name", max_len=64)
    created = f.time("created")
    revision = f.int("revision", 1, 2**31)
    d = f.obj_("device")
    device = DevicePublicKey(d.key_id("key_id", "dk"), d.b64("public_key", length=32))
    device_label = d.str("label", max_len=64)
    d.done()
    check_key_id(device.key_id, device.public_key, what=f"{what}: device")
    holders = []
    for i, item in enumerate(f.list("holders", min_len=0, max_len=MAX_HOLDERS)):
        h = Fields(item, f"{what}: holder {i + 1}")
        pub = HolderPublicKey(
            h.key_id("key_id", "hk"),
            h.str("label", max_len=64),
            h.b64("public_key", length=32),
            h.time("created"),
            h.b64("audit_key", length=32) if version >= 2 else None,
        )
        h.done()
        check_key_id(pub.key_id, pub.public_key, what=h.what)
        if not _x25519_public_ok(pub.public_key):
            raise InvalidFormat(f"{h.what} has an unusable (low-order) X25519 key")
        if pub.audit_key is not None and not _ed25519_public_ok(pub.audit_key):
            raise InvalidFormat(f"{h.what} has an unusable Ed25519 audit key")
        holders.append(pub)
    if len({h.key_id for h in holders}) != len(holders):
        raise InvalidFormat(f"{what} lists the same holder twice")
    p = f.obj_("policy")
    policy = Policy(
        checkpoint_every=p.int("checkpoint_every", 1, 65536), min_holders=p.int("min_holders", 1, MAX_HOLDERS)
    )
    p.done()
    sig = f.b64("sig", length=64)
    f.done()
    body = {k: v for k, v in obj.items() if k != "sig"}
    if not device.verify(sig, SIG_DOMAIN + b"\x00" + canonical(body)):
        raise AuthenticationFailed(
            f"{what} has an invalid signature: it was altered after the device signed it",
            hint="get an intact copy of the deployment file from its administrator",
        )
    return Deployment(
        dep_id, name, created, revision, device, device_label, tuple(holders), policy, data, version
    )
