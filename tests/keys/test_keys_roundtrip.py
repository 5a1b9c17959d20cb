"""Round trips: key files, deployments, bundles (multi-recipient, re-wrap, rotation), sidecars, manifests."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import stat
from datetime import UTC, datetime
from pathlib import Path

import make_vectors
import pytest
import recanon_keys as rk
from recanon_keys._format import bundle as bundle_fmt
from recanon_keys._format.stream import CHUNK_SIZE, TAG_SIZE, decrypt_chunks

NOW = make_vectors.NOW


# --- identities ------------------------------------------------------------------------------------


def test_holder_key_file_round_trip_with_passphrase(weak_kdf) -> None:
    alice = rk.generate_holder("alice")
    data = alice.to_bytes(passphrase="pässwörd", **weak_kdf)
    again = rk.load_holder_key(data, passphrase="pa\u0308sswo\u0308rd")  # NFD typing of the same passphrase
    assert again.key_id == alice.key_id and again.public == alice.public
    with pytest.raises(rk.WrongPassphrase):
        rk.load_holder_key(data, passphrase="passwort")
    info = rk.read_key_file_info(data, kind="holder-key")
    assert info.protected and info.key_id == alice.key_id


def test_default_kdf_parameters_round_trip() -> None:
    device = rk.generate_device_key("cam")
    data = device.to_bytes(passphrase="long enough passphrase")
    info = rk.read_key_file_info(data, kind="device-key")
    assert info.kdf_params == rk.DEFAULT_KDF_PARAMS
    assert rk.DEFAULT_KDF_PARAMS.memlimit >= 64 * 2**20 and rk.DEFAULT_KDF_PARAMS.opslimit >= 2
    assert rk.load_device_key(data, passphrase="long enough passphrase").key_id == device.key_id


def test_no_passphrase_only_when_asked_for(weak_kdf) -> None:
    alice = rk.generate_holder("alice")
    with pytest.raises(ValueError, match="passphrase is required"):
        alice.to_bytes(passphrase=None)
    with pytest.raises(ValueError, match="not both"):
        alice.to_bytes(passphrase="x", unsafe_no_passphrase=True)
    with pytest.raises(ValueError, match="empty"):
        alice.to_bytes(passphrase="", **weak_kdf)
    with pytest.raises(ValueError, match="too weak"):
        alice.to_bytes(passphrase="x", kdf_params=make_vectors.WEAK_KDF)
    data = alice.to_bytes(passphrase=None, unsafe_no_passphrase=True)
    assert not rk.read_key_file_info(data, kind="holder-key").protected
    assert rk.load_holder_key(data, passphrase=None).key_id == alice.key_id


def test_private_key_file_is_0600_atomic_and_never_clobbered(tmp_path: Path, weak_kdf) -> None:
    alice = rk.generate_holder("alice")
    path = tmp_path / "alice.key"
    rk.save_private_key(path, alice, passphrase="pw", **weak_kdf)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        rk.save_private_key(path, rk.generate_holder("bob"), passphrase="pw", **weak_kdf)
    assert path.read_bytes() == before
    old_umask = os.umask(0)
    try:
        rk.save_private_key(path, alice, passphrase="pw2", overwrite=True, **weak_kdf)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.key"]  # no temp file left behind


def test_private_keys_do_not_leak_through_repr_str_or_pickle(fx) -> None:
    secret = fx.alice._secret_bytes()
    for text in (repr(fx.alice), str(fx.alice), repr(fx.device), f"{fx.device}"):
        assert secret.hex() not in text and "secret" not in text.lower()
        assert "key_id=" in text
    with pytest.raises(TypeError):
        pickle.dumps(fx.alice)
    with pytest.raises(TypeError):
        pickle.dumps(fx.device)


def test_key_ids_are_stable_and_short(fx) -> None:
    assert fx.alice.key_id == "hk-qn7lcaeoikow26lh"
    assert fx.device.key_id == "dk-4kjls47vfttglrsl"
    assert len({fx.alice.key_id, fx.bob.key_id, fx.carol.key_id}) == 3


# --- deployments -----------------------------------------------------------------------------------


def test_deployment_revisions_add_and_remove_holders(fx) -> None:
    dep = rk.load_deployment(fx.lobby.to_bytes())
    assert [h.label for h in dep.holders] == ["alice", "bob"] and dep.revision == 1
    dep2 = dep.with_holder_added(fx.carol.public, device_key=fx.device)
    dep3 = rk.load_deployment(dep2.with_holder_removed(fx.bob.key_id, device_key=fx.device).to_bytes())
    assert [h.label for h in dep3.holders] == ["alice", "carol"] and dep3.revision == 3
    assert dep3.deployment_id == dep.deployment_id
    with pytest.raises(ValueError, match="already a holder"):
        dep.with_holder_added(fx.alice.public, device_key=fx.device)
    with pytest.raises(ValueError, match="not a holder"):
        dep.with_holder_removed(fx.carol.key_id, device_key=fx.device)
    with pytest.raises(ValueError, match="signed by device"):
        dep.with_holder_added(fx.carol.public, device_key=fx.other_device)


def test_seal_refuses_fewer_holders_than_the_policy_asks(fx) -> None:
    dep = rk.create_deployment(
        "tiny", device_key=fx.device, holders=[fx.alice.public], policy=rk.Policy(min_holders=2)
    )
    with pytest.raises(ValueError, match="at least 2"):
        rk.seal(b"x", deployment=dep, model_name="gy", model_version="1", device_key=fx.device)
    empty = rk.create_deployment("empty", device_key=fx.device)
    with pytest.raises(ValueError, match="0 holder"):
        rk.seal(b"x", deployment=empty, model_name="gy", model_version="1", device_key=fx.device)


# --- bundles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 5])
def test_bundle_round_trip_for_every_recipient(fx, size: int) -> None:
    plain = os.urandom(size)
    bundle = rk.seal(plain, deployment=fx.lobby, model_name="gy", model_version="2.1", device_key=fx.device)
    header = bundle[: bundle.index(b"\n") + 1]
    chunks = max(1, -(-size // CHUNK_SIZE))
    assert len(bundle) == len(header) + 32 + size + TAG_SIZE * chunks
    for holder in (fx.alice, fx.bob):
        assert (
            rk.open_sealed(bundle, holder, deployment=fx.lobby, model_name="gy", model_version="2.1") == plain
        )
    info = rk.read_bundle_info(bundle)
    assert (info.size, info.sha256, info.recipients) == (
        size,
        hashlib.sha256(plain).hexdigest(),
        (fx.alice.key_id, fx.bob.key_id),
    )


def test_open_sealed_io_and_files(fx, tmp_path: Path) -> None:
    src = tmp_path / "gy.safetensors"
    src.write_bytes(os.urandom(200_000))
    info = rk.seal_file(
        src,
        tmp_path / "gy.bundle",
        deployment=fx.lobby,
        model_name="gy",
        model_version="1",
        device_key=fx.device,
    )
    assert info.size == 200_000 and info.deployment_id == fx.lobby.deployment_id
    with pytest.raises(FileExistsError):
        rk.seal_file(
            src,
            tmp_path / "gy.bundle",
            deployment=fx.lobby,
            model_name="gy",
            model_version="1",
            device_key=fx.device,
        )
    fh = rk.open_sealed_io(
        tmp_path / "gy.bundle", fx.bob, deployment=fx.lobby, model_name="gy", model_version=None
    )
    assert isinstance(fh, io.BytesIO) and fh.read() == src.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gy.bundle", "gy.safetensors"]


def test_a_failed_seal_leaves_no_file(fx, tmp_path: Path) -> None:
    src = tmp_path / "gy.bin"
    src.write_bytes(b"weights")
    empty = rk.create_deployment("empty", device_key=fx.device)
    with pytest.raises(ValueError):
        rk.seal_file(
            src,
            tmp_path / "out.bundle",
            deployment=empty,
            model_name="gy",
            model_version="1",
            device_key=fx.device,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gy.bin"]


def test_input_changing_during_seal_is_refused(fx) -> None:
    from recanon_keys import sealing

    out = io.BytesIO()
    with pytest.raises(ValueError, match="changed"):
        sealing._seal_stream(
            io.BytesIO(b"abcd"),
            out,
            size=4,
            sha256=hashlib.sha256(b"abcX").hexdigest(),
            deployment=fx.lobby,
            model_name="gy",
            model_version="1",
            device_key=fx.device,
            rng=os.urandom,
            now=NOW,
        )
    with pytest.raises(ValueError, match="changed"):
        sealing._seal_stream(
            io.BytesIO(b"abcde"),
            out,
            size=4,
            sha256=hashlib.sha256(b"abcd").hexdigest(),
            deployment=fx.lobby,
            model_name="gy",
            model_version="1",
            device_key=fx.device,
            rng=os.urandom,
            now=NOW,
        )


def test_wrong_key_names_the_recipients_and_the_key(fx) -> None:
    bundle = rk.seal(b"x", deployment=fx.lobby, model_name="gy", model_version="1", device_key=fx.device)
    with pytest.raises(rk.WrongKey) as info:
        rk.open_sealed(bundle, fx.carol, deployment=fx.lobby, model_name="gy", model_version="1")
    msg = info.value.message
    assert f"alice ({fx.alice.key_id})" in msg and f"bob ({fx.bob.key_id})" in msg
    assert f"carol ({fx.carol.key_id})" in msg
    assert info.value.recipients == (fx.alice.key_id, fx.bob.key_id)


def _payload(bundle: bytes) -> bytes:
    return bundle[bundle.index(b"\n") + 1 + 32 :]


def test_rewrap_adds_and_removes_holders_without_reencrypting(fx) -> None:
    plain = os.urandom(CHUNK_SIZE + 10)
    bundle = rk.seal(plain, deployment=fx.lobby, model_name="gy", model_version="1", device_key=fx.device)
    rewrapped = rk.rewrap(bundle, fx.bob, deployment=fx.lobby2, device_key=fx.device)  # lobby2: alice + carol
    assert _payload(rewrapped) == _payload(bundle)
    assert rk.read_bundle_info(rewrapped).recipients == (fx.alice.key_id, fx.carol.key_id)
    assert (
        rk.open_sealed(rewrapped, fx.carol, deployment=fx.lobby2, model_name="gy", model_version="1") == plain
    )
    with pytest.raises(rk.WrongKey):
        rk.open_sealed(rewrapped, fx.bob, deployment=fx.lobby2, model_name="gy", model_version="1")
    with pytest.raises(rk.WrongKey):  # carol cannot re-wrap what she cannot open
        rk.rewrap(bundle, fx.carol, deployment=fx.lobby2, device_key=fx.device)
    with pytest.raises(rk.WrongDeployment):
        rk.rewrap(bundle, fx.alice, deployment=fx.garage, device_key=fx.device)


def test_rotation_uses_a_fresh_data_key(fx, tmp_path: Path) -> None:
    plain = os.urandom(2 * CHUNK_SIZE + 3)
    (tmp_path / "old.bundle").write_bytes(
        rk.seal(plain, deployment=fx.lobby, model_name="gy", model_version="1", device_key=fx.device)
    )
    rk.rotate_file(
        tmp_path / "old.bundle", tmp_path / "new.bundle", fx.alice, deployment=fx.lobby2, device_key=fx.device
    )
    old, new = (tmp_path / "old.bundle").read_bytes(), (tmp_path / "new.bundle").read_bytes()
    assert _payload(old) != _payload(new)
    assert rk.open_sealed(new, fx.carol, deployment=fx.lobby2, model_name="gy", model_version="1") == plain
    # bob kept the old data key: it no longer decrypts anything in the rotated bundle
    src = io.BytesIO(old)
    h_old = bundle_fmt.read_header(src, what="old")
    bob_old_key = bundle_fmt.unwrap(h_old.recipients[1], fx.bob, what="old")
    src_new = io.BytesIO(new)
    h_new = bundle_fmt.read_header(src_new, what="new")
    with pytest.raises(rk.AuthenticationFailed):
        bundle_fmt.verify_header_mac(bob_old_key, h_new, what="new")
    with pytest.raises(rk.AuthenticationFailed):
        next(
            decrypt_chunks(bundle_fmt.payload_key(bob_old_key, h_new.payload_salt), src_new, size=h_new.size)
        )
    # rotating in place is refused unless asked for
    with pytest.raises(FileExistsError):
        rk.rotate_file(
            tmp_path / "new.bundle",
            tmp_path / "new.bundle",
            fx.alice,
            deployment=fx.lobby2,
            device_key=fx.device,
        )


def test_rewrap_file_of_a_damaged_bundle_writes_nothing(fx, tmp_path: Path) -> None:
    bundle = bytearray(
        rk.seal(
            os.urandom(5000), deployment=fx.lobby, model_name="gy", model_version="1", device_key=fx.device
        )
    )
    bundle[-3] ^= 1
    (tmp_path / "bad.bundle").write_bytes(bundle)
    for op in (rk.rewrap_file, rk.rotate_file):
        with pytest.raises(rk.AuthenticationFailed):
            op(
                tmp_path / "bad.bundle",
                tmp_path / "out.bundle",
                fx.alice,
                deployment=fx.lobby,
                device_key=fx.device,
            )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bundle"]


# --- sidecars and manifests ------------------------------------------------------------------------


def _sidecar_lines(n: int) -> list[bytes]:
    return [b'{"type":"header"}\n'] + [f'{{"frame":{i},"people":[]}}\n'.encode() for i in range(n - 1)]


def test_sidecar_signer_streams_in_constant_memory(fx) -> None:
    sig = io.BytesIO()
    dep = rk.load_deployment(fx.lobby.to_bytes())  # checkpoint every 256 lines
    signer = rk.SidecarSigner(fx.device, deployment=dep, out=sig)
    lines = _sidecar_lines(1000)
    for line in lines:
        signer.add_line(line)
        assert len(signer._digests) < 256 * 8  # at most one block of digests is held
    summary = signer.finish()
    assert sig.getvalue().count(b"\n") == 1 + 3 + 1  # start, 3 checkpoints, final
    verified = rk.verify_sidecar(b"".join(lines), sig.getvalue(), deployment=dep)
    assert verified == summary and summary.lines == 1000
    assert summary.sha256 == hashlib.sha256(b"".join(lines)).hexdigest()


def test_sidecar_signer_rejects_misuse(fx) -> None:
    signer = rk.SidecarSigner(fx.device, deployment=fx.lobby, out=io.BytesIO())
    for bad in (b"no newline", b"two\nlines\n", "text\n"):
        with pytest.raises((ValueError, TypeError)):
            signer.add_line(bad)  # type: ignore[arg-type]
    signer.finish()
    with pytest.raises(ValueError):
        signer.add_line(b"{}\n")
    with pytest.raises(ValueError, match="signed by device"):
        rk.SidecarSigner(fx.other_device, deployment=fx.lobby, out=io.BytesIO())


def test_a_crashed_run_leaves_a_verifiable_prefix(fx) -> None:
    sig = io.BytesIO()
    signer = rk.SidecarSigner(fx.device, deployment=fx.lobby, out=sig)
    lines = _sidecar_lines(600)
    for line in lines:
        signer.add_line(line)
    # no finish(): the process died; the file has checkpoints at 256 and 512 lines
    with pytest.raises(rk.Truncated) as info:
        rk.verify_sidecar(b"".join(lines), sig.getvalue(), deployment=fx.lobby)
    assert info.value.verified_lines == 512
    with pytest.raises(rk.AuthenticationFailed) as bad:
        rk.verify_sidecar(b"".join([*lines[:99], b"{}\n", *lines[100:]]), sig.getvalue(), deployment=fx.lobby)
    assert bad.value.first_bad_line == 100


def _write_output(fx, tmp_path: Path, lines: list[bytes]) -> Path:
    out = tmp_path / "run1.mp4"
    out.write_bytes(b"\x00\x00\x00\x18ftypmp42 fake video bytes")
    files = rk.companion_paths(out)
    with open(files.sidecar, "wb") as side, open(files.sidecar_sig, "wb") as sig:
        signer = rk.SidecarSigner(fx.device, deployment=fx.dock, out=sig)
        for line in lines:
            side.write(line)
            signer.add_line(line)
        summary = signer.finish()
    manifest = rk.build_run_manifest(
        deployment=fx.dock,
        device_key=fx.device,
        tool_version="0.1.0",
        models={"gx": "ab" * 32},
        input=None,
        output=rk.file_digest(out),
        sidecar=summary,
        sidecar_name=files.sidecar.name,
        started=datetime(2025, 1, 1, tzinfo=UTC),
        finished=datetime(2025, 1, 1, 0, 5, tzinfo=UTC),
    )
    rk.write_signed_manifest(files.manifest, manifest, fx.device)
    with pytest.raises(FileExistsError):
        rk.write_signed_manifest(files.manifest, manifest, fx.device)
    return out


def test_verify_output_passes_and_names_what_does_not_match(fx, tmp_path: Path) -> None:
    lines = _sidecar_lines(7)
    out = _write_output(fx, tmp_path, lines)
    report = rk.verify_output(out, deployment=fx.dock)
    assert report.ok, report.checks
    assert [c.name for c in report.checks] == ["manifest", "video", "sidecar", "sidecar vs manifest"]

    files = rk.companion_paths(out)
    files.sidecar.write_bytes(b"".join([*lines[:4], b'{"frame":99}\n', *lines[5:]]))
    report = rk.verify_output(out, deployment=fx.dock)
    assert [(c.name, c.line) for c in report.failures()] == [("sidecar", 5)]

    out.write_bytes(out.read_bytes() + b"!")
    report = rk.verify_output(out, deployment=fx.dock)
    assert {c.name for c in report.failures()} == {"video", "sidecar"}

    files.manifest.unlink()
    assert "missing" in rk.verify_output(out, deployment=fx.dock).failures()[0].detail
    assert not rk.verify_output(out, deployment=fx.lobby).ok


def test_sidecar_of_another_run_is_detected(fx, tmp_path: Path) -> None:
    out = _write_output(fx, tmp_path, _sidecar_lines(5))
    files = rk.companion_paths(out)
    (tmp_path / "other").mkdir()
    other = _write_output(fx, tmp_path / "other", _sidecar_lines(5))
    for name in ("sidecar", "sidecar_sig"):
        getattr(files, name).write_bytes(getattr(rk.companion_paths(other), name).read_bytes())
    report = rk.verify_output(out, deployment=fx.dock)
    assert [c.name for c in report.failures()] == ["sidecar vs manifest"]
