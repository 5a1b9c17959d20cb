"""Generate the recanon_keys test vectors (tests/keys/vectors/<area>_<case>) from a fixed seed.

Run ``python tests/keys/make_vectors.py`` to rewrite them; ``test_keys_vectors.py`` checks that this
script still produces the checked-in bytes exactly, and that each vector gives its ``expect:``.

A vector file is a header of ``name: value`` lines, one empty line, then the file under test::

    expect: ok | invalid_format | wrong_file_type | unsupported_version | truncated |
            authentication_failed | wrong_key | wrong_passphrase | wrong_deployment | wrong_model
    kind: holder_key | device_key | holder_pub | deployment | bundle | sidecar | manifest
    comment: free text
    allow_unsigned: "yes" opens a bundle vector with unsafe_allow_unsigned=True (an old v1 bundle)
    passphrase: the passphrase to open a holder_key/device_key vector
    identity: a one-line holder key file (unprotected) that opens a bundle vector
    deployment: a one-line deployment file the vector is checked against
    model_name / model_version: what the opener asks for ("*": anything)
    payload: SHA-256 of the plaintext an ok bundle opens to
    released: SHA-256 of the plaintext the STREAM layer released (authenticated chunks) before the
              failure; open_sealed itself never returns any of it
    key_id: the key id an ok key file holds
    sidecar: base64 of the sidecar (JSON Lines) a sidecar vector's signature file is checked against
    first_bad_line / verified_lines: what the sidecar verifier reports
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from recanon_keys import deployments, identities, rewrapping, sealing
from recanon_keys._format import bundle as bundle_fmt
from recanon_keys._format import kdf, keyfile, stream
from recanon_keys._format.encoding import canonical
from recanon_keys.errors import UnsignedBundleWarning
from recanon_keys.manifest import FileDigest, build_run_manifest, sign_manifest
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


def build_vectors() -> dict[str, bytes]:
    fx = Fixtures()
    v: dict[str, bytes] = {}
    alice_id, bob_id, carol_id = (fx.identity_line(h) for h in (fx.alice, fx.bob, fx.carol))
    lobby, garage, dock = (d.to_bytes().decode().rstrip("\n") for d in (fx.lobby, fx.garage, fx.dock))

    # --- private and public key files -------------------------------------------------------------
    def holder_file(key, passphrase, seed):
        return key._to_bytes(
            passphrase=passphrase,
            unsafe_no_passphrase=passphrase is None,
            kdf_params=WEAK_KDF,
            unsafe_weak_kdf=True,
            rng=Drbg(seed),
        )

    alice_pw = holder_file(fx.alice, PASSPHRASE, "holder_key_ok")
    alice_none = holder_file(fx.alice, None, "holder_key_unprotected")
    device_pw = holder_file(fx.device, PASSPHRASE, "device_key_ok")
    k = dict(kind="holder_key")
    v["holder_key_ok"] = vector(
        alice_pw,
        expect="ok",
        **k,
        passphrase=PASSPHRASE,
        key_id=fx.alice.key_id,
        comment="Argon2id-protected holder key (weak test parameters)",
    )
    v["holder_key_unprotected_ok"] = vector(
        alice_none, expect="ok", **k, key_id=fx.alice.key_id, comment="kdf none: no passphrase"
    )
    v["holder_key_wrong_passphrase"] = vector(
        alice_pw, expect="wrong_passphrase", **k, passphrase="Correct horse"
    )
    v["holder_key_no_passphrase"] = vector(
        alice_pw, expect="wrong_passphrase", **k, comment="protected file opened without a passphrase"
    )
    v["holder_key_altered_label"] = vector(
        redoc(alice_pw, lambda o: o.update(label="mallory")),
        expect="wrong_passphrase",
        **k,
        passphrase=PASSPHRASE,
        comment="label is associated data: any change fails like a wrong passphrase",
    )
    v["holder_key_unprotected_altered"] = vector(
        redoc(alice_none, lambda o: o.update(label="mallory")), expect="authentication_failed", **k
    )
    v["holder_key_bad_key_id"] = vector(
        redoc(alice_none, lambda o: o.update(key_id=fx.bob.key_id)), expect="invalid_format", **k
    )
    v["holder_key_unsupported_version"] = vector(
        redoc(alice_none, lambda o: o.update(format="recanon-holder-key/v2")),
        expect="unsupported_version",
        **k,
    )
    v["holder_key_wrong_type"] = vector(
        device_pw,
        expect="wrong_file_type",
        **k,
        passphrase=PASSPHRASE,
        comment="a device key where a holder key is expected",
    )
    v["holder_key_noncanonical"] = vector(
        alice_none.replace(b'","', b'", "', 1), expect="invalid_format", **k
    )
    v["holder_key_truncated"] = vector(alice_none[:-1], expect="truncated", **k)
    v["holder_key_kdf_too_costly"] = vector(
        redoc(alice_pw, lambda o: o["kdf"].update(memlimit=4 * 2**30)),
        expect="invalid_format",
        **k,
        passphrase=PASSPHRASE,
        comment="readers refuse Argon2id memory above 1 GiB",
    )
    v["device_key_ok"] = vector(
        device_pw, expect="ok", kind="device_key", passphrase=PASSPHRASE, key_id=fx.device.key_id
    )
    pub = fx.alice.public.to_bytes()
    v["holder_pub_ok"] = vector(pub, expect="ok", kind="holder_pub", key_id=fx.alice.key_id)
    zero = base64.b64encode(bytes(32)).decode()

    def low_order(o: dict) -> None:
        o.update(public_key=zero, key_id=keyfile.holder_key_id(bytes(32)))
        o.update(checksum=keyfile.public_checksum(o))

    v["holder_pub_low_order"] = vector(
        redoc(pub, low_order),
        expect="invalid_format",
        kind="holder_pub",
        comment="the all-zero X25519 point",
    )
    v["holder_pub_v1_ok"] = vector(
        replace(fx.alice.public, audit_key=None).to_bytes(),
        expect="ok",
        kind="holder_pub",
        key_id=fx.alice.key_id,
        comment="an old recanon-holder-pub/v1 file: no audit key",
    )

    v["holder_pub_audit_key_damaged"] = vector(
        redoc(pub, lambda o: o.update(audit_key=base64.b64encode(fx.bob.public.audit_key).decode())),
        expect="invalid_format",
        kind="holder_pub",
        comment="audit key changed, checksum kept",
    )

    # --- deployments -------------------------------------------------------------------------------
    d = dict(kind="deployment")
    dep_bytes = fx.lobby.to_bytes()
    v["deployment_ok"] = vector(dep_bytes, expect="ok", **d)
    v["deployment_revised_ok"] = vector(fx.lobby2.to_bytes(), expect="ok", **d, comment="revision 2")
    sig = base64.b64decode(json.loads(dep_bytes)["sig"])
    v["deployment_bad_signature"] = vector(
        redoc(dep_bytes, lambda o: o.update(sig=base64.b64encode(flip(sig, 10)).decode())),
        expect="authentication_failed",
        **d,
    )
    v["deployment_altered_holder"] = vector(
        redoc(dep_bytes, lambda o: o["holders"][1].update(label="mallory")),
        expect="authentication_failed",
        **d,
    )
    v["deployment_unsupported_version"] = vector(
        redoc(dep_bytes, lambda o: o.update(format="recanon-deployment/v9")),
        expect="unsupported_version",
        **d,
    )
    v["deployment_wrong_type"] = vector(pub, expect="wrong_file_type", **d)
    v["deployment_duplicate_field"] = vector(
        dep_bytes.replace(b'"name":"lobby"', b'"name":"lobby","name":"lobby"'), expect="invalid_format", **d
    )
    v["deployment_v1_ok"] = vector(
        fx.lobby_v1.to_bytes(), expect="ok", **d, comment="an old recanon-deployment/v1 file: no audit keys"
    )
    v["deployment_audit_key_swapped"] = vector(
        redoc(dep_bytes, lambda o: o["holders"][0].update(audit_key=o["holders"][1]["audit_key"])),
        expect="authentication_failed",
        **d,
        comment="alice's audit key replaced by bob's, signature kept",
    )
    v["deployment_audit_key_missing"] = vector(
        redoc(dep_bytes, lambda o: o["holders"][0].pop("audit_key")),
        expect="invalid_format",
        **d,
        comment="a v2 holder entry without its audit key",
    )

    # --- bundles -----------------------------------------------------------------------------------
    b = dict(kind="bundle", identity=alice_id, deployment=lobby, model_name="gy", model_version="1.0")
    small = payload(1000, "small")
    two = payload(stream.CHUNK_SIZE + 1, "two-chunks")
    ok = seal(fx, small, "bundle_ok")
    ok_two = seal(fx, two, "bundle_two_chunks")
    header_len = ok.index(b"\n") + 1
    v["bundle_ok"] = vector(ok, expect="ok", **b, payload=sha(small))
    v["bundle_ok_second_recipient"] = vector(ok, expect="ok", **{**b, "identity": bob_id}, payload=sha(small))
    v["bundle_empty_ok"] = vector(seal(fx, b"", "bundle_empty"), expect="ok", **b, payload=sha(b""))
    v["bundle_two_chunks_ok"] = vector(ok_two, expect="ok", **b, payload=sha(two))
    exact = payload(stream.CHUNK_SIZE, "exact")
    v["bundle_exact_chunk_ok"] = vector(
        seal(fx, exact, "bundle_exact"),
        expect="ok",
        **b,
        payload=sha(exact),
        comment="one full chunk, which is the final chunk",
    )
    v["bundle_wrong_key"] = vector(ok, expect="wrong_key", **{**b, "identity": carol_id})
    v["bundle_wrong_deployment"] = vector(ok, expect="wrong_deployment", **{**b, "deployment": garage})
    v["bundle_wrong_model"] = vector(ok, expect="wrong_model", **{**b, "model_name": "gx"})
    v["bundle_wrong_model_version"] = vector(ok, expect="wrong_model", **{**b, "model_version": "2.0"})
    v["bundle_header_mac_bad"] = vector(flip(ok, header_len + 5), expect="authentication_failed", **b)
    hdr = json.loads(ok[:header_len])
    v["bundle_header_altered"] = vector(
        redoc(ok[:header_len], lambda o: o["model"].update(version="1.1")) + ok[header_len:],
        expect="authentication_failed",
        **{**b, "model_version": "*"},
        comment="header changed, MAC kept",
    )
    v["bundle_header_noncanonical"] = vector(
        ok[:header_len].replace(b'{"', b'{ "', 1) + ok[header_len:], expect="invalid_format", **b
    )
    wrapped = base64.b64decode(hdr["recipients"][0]["wrapped_key"])
    v["bundle_wrapped_key_bad"] = vector(
        redoc(
            ok[:header_len],
            lambda o: o["recipients"][0].update(wrapped_key=base64.b64encode(flip(wrapped, 3)).decode()),
        )
        + ok[header_len:],
        expect="authentication_failed",
        **b,
    )
    v["bundle_payload_flip"] = vector(
        flip(ok, len(ok) - 20), expect="authentication_failed", **b, released=sha(b"")
    )
    v["bundle_hash_mismatch"] = vector(
        craft_bundle(fx, small, "hash", sha256=sha(b"something else")),
        expect="authentication_failed",
        **b,
        released=sha(small),
        comment="MAC and tags valid, header SHA-256 wrong: nothing is returned",
    )
    v["bundle_unsupported_version"] = vector(
        redoc(ok[:header_len], lambda o: o.update(format="recanon-bundle/v3")) + ok[header_len:],
        expect="unsupported_version",
        **b,
    )
    # Sender authentication: only the deployment's device key signs bundles holders accept
    unsigned = seal(fx, small, "bundle_unsigned", signer=None)
    v["bundle_unsigned_refused"] = vector(
        unsigned,
        expect="authentication_failed",
        **b,
        comment="a v1 bundle (no signature): anyone with the deployment file can make one",
    )
    v["bundle_unsigned_allowed_ok"] = vector(
        unsigned,
        expect="ok",
        **b,
        allow_unsigned="yes",
        payload=sha(small),
        comment="the same, opened with unsafe_allow_unsigned=True (an old bundle, with a warning)",
    )
    v["bundle_foreign_signer"] = vector(
        seal(fx, small, "bundle_foreign", signer=fx.other_device),
        expect="authentication_failed",
        **b,
        comment="sealed to lobby's holders, signed by device cam-99 (not lobby's)",
    )
    sig = base64.b64decode(hdr["sig"])
    v["bundle_signature_bad"] = vector(
        redoc(ok[:header_len], lambda o: o.update(sig=base64.b64encode(flip(sig, 7)).decode()))
        + ok[header_len:],
        expect="authentication_failed",
        **b,
        comment="one signature bit flipped (the MAC is over the altered line too: refused before it)",
    )
    forged = seal(fx, small, "bundle_forged", signer=fx.other_device)
    v["bundle_signer_claimed"] = vector(
        redoc(forged[: forged.index(b"\n") + 1], lambda o: o.update(signer=fx.device.key_id))
        + forged[forged.index(b"\n") + 1 :],
        expect="authentication_failed",
        **b,
        comment="signed by cam-99 but naming lobby's device as signer",
    )
    v["bundle_signature_stripped"] = vector(
        redoc(ok[:header_len], lambda o: (o.pop("sig"), o.pop("signer"))) + ok[header_len:],
        expect="invalid_format",
        **b,
        comment="signer and sig removed from a v2 header",
    )
    v["bundle_downgraded"] = vector(
        redoc(
            ok[:header_len], lambda o: (o.pop("sig"), o.pop("signer"), o.update(format="recanon-bundle/v1"))
        )
        + ok[header_len:],
        expect="authentication_failed",
        **b,
        comment="a v2 bundle relabelled v1 without its signature: refused as unsigned",
    )
    v["bundle_downgraded_allowed"] = vector(
        redoc(
            ok[:header_len], lambda o: (o.pop("sig"), o.pop("signer"), o.update(format="recanon-bundle/v1"))
        )
        + ok[header_len:],
        expect="authentication_failed",
        **b,
        allow_unsigned="yes",
        comment="the same with unsafe_allow_unsigned=True: the header MAC still fails",
    )
    v["bundle_wrong_type"] = vector(dep_bytes, expect="wrong_file_type", **b)
    v["bundle_not_recanon"] = vector(b"\x00\x00\x00\x18ftypmp42" + bytes(16), expect="invalid_format", **b)
    v["bundle_empty_file"] = vector(b"", expect="truncated", **b)
    v["bundle_truncated_header"] = vector(ok[: header_len // 2], expect="truncated", **b)
    v["bundle_truncated_mac"] = vector(ok[: header_len + 10], expect="truncated", **b)
    v["bundle_too_many_recipients"] = vector(
        redoc(ok[:header_len], lambda o: o.update(recipients=o["recipients"] * 17)) + ok[header_len:],
        expect="invalid_format",
        **b,
    )

    # STREAM faults, on a two-chunk payload (first chunk 64 KiB, final chunk 1 byte)
    first_end = len(ok_two) - (1 + stream.TAG_SIZE)
    v["stream_truncated_final"] = vector(
        ok_two[:first_end],
        expect="truncated",
        **b,
        released=sha(two[:65536]),
        comment="cut at the chunk boundary: no final chunk",
    )
    v["stream_truncated_mid"] = vector(ok_two[: first_end - 100], expect="truncated", **b, released=sha(b""))
    v["stream_truncated_payload_start"] = vector(
        ok_two[: ok_two.index(b"\n") + 1 + 32], expect="truncated", **b, released=sha(b"")
    )
    v["stream_trailing_data"] = vector(ok_two + b"\x00", expect="invalid_format", **b, released=sha(two))
    n1, n2 = stream.nonce(0, False), stream.nonce(1, True)
    parts = [two[:65536], two[65536:]]
    v["stream_last_flag_missing"] = vector(
        craft_bundle(fx, two, "noflag", nonces=[n1, stream.nonce(1, False)]),
        expect="authentication_failed",
        **b,
        released=sha(two[:65536]),
        comment="final chunk encrypted without the last-flag",
    )
    v["stream_early_final"] = vector(
        craft_bundle(fx, two, "early", nonces=[stream.nonce(0, True), n2]),
        expect="authentication_failed",
        **b,
        released=sha(b""),
        comment="first chunk flagged as last",
    )
    v["stream_chunks_swapped"] = vector(
        craft_bundle(fx, two, "swap", nonces=[n2, n1], chunks=parts[::-1]),
        expect="authentication_failed",
        **b,
        released=sha(b""),
    )

    # Re-wrap and rotation
    rewrapped = io.BytesIO()
    rewrapping._rewrap_stream(
        io.BytesIO(ok),
        rewrapped,
        fx.alice,
        deployment=fx.lobby2,
        device_key=fx.device,
        rng=Drbg("rewrap"),
        what="x",
    )
    lobby2 = fx.lobby2.to_bytes().decode().rstrip("\n")
    v["bundle_rewrapped_ok"] = vector(
        rewrapped.getvalue(),
        expect="ok",
        **{**b, "identity": carol_id, "deployment": lobby2},
        payload=sha(small),
        comment="re-wrapped by alice to revision 2 (alice, carol)",
    )
    v["bundle_rewrapped_removed"] = vector(
        rewrapped.getvalue(),
        expect="wrong_key",
        **{**b, "identity": bob_id, "deployment": lobby2},
        comment="bob was removed",
    )
    rotated = io.BytesIO()
    rewrapping._rotate_stream(
        io.BytesIO(ok_two),
        rotated,
        fx.bob,
        deployment=fx.lobby2,
        device_key=fx.device,
        rng=Drbg("rotate"),
        now=NOW,
        what="x",
    )
    v["bundle_rotated_ok"] = vector(
        rotated.getvalue(),
        expect="ok",
        **{**b, "deployment": lobby2},
        payload=sha(two),
        comment="fresh data key, wrapped to alice and carol",
    )
    resigned = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsignedBundleWarning)  # re-signing an old bundle, as meant
        rewrapping._rewrap_stream(
            io.BytesIO(unsigned),
            resigned,
            fx.alice,
            deployment=fx.lobby,
            device_key=fx.device,
            rng=Drbg("resign"),
            what="x",
            unsafe_allow_unsigned=True,
        )
    v["bundle_unsigned_rewrapped_ok"] = vector(
        resigned.getvalue(),
        expect="ok",
        **b,
        payload=sha(small),
        comment="an unsigned v1 bundle re-wrapped by alice with the device key: now signed (v2)",
    )

    # --- sidecars ----------------------------------------------------------------------------------
    side = b"".join(SIDECAR)
    sig_ok = sign_sidecar(fx, SIDECAR, "sidecar_ok")
    s = dict(kind="sidecar", deployment=dock)

    def side_b64(lines: list[bytes]) -> str:
        return base64.b64encode(b"".join(lines)).decode()

    v["sidecar_ok"] = vector(
        sig_ok, expect="ok", **s, sidecar=side_b64(SIDECAR), comment="6 lines, a checkpoint every 2 lines"
    )
    altered = [*SIDECAR[:2], SIDECAR[2].replace(b'"id":1', b'"id":7'), *SIDECAR[3:]]
    v["sidecar_line_altered"] = vector(
        sig_ok, expect="authentication_failed", **s, sidecar=side_b64(altered), first_bad_line=3
    )
    v["sidecar_line_removed"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=side_b64([SIDECAR[0], *SIDECAR[2:]]),
        first_bad_line=2,
    )
    v["sidecar_line_inserted"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=side_b64([*SIDECAR[:4], SIDECAR[1], *SIDECAR[4:]]),
        first_bad_line=5,
    )
    v["sidecar_line_appended"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=side_b64([*SIDECAR, SIDECAR[1]]),
        first_bad_line=7,
    )
    v["sidecar_last_line_cut"] = vector(
        sig_ok,
        expect="authentication_failed",
        **s,
        sidecar=base64.b64encode(side[:-1]).decode(),
        first_bad_line=6,
    )
    v["sidecar_unfinished"] = vector(
        sign_sidecar(fx, SIDECAR, "sidecar_ok", finish=False),
        expect="truncated",
        **s,
        sidecar=side_b64(SIDECAR),
        verified_lines=6,
        comment="the run crashed before finish(): checkpoints verify lines 1-6",
    )
    sig_lines = sig_ok.splitlines(keepends=True)
    forged = json.loads(sig_lines[2])
    forged["digests"] = base64.b64encode(flip(base64.b64decode(forged["digests"]), 0)).decode()
    v["sidecar_record_forged"] = vector(
        b"".join([*sig_lines[:2], canonical(forged) + b"\n", *sig_lines[3:]]),
        expect="authentication_failed",
        **s,
        sidecar=side_b64(SIDECAR),
        comment="record 2 altered without the device key",
    )
    v["sidecar_record_dropped"] = vector(
        b"".join([*sig_lines[:2], *sig_lines[3:]]), expect="invalid_format", **s, sidecar=side_b64(SIDECAR)
    )
    v["sidecar_other_deployment"] = vector(
        sig_ok, expect="wrong_deployment", kind="sidecar", deployment=lobby, sidecar=side_b64(SIDECAR)
    )
    v["sidecar_unsupported_version"] = vector(
        redoc(sig_lines[0], lambda o: o.update(format="recanon-sidecar-sig/v3")) + b"".join(sig_lines[1:]),
        expect="unsupported_version",
        **s,
        sidecar=side_b64(SIDECAR),
    )

    # --- manifests ---------------------------------------------------------------------------------
    signer_out = io.BytesIO()
    signer = SidecarSigner.__new__(SidecarSigner)
    signer._init(fx.device, deployment=fx.dock, out=signer_out, rng=Drbg("sidecar_ok"), now=NOW)
    for line in SIDECAR:
        signer.add_line(line)
    summary = signer.finish()
    manifest = build_run_manifest(
        deployment=fx.dock,
        device_key=fx.device,
        tool_version="0.1.0",
        models={"gx": sha(b"gx"), "gy": sha(two)},
        input=FileDigest("in.mp4", sha(b"input video"), 11),
        output=FileDigest("out.mp4", sha(b"output"), 6),
        sidecar=summary,
        sidecar_name="out.pose.jsonl",
        started=NOW,
        finished=NOW,
    )
    signed = sign_manifest(manifest, fx.device)
    m = dict(kind="manifest", deployment=dock)
    v["manifest_ok"] = vector(signed, expect="ok", **m)
    v["manifest_altered_output"] = vector(
        redoc(signed, lambda o: o["output"].update(sha256=sha(b"other"))), expect="authentication_failed", **m
    )
    v["manifest_wrong_deployment"] = vector(
        signed, expect="wrong_deployment", kind="manifest", deployment=lobby
    )
    v["manifest_wrong_type"] = vector(sig_ok, expect="wrong_file_type", **m)

    # --- sealed streams (recanon-stream/v1) ----------------------------------------------------------
    records = [payload(100, "record-0"), payload(1, "record-1"), payload(3000, "record-2")]
    ss_ok = seal_stream(fx, records, "sealed_stream_ok")
    ss_head_len = ss_ok.index(b"\n") + 1 + 32
    ss_head, ss_records = split_stream(ss_ok)
    r = dict(kind="sealed_stream", identity=alice_id, deployment=lobby, content="originals/h264")
    ok_payload = sha(stream_payload(records))
    v["sealed_stream_ok"] = vector(ss_ok, expect="ok", **r, payload=ok_payload)
    v["sealed_stream_ok_second_recipient"] = vector(
        ss_ok, expect="ok", **{**r, "identity": bob_id}, payload=ok_payload
    )
    v["sealed_stream_empty_ok"] = vector(
        seal_stream(fx, [], "sealed_stream_empty"), expect="ok", **r, payload=sha(b"")
    )
    v["sealed_stream_any_content_ok"] = vector(
        ss_ok, expect="ok", **{**r, "content": "*"}, payload=ok_payload
    )
    v["sealed_stream_wrong_key"] = vector(ss_ok, expect="wrong_key", **{**r, "identity": carol_id})
    v["sealed_stream_wrong_deployment"] = vector(
        ss_ok, expect="wrong_deployment", **{**r, "deployment": garage}
    )
    v["sealed_stream_wrong_content"] = vector(
        ss_ok, expect="wrong_model", **{**r, "content": "originals/av1"}
    )
    v["sealed_stream_header_altered"] = vector(
        redoc(ss_ok[: ss_ok.index(b"\n") + 1], lambda o: o["meta"].update(width=1))
        + ss_ok[ss_ok.index(b"\n") + 1 :],
        expect="authentication_failed",
        **r,
    )
    v["sealed_stream_header_mac_bad"] = vector(
        flip(ss_ok, ss_head_len - 3), expect="authentication_failed", **r
    )
    v["sealed_stream_record_flip"] = vector(
        flip(ss_ok, ss_head_len + 30), expect="authentication_failed", **r
    )
    v["sealed_stream_records_swapped"] = vector(
        ss_head + ss_records[1] + ss_records[0] + b"".join(ss_records[2:]),
        expect="authentication_failed",
        **r,
    )
    v["sealed_stream_record_dropped"] = vector(
        ss_head + ss_records[0] + b"".join(ss_records[2:]), expect="authentication_failed", **r
    )
    v["sealed_stream_final_missing"] = vector(ss_head + b"".join(ss_records[:-1]), expect="truncated", **r)
    v["sealed_stream_truncated_record"] = vector(ss_ok[: ss_head_len + 50], expect="truncated", **r)
    v["sealed_stream_truncated_length"] = vector(ss_ok[: ss_head_len + 2], expect="truncated", **r)
    v["sealed_stream_trailing_data"] = vector(ss_ok + b"\x00", expect="invalid_format", **r)
    v["sealed_stream_length_too_large"] = vector(
        ss_head + (64 * 1024 * 1024 + 17).to_bytes(4, "big") + ss_records[0][4:],
        expect="authentication_failed",
        **r,
    )
    v["sealed_stream_unsupported_version"] = vector(
        redoc(ss_ok[: ss_ok.index(b"\n") + 1], lambda o: o.update(format="recanon-stream/v2")),
        expect="unsupported_version",
        **r,
    )
    v["sealed_stream_wrong_type"] = vector(ok, expect="wrong_file_type", **r)
    return v


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


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    built = build_vectors()
    for old in VECTORS.iterdir():
        if old.name not in built:
            old.unlink()
    for name, data in sorted(built.items()):
        (VECTORS / name).write_bytes(data)
    print(f"wrote {len(built)} vectors to {VECTORS}", file=sys.stderr)


if __name__ == "__main__":
    main()
