"""Building blocks of the recanon_keys test vectors: fixed-seed randomness, fixture keys and
deployments, and the helpers that seal, sign and encode vector files (see make_vectors.py)."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from recanon_keys import deployments, identities, sealing
from recanon_keys._format import bundle as bundle_fmt
from recanon_keys._format import kdf, stream
from recanon_keys._format.encoding import canonical
from recanon_keys.sidecar import SidecarSigner
from recanon_keys.streams import SealedStreamWriter

VECTORS = Path(__file__).with_name("vectors")
NOW = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)
WEAK_KDF = kdf.Argon2idParams(opslimit=1, memlimit=8192)  # test vectors only: fast to open
PASSPHRASE = "correct horse battery staple"


class Drbg:
    """Deterministic bytes: SHAKE-256(seed || 0x00 || counter) per request. Test vectors only."""

    def __init__(self, seed: str) -> None:
        self.seed = seed.encode()
        self.counter = 0

    def __call__(self, n: int) -> bytes:
        self.counter += 1
        return hashlib.shake_256(self.seed + b"\x00" + self.counter.to_bytes(8, "big")).digest(n)


class Fixtures:
    """Fixed keys and deployments used by the vectors (and by the other tests)."""

    def __init__(self) -> None:
        rng = Drbg("recanon/test-vectors/fixtures")
        self.alice = identities._generate_holder("alice", rng=rng, now=NOW)
        self.bob = identities._generate_holder("bob", rng=rng, now=NOW)
        self.carol = identities._generate_holder("carol", rng=rng, now=NOW)
        self.device = identities._generate_device_key("cam-01", rng=rng, now=NOW)
        self.other_device = identities._generate_device_key("cam-99", rng=rng, now=NOW)

        def dep(name, device, holders, policy=deployments.Policy()):  # noqa: B008
            return deployments._create_deployment(
                name, device_key=device, holders=[h.public for h in holders], policy=policy, rng=rng, now=NOW
            )

        self.lobby = dep("lobby", self.device, [self.alice, self.bob])
        self.garage = dep("garage", self.other_device, [self.carol])
        self.dock = dep("dock", self.device, [self.alice], deployments.Policy(checkpoint_every=2))
        self.lobby2 = self.lobby._revise(
            holders=(self.alice.public, self.carol.public), device_key=self.device
        )
        # the same deployment as an old recanon-deployment/v1 file (no audit keys)
        self.lobby_v1 = deployments._sign(
            replace(
                self.lobby, version=1, holders=tuple(replace(h, audit_key=None) for h in self.lobby.holders)
            ),
            self.device,
        )

    def identity_line(self, holder: identities.HolderKey) -> str:
        data = holder._to_bytes(
            passphrase=None,
            unsafe_no_passphrase=True,
            kdf_params=WEAK_KDF,
            unsafe_weak_kdf=True,
            rng=Drbg("x"),
        )
        return data.decode().rstrip("\n")


def payload(n: int, tag: str) -> bytes:
    return hashlib.shake_256(f"recanon/test-vectors/payload/{tag}".encode()).digest(n)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def redoc(data: bytes, mutate) -> bytes:
    obj = json.loads(data)
    mutate(obj)
    return canonical(obj) + b"\n"


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


SIGNED_BY_DEVICE = object()


def seal(
    fx: Fixtures, plain: bytes, seed: str, *, dep=None, model=("gy", "1.0"), signer=SIGNED_BY_DEVICE
) -> bytes:
    """A bundle sealed with fixed randomness; ``signer``: the device key that signs it (default the
    lobby's device, ``None``: an unsigned v1 bundle, as recanon wrote before bundles were signed)."""
    out = io.BytesIO()
    dep = dep or fx.lobby
    device_key = fx.device if signer is SIGNED_BY_DEVICE else signer
    if device_key is not None and device_key.key_id != dep.device.key_id:  # a forger: skip the check
        dep = replace(dep, device=device_key.public)
    sealing._seal_stream(
        io.BytesIO(plain),
        out,
        size=len(plain),
        sha256=sha(plain),
        deployment=dep,
        model_name=model[0],
        model_version=model[1],
        device_key=device_key,
        rng=Drbg(seed),
        now=NOW,
    )
    return out.getvalue()


def craft_bundle(fx: Fixtures, plain: bytes, seed: str, *, sha256=None, nonces=None, chunks=None) -> bytes:
    """A bundle made by hand (valid signature and MAC), to express stream-level faults a correct sealer
    never makes."""
    rng = Drbg(seed)
    data_key, salt = rng(32), rng(bundle_fmt.SALT_SIZE)
    recipients = tuple(bundle_fmt.wrap(data_key, h.key_id, h.public_key, rng) for h in fx.lobby.holders)
    line = bundle_fmt.encode_header_line(
        deployment_id=fx.lobby.deployment_id,
        model_name="gy",
        model_version="1.0",
        sha256=sha256 or sha(plain),
        size=len(plain),
        created=NOW,
        payload_salt=salt,
        recipients=recipients,
        device_key=fx.device,
    )
    aead = ChaCha20Poly1305(bundle_fmt.payload_key(data_key, salt))
    parts = chunks or [
        plain[i : i + stream.CHUNK_SIZE] for i in range(0, max(len(plain), 1), stream.CHUNK_SIZE)
    ]
    n = len(parts)
    nonces = nonces or [stream.nonce(i, i == n - 1) for i in range(n)]
    body = b"".join(aead.encrypt(nonce, part, None) for nonce, part in zip(nonces, parts, strict=True))
    return line + bundle_fmt.header_mac(data_key, line) + body


def sign_sidecar(fx: Fixtures, lines: list[bytes], seed: str, *, dep=None, finish=True) -> bytes:
    out = io.BytesIO()
    signer = SidecarSigner.__new__(SidecarSigner)
    signer._init(fx.device, deployment=dep or fx.dock, out=out, rng=Drbg(seed), now=NOW)
    for line in lines:
        signer.add_line(line)
    if finish:
        signer.finish()
    return out.getvalue()


SIDECAR = [
    b'{"type":"header","fps":25,"keypoints":17}\n',
    *[f'{{"frame":{i},"people":[{{"id":1,"kp":[[{i},{2 * i},0.9]]}}]}}\n'.encode() for i in range(5)],
]


def vector(body: bytes, **fields: object) -> bytes:
    head = "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None)
    return head.encode() + b"\n" + body


def seal_stream(fx: Fixtures, records: list[bytes], seed: str) -> bytes:
    out = io.BytesIO()
    with SealedStreamWriter(
        out,
        deployment=fx.lobby,
        content="originals/h264",
        meta={"width": 64, "height": 48},
        rng=Drbg(seed),
        now=NOW,
    ) as writer:
        for record in records:
            writer.append(record)
    return out.getvalue()


def split_stream(data: bytes) -> tuple[bytes, list[bytes]]:
    """Header (line + MAC) and the length-prefixed records of a sealed stream, final record included."""
    at = data.index(b"\n") + 1 + 32
    head, records = data[:at], []
    while at < len(data):
        n = int.from_bytes(data[at : at + 4], "big")
        records.append(data[at : at + 4 + n])
        at += 4 + n
    return head, records


def stream_payload(records: list[bytes]) -> bytes:
    """What a vector's ``payload:`` hashes for a sealed stream: each record as 4-byte length || bytes."""
    return b"".join(len(r).to_bytes(4, "big") + r for r in records)
