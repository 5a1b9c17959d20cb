"""Property-based fuzzing (hypothesis) of every parser: random bytes, mutated valid files and
well-formed JSON with random fields. The only exceptions allowed are the documented ones
(``RecanonKeysError`` and subclasses); every case must finish within the deadline (no hang); and an
authenticated input (key file, deployment, bundle, sealed stream, sidecar and its signature,
manifest) that was changed must never open: only a byte-identical genuine file may."""

from __future__ import annotations

import base64
import io
import json
import os
from collections import Counter
from datetime import timedelta

import make_vectors
import pytest
import recanon_keys as rk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CASES: Counter[str] = Counter()
#: (parser, outcome) -> count; outcome is the exception type's name or "accepted".
OUTCOMES: Counter[tuple[str, str]] = Counter()
#: Examples per (parser, strategy); RECANON_FUZZ_EXAMPLES=2000 for a longer run.
EXAMPLES = int(os.environ.get("RECANON_FUZZ_EXAMPLES", "120"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(milliseconds=1000),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
FX = make_vectors.Fixtures()
SIDECAR = b"".join(make_vectors.SIDECAR)
SIG = make_vectors.sign_sidecar(FX, make_vectors.SIDECAR, "fuzz")
WEAK = {"kdf_params": make_vectors.WEAK_KDF, "unsafe_weak_kdf": True}


def _manifest() -> bytes:
    out = io.BytesIO()
    signer = rk.SidecarSigner(FX.device, deployment=FX.dock, out=out)
    signer.add_line(b"{}\n")
    m = rk.build_run_manifest(
        deployment=FX.dock,
        device_key=FX.device,
        tool_version="1",
        models={"gy": "00" * 32},
        input=rk.FileDigest("i.mp4", "22" * 32, 5),
        output=rk.FileDigest("o.mp4", "11" * 32, 1),
        sidecar=signer.finish(),
        sidecar_name="o.pose.jsonl",
        started=make_vectors.NOW,
        finished=make_vectors.NOW,
    )
    return rk.sign_manifest(m, FX.device)


def _stream() -> bytes:
    buf = io.BytesIO()
    with rk.SealedStreamWriter(
        buf, deployment=FX.lobby, content="originals/h264", meta={"w": 8}, rng=make_vectors.Drbg("fuzz")
    ) as writer:
        writer.append(b"fuzz me" * 10)
        writer.append(b"and me")
    return buf.getvalue()


PARSERS = {
    "holder_key": (
        FX.alice.to_bytes(passphrase="pw", **WEAK),
        lambda d: rk.load_holder_key(d, passphrase="pw"),
    ),
    "holder_key_unprotected": (
        FX.alice.to_bytes(passphrase=None, unsafe_no_passphrase=True),
        lambda d: rk.load_holder_key(d, passphrase=None),
    ),
    "device_key": (
        FX.device.to_bytes(passphrase=None, unsafe_no_passphrase=True),
        lambda d: rk.load_device_key(d, passphrase=None),
    ),
    "holder_pub": (FX.alice.public.to_bytes(), rk.HolderPublicKey.from_bytes),
    "deployment": (FX.lobby.to_bytes(), rk.load_deployment),
    "bundle": (
        make_vectors.seal(FX, b"fuzz me" * 30, "fuzz"),
        lambda d: rk.open_sealed(d, FX.alice, deployment=FX.lobby, model_name="gy", model_version=None),
    ),
    "bundle_info": (make_vectors.seal(FX, b"x", "fuzz-info"), rk.read_bundle_info),
    "sidecar_sig": (SIG, lambda d: rk.verify_sidecar(SIDECAR, d, deployment=FX.dock)),
    "sidecar_lines": (SIDECAR, lambda d: rk.verify_sidecar(d, SIG, deployment=FX.dock)),
    "manifest": (_manifest(), lambda d: rk.verify_manifest(d, deployment=FX.dock)),
    "stream": (
        _stream(),
        lambda d: rk.open_stream(d, FX.alice, deployment=FX.lobby, content=None).read_all(),
    ),
    "stream_info": (_stream(), rk.read_stream_info),
    "inspect_stream": (_stream(), rk.inspect_bytes),
    "inspect": (FX.lobby.to_bytes(), rk.inspect_bytes),
    "inspect_bundle": (make_vectors.seal(FX, b"y", "fuzz-inspect"), rk.inspect_bytes),
    "inspect_sidecar_sig": (SIG, rk.inspect_bytes),
    "inspect_holder_key": (FX.alice.to_bytes(passphrase="pw", **WEAK), rk.inspect_bytes),
}


#: Parsers that authenticate what they read: a changed input that opens is a forgery that worked.
#: (holder_pub only has a checksum against accidents, which no random change passes either.)
AUTHENTICATED = {
    "holder_key",
    "holder_key_unprotected",
    "device_key",
    "holder_pub",
    "deployment",
    "bundle",
    "sidecar_sig",
    "sidecar_lines",
    "manifest",
    "stream",
}


#: The genuine files the fuzz starts from (and splices from): opening one of these unchanged is fine,
#: e.g. a splice that replaces a whole bundle by the other genuine bundle of the same deployment.
GENUINE = {base for base, _parse in PARSERS.values()}


def run(name: str, data: bytes) -> None:
    CASES[name] += 1
    _base, parse = PARSERS[name]
    try:
        parse(data)
    except rk.RecanonKeysError as exc:
        assert exc.message and isinstance(exc.message, str)
        OUTCOMES[name, type(exc).__name__] += 1
        return
    OUTCOMES[name, "accepted"] += 1
    if name in AUTHENTICATED and data not in GENUINE:
        pytest.fail(
            f"{name}: an input that differs from the original opened ({len(data)} bytes: {data[:80]!r}…)"
        )


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "duplicate", "splice"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from(b'\x00\n{}[]":,\\ 0aZ=+/\xff'))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[pos:]
        elif op == "duplicate":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 64))]
        elif op == "splice":
            other = draw(st.sampled_from([p[0] for p in PARSERS.values()]))
            data[pos:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_valid_input_parses(name: str) -> None:
    base, parse = PARSERS[name]
    parse(base)


@pytest.mark.parametrize("name", sorted(PARSERS))
@SETTINGS
@given(data=st.data())
def test_random_bytes(name: str, data: st.DataObject) -> None:
    run(name, data.draw(st.one_of(st.binary(max_size=2048), st.binary(max_size=64).map(lambda b: b"{" + b))))


@pytest.mark.parametrize("name", sorted(PARSERS))
@SETTINGS
@given(data=st.data())
def test_mutated_valid_files(name: str, data: st.DataObject) -> None:
    run(name, data.draw(mutated(PARSERS[name][0])))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "",
            "AAAA",
            "hk-aaaaaaaaaaaaaaaa",
            "dp-aaaaaaaaaaaaaaaa",
            "2025-01-31T12:00:00Z",
            "none",
            "argon2id",
            "checkpoint",
            "final",
            "start",
            "0" * 64,
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
FIELDS = [
    "key_id",
    "label",
    "created",
    "public_key",
    "kdf",
    "sealed_secret",
    "deployment_id",
    "name",
    "revision",
    "device",
    "holders",
    "policy",
    "sig",
    "model",
    "plaintext",
    "payload_salt",
    "recipients",
    "type",
    "run_id",
    "checkpoint_every",
    "device_key_id",
    "tool",
    "models",
    "input",
    "output",
    "sidecar",
    "started",
    "finished",
    "checksum",
    "seq",
    "lines",
    "chain",
    "digests",
]
KINDS = {
    "holder_key": "holder-key",
    "holder_key_unprotected": "holder-key",
    "device_key": "device-key",
    "holder_pub": "holder-pub",
    "deployment": "deployment",
    "bundle": "bundle",
    "bundle_info": "bundle",
    "sidecar_sig": "sidecar-sig",
    "sidecar_lines": "sidecar-sig",
    "manifest": "manifest",
    "inspect": "deployment",
    "inspect_bundle": "bundle",
    "inspect_sidecar_sig": "sidecar-sig",
    "inspect_holder_key": "holder-key",
    "stream": "stream",
    "stream_info": "stream",
    "inspect_stream": "stream",
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@SETTINGS
@given(data=st.data())
def test_wellformed_json_with_random_fields(name: str, data: st.DataObject) -> None:
    """Canonical JSON with the right "format", real field names, random values: reaches the field checks."""
    base = json.loads(PARSERS[name][0].split(b"\n")[0])
    doc = {k: v for k, v in base.items() if data.draw(st.booleans())}
    doc["format"] = data.draw(st.sampled_from([f"recanon-{KINDS[name]}/v1", f"recanon-{KINDS[name]}/v2"]))
    for key in data.draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        doc[key] = data.draw(JSON)
    line = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    multi = (
        "bundle",
        "bundle_info",
        "sidecar_sig",
        "inspect_bundle",
        "inspect_sidecar_sig",
        "stream",
        "stream_info",
        "inspect_stream",
    )
    rest = PARSERS[name][0].split(b"\n", 1)[1] if name in multi else b""
    run(name, line + rest)


def test_base64_fields_are_canonical() -> None:
    """A non-canonical base64 spelling of the same bytes is rejected (else a flip could go unnoticed)."""
    doc = json.loads(FX.lobby.to_bytes())
    sig = base64.b64decode(doc["sig"])
    assert base64.b64encode(sig).decode().endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(doc["sig"][-3]) ^ 1]  # flips one of the 4 unused low bits
    doc["sig"] = doc["sig"][:-3] + last + "=="
    assert base64.b64decode(doc["sig"]) == sig
    with pytest.raises(rk.InvalidFormat, match="canonical base64"):
        rk.load_deployment(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n")


def test_every_parser_was_fuzzed_deep_enough() -> None:
    """Runs last in this module: every parser got its cases, and mutations of authenticated binary files
    reached the cryptographic checks (not only the syntax checks); prints the counts for the report."""
    if not CASES:
        pytest.skip("run together with the fuzz tests of this module")
    print(f"\nhypothesis cases run: {sum(CASES.values())} ({dict(sorted(CASES.items()))})")
    print(f"outcomes: {dict(sorted(OUTCOMES.items()))}")
    short = {name: CASES[name] for name in PARSERS if CASES[name] < 3 * EXAMPLES}
    assert not short, f"parsers fuzzed with fewer than {3 * EXAMPLES} cases: {short}"
    for name in ("bundle", "stream", "sidecar_sig", "sidecar_lines", "deployment", "manifest"):
        assert OUTCOMES[name, "AuthenticationFailed"] > 0, (
            f"no mutation of {name} reached its MAC or signature"
        )
    for name in AUTHENTICATED:  # the byte-identical original may open, nothing else
        assert OUTCOMES[name, "accepted"] <= CASES[name] // 10, f"{name}: suspiciously many accepted inputs"
