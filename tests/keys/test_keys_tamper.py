"""Exhaustive tamper and truncation tests: every byte position flipped, every boundary cut, 100 % detected."""

from __future__ import annotations

import io

import make_vectors
import pytest
import recanon_keys as rk
from recanon_keys._format.stream import CHUNK_SIZE, TAG_SIZE

MASKS = (0x01, 0x80, 0xFF)  # lowest bit, highest bit, every bit


def flipped(data: bytes, index: int, mask: int) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


@pytest.fixture(scope="module")
def small_bundle(fx) -> bytes:
    return make_vectors.seal(fx, b"GY weights: small but sealed to two holders", "tamper")


def test_every_byte_of_a_small_bundle_is_authenticated(fx, small_bundle: bytes) -> None:
    plain = rk.open_sealed(small_bundle, fx.alice, deployment=fx.lobby, model_name="gy", model_version="1.0")
    checked, missed = 0, []
    for i in range(len(small_bundle)):
        for mask in MASKS:
            bad = flipped(small_bundle, i, mask)
            for holder in (fx.alice, fx.bob):
                checked += 1
                try:
                    rk.open_sealed(bad, holder, deployment=fx.lobby, model_name="gy", model_version="1.0")
                except rk.RecanonKeysError:
                    continue
                missed.append((i, mask, holder.label))
    assert missed == []
    assert len(small_bundle) > 700 and plain.startswith(b"GY weights")
    print(
        f"bundle tamper: {len(small_bundle)} positions x {len(MASKS)} masks x 2 holders = {checked} detected"
    )


def test_rewrap_and_rotate_also_refuse_every_flipped_byte(fx, small_bundle: bytes) -> None:
    for i in range(len(small_bundle)):
        bad = flipped(small_bundle, i, 0x01)
        for op in (rk.rewrap, rk.rotate):
            with pytest.raises(rk.RecanonKeysError):
                op(bad, fx.alice, deployment=fx.lobby, device_key=fx.device)


def test_truncation_at_every_chunk_boundary_and_inside_the_header(fx) -> None:
    plain = make_vectors.payload(4 * CHUNK_SIZE, "truncation")  # 4 full chunks, the last one final
    bundle = make_vectors.seal(fx, plain, "truncation")
    start = bundle.index(b"\n") + 1 + 32
    boundaries = [start + k * (CHUNK_SIZE + TAG_SIZE) for k in range(4)]
    assert start + 4 * (CHUNK_SIZE + TAG_SIZE) == len(bundle)
    for cut in boundaries:
        with pytest.raises(rk.Truncated):
            rk.open_sealed(bundle[:cut], fx.alice, deployment=fx.lobby, model_name="gy", model_version="1.0")
    for cut in [b + d for b in boundaries[1:] for d in (-TAG_SIZE, -1, 1, TAG_SIZE)] + [len(bundle) - 1]:
        with pytest.raises(rk.Truncated):
            rk.open_sealed(bundle[:cut], fx.alice, deployment=fx.lobby, model_name="gy", model_version="1.0")
    for cut in range(start):  # every prefix of header and MAC
        with pytest.raises(rk.RecanonKeysError):
            rk.read_bundle_info(bundle[:cut]) if cut < start - 32 else rk.open_sealed(
                bundle[:cut], fx.alice, deployment=fx.lobby, model_name="gy", model_version="1.0"
            )
    with pytest.raises(rk.InvalidFormat):  # and the other direction: appended bytes
        rk.open_sealed(bundle + b"\x00", fx.alice, deployment=fx.lobby, model_name="gy", model_version="1.0")


SIDECAR = make_vectors.SIDECAR


@pytest.fixture(scope="module")
def signed_sidecar(fx) -> tuple[bytes, bytes]:
    return b"".join(SIDECAR), make_vectors.sign_sidecar(fx, SIDECAR, "tamper")


def test_every_byte_of_a_signed_sidecar_is_checked_and_the_line_is_named(fx, signed_sidecar) -> None:
    side, sig = signed_sidecar
    line_of = [n for n, line in enumerate(SIDECAR, 1) for _ in line]
    checked = 0
    for i in range(len(side)):
        for mask in MASKS:
            with pytest.raises(rk.AuthenticationFailed) as info:
                rk.verify_sidecar(flipped(side, i, mask), sig, deployment=fx.dock)
            assert info.value.first_bad_line == line_of[i], (i, mask)
            checked += 1
    assert checked == len(side) * len(MASKS)
    print(f"sidecar tamper: {len(side)} positions x {len(MASKS)} masks, first bad line right every time")


def test_every_byte_of_the_sidecar_signature_file_is_checked(fx, signed_sidecar) -> None:
    side, sig = signed_sidecar
    for i in range(len(sig)):
        for mask in MASKS:
            with pytest.raises(rk.RecanonKeysError):
                rk.verify_sidecar(side, flipped(sig, i, mask), deployment=fx.dock)


def test_sidecar_and_signature_cut_at_every_line(fx, signed_sidecar) -> None:
    side, sig = signed_sidecar
    ends = [sum(map(len, SIDECAR[:k])) for k in range(len(SIDECAR))]
    for k, cut in enumerate(ends):
        with pytest.raises(rk.AuthenticationFailed) as info:
            rk.verify_sidecar(side[:cut], sig, deployment=fx.dock)
        assert info.value.first_bad_line == k + 1
    records = sig.splitlines(keepends=True)
    for k in range(len(records)):
        with pytest.raises(rk.Truncated) as cut_info:
            rk.verify_sidecar(side, b"".join(records[:k]), deployment=fx.dock)
        expected = 0 if k <= 1 else min(2 * (k - 1), len(SIDECAR))
        assert cut_info.value.verified_lines == expected
    for cut in range(len(sig)):
        with pytest.raises(rk.RecanonKeysError):
            rk.verify_sidecar(side, sig[:cut], deployment=fx.dock)


@pytest.mark.parametrize(
    "name", ["deployment", "manifest", "holder_key", "holder_key_unprotected", "holder_pub"]
)
def test_every_byte_of_small_documents_is_checked(fx, name: str) -> None:
    sig_io = io.BytesIO()
    signer = rk.SidecarSigner(fx.device, deployment=fx.dock, out=sig_io)
    signer.add_line(b"{}\n")
    summary = signer.finish()
    manifest = rk.build_run_manifest(
        deployment=fx.dock,
        device_key=fx.device,
        tool_version="1",
        models={"gy": "00" * 32},
        input=None,
        output=rk.FileDigest("o.mp4", "11" * 32, 1),
        sidecar=summary,
        sidecar_name="o.pose.jsonl",
        started=make_vectors.NOW,
        finished=make_vectors.NOW,
    )
    weak = {"kdf_params": make_vectors.WEAK_KDF, "unsafe_weak_kdf": True}
    data, load = {
        "deployment": (fx.lobby.to_bytes(), rk.load_deployment),
        "manifest": (
            rk.sign_manifest(manifest, fx.device),
            lambda d: rk.verify_manifest(d, deployment=fx.dock),
        ),
        "holder_key": (
            fx.alice.to_bytes(passphrase="pw", **weak),
            lambda d: rk.load_holder_key(d, passphrase="pw"),
        ),
        "holder_key_unprotected": (
            fx.alice.to_bytes(passphrase=None, unsafe_no_passphrase=True),
            lambda d: rk.load_holder_key(d, passphrase=None),
        ),
        "holder_pub": (fx.alice.public.to_bytes(), rk.HolderPublicKey.from_bytes),
    }[name]
    load(data)
    for i in range(len(data)):
        for mask in MASKS:
            with pytest.raises(rk.RecanonKeysError):
                load(flipped(data, i, mask))
    for cut in range(len(data)):
        with pytest.raises(rk.RecanonKeysError):
            load(data[:cut])
