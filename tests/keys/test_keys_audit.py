"""The recovery audit log against a v2 deployment: signers pinned, a cut tail caught with --expect-head.

The attacker below deletes an entry and re-signs every later one with a fresh Ed25519 key, from the
published format alone (docs/key-formats.md). Against a deployment that lists each holder's audit
key, the first re-signed entry is named; against an old v1 deployment file (no audit keys) the same
log still verifies, and the verifier says so.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import make_vectors
import pytest
import recanon_keys as rk
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from recanon_keys import deployments
from typer.testing import CliRunner


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def cut_and_resign(lines: list[bytes], drop: int, deployment_id: str, *, keep_prefix: bool) -> list[bytes]:
    """Remove entry ``drop`` (1-based) and re-chain and re-sign with one fresh key every later entry
    (``keep_prefix``) or every entry (then each holder's entries again all use one key)."""
    forger = Ed25519PrivateKey.generate()
    signer = base64.b64encode(forger.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    kept = lines[: drop - 1] if keep_prefix else []
    prev = (
        hashlib.sha256(kept[-1]).hexdigest()
        if kept
        else hashlib.sha256(b"recanon/v1/audit-genesis\x00" + deployment_id.encode()).hexdigest()
    )
    out = list(kept)
    for line in lines[len(kept) : drop - 1] + lines[drop:]:
        entry = json.loads(line)
        entry.pop("sig")
        entry.update(seq=len(out) + 1, prev=prev, signer=signer)
        entry["sig"] = base64.b64encode(
            forger.sign(b"recanon/v1/audit-entry\x00" + _canonical(entry))
        ).decode()
        new = _canonical(entry) + b"\n"
        out.append(new)
        prev = hashlib.sha256(new).hexdigest()
    return out


@pytest.fixture
def log(fx, tmp_path: Path) -> Path:
    """Four entries by alice and bob, appended against the v2 lobby deployment."""
    path = tmp_path / "lobby.audit.jsonl"
    for i, holder in enumerate((fx.alice, fx.bob, fx.alice, fx.bob)):
        rk.append_audit_entry(path, {"action": "recover", "n": i}, holder=holder, deployment=fx.lobby)
    return path


def _verify_cli(*args: object):
    from recanon_cli.commands import verify as verify_cmd
    from typer import Typer

    app = Typer()
    app.command()(verify_cmd.verify)
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("keep_prefix", [True, False], ids=["rest re-signed", "all re-signed"])
def test_a_log_cut_and_resigned_with_a_foreign_key_fails_naming_the_entry(
    fx, log: Path, tmp_path: Path, keep_prefix: bool
) -> None:
    assert fx.lobby.version == 2 and all(h.audit_key for h in fx.lobby.holders)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(cut_and_resign(lines, 2, fx.lobby.deployment_id, keep_prefix=keep_prefix)))
    report = rk.verify_audit_log(log, deployment=fx.lobby)
    bad = 2 if keep_prefix else 1  # the first entry signed by the forger (alice's, either way)
    assert not report.ok and report.first_bad_line == bad and report.entries == bad - 1
    assert report.problems == [
        f"line {bad} is signed with a key that is not the audit key of alice ({fx.alice.key_id}) that the "
        "deployment lists (the entry was re-signed or forged)"
    ]
    dep_path = tmp_path / "lobby.deployment"
    dep_path.write_bytes(fx.lobby.to_bytes())
    result = _verify_cli("--audit-log", log, "-d", dep_path)
    assert result.exit_code == 1 and "chain intact" not in result.output
    assert result.stderr.count("recanon: error: ") == 1
    assert f"line {bad} is signed with a key that is not" in result.stderr
    # nothing can be appended to it either
    with pytest.raises(rk.AuthenticationFailed, match="does not verify"):
        rk.append_audit_entry(log, {"action": "recover"}, holder=fx.alice, deployment=fx.lobby)


def test_against_a_v1_deployment_the_resigned_log_verifies_and_the_verifier_says_why(
    fx, log: Path, tmp_path: Path
) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(cut_and_resign(lines, 2, fx.lobby.deployment_id, keep_prefix=False)))
    report = rk.verify_audit_log(log, deployment=fx.lobby_v1)
    assert report.ok and not report.pinned and report.entries == 3  # what a v1 file cannot prove
    dep_path = tmp_path / "lobby_v1.deployment"
    dep_path.write_bytes(fx.lobby_v1.to_bytes())
    result = _verify_cli("--audit-log", log, "-d", dep_path)
    assert result.exit_code == 0 and "signers NOT pinned" in result.stdout


def test_expect_head_catches_a_cut_tail(fx, log: Path, tmp_path: Path) -> None:
    dep_path = tmp_path / "lobby.deployment"
    dep_path.write_bytes(fx.lobby.to_bytes())
    full = rk.verify_audit_log(log, deployment=fx.lobby)
    assert (
        full.ok
        and full.entries == 4
        and full.head == hashlib.sha256(log.read_bytes().splitlines(True)[-1]).hexdigest()
    )
    head_of_three = rk.verify_audit_log(log, deployment=fx.lobby).log[2].line_sha256
    ok = _verify_cli("--audit-log", log, "-d", dep_path, "--expect-head", head_of_three)
    assert ok.exit_code == 0 and "the head you kept is line 3; 1 entries were appended since" in ok.stdout
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:3]))  # the last entry cut: the chain alone is still intact
    assert rk.verify_audit_log(log, deployment=fx.lobby).ok
    report = rk.verify_audit_log(log, deployment=fx.lobby, expect_head=full.head)
    assert not report.ok and "entries were cut from its end" in report.problems[0]
    result = _verify_cli("--audit-log", log, "-d", dep_path, "--expect-head", full.head)
    assert result.exit_code == 1 and result.stderr.count("recanon: error: ") == 1
    assert "do not include the head you kept" in result.stderr
    bad = _verify_cli("--audit-log", log, "-d", dep_path, "--expect-head", "not-a-hash")
    assert bad.exit_code == 1 and "64 lowercase hex digits" in bad.stderr
    with pytest.raises(ValueError, match="64 lowercase hex"):
        rk.verify_audit_log(log, deployment=fx.lobby, expect_head="abc")


def test_append_refuses_a_key_whose_audit_key_the_deployment_does_not_list(fx, tmp_path: Path) -> None:
    # the administrator was handed a public key file whose audit key was swapped in transit
    swapped = replace(fx.alice.public, audit_key=fx.bob.public.audit_key)
    dep = deployments._create_deployment(
        "lobby",
        device_key=fx.device,
        holders=[swapped],
        policy=rk.Policy(),
        rng=make_vectors.Drbg("swap"),
        now=make_vectors.NOW,
    )
    with pytest.raises(rk.AuthenticationFailed, match="lists another audit key for alice"):
        rk.append_audit_entry(tmp_path / "log", {"action": "recover"}, holder=fx.alice, deployment=dep)
    assert not (tmp_path / "log").exists() or (tmp_path / "log").read_bytes() == b""


def test_deployments_v2_pin_audit_keys_and_v1_files_are_still_read(fx) -> None:
    dep = rk.load_deployment(fx.lobby.to_bytes())
    assert dep.version == 2 and [h.audit_key for h in dep.holders] == [
        fx.alice.public.audit_key,
        fx.bob.public.audit_key,
    ]
    old = rk.load_deployment(fx.lobby_v1.to_bytes())
    assert old.version == 1 and not old.pins_audit_keys and all(h.audit_key is None for h in old.holders)
    assert old.deployment_id == dep.deployment_id
    # a v1 file is upgraded to a v2 revision with every holder's audit key, same id
    up = rk.load_deployment(
        old.with_audit_keys([fx.alice.public, fx.bob.public], device_key=fx.device).to_bytes()
    )
    assert up.version == 2 and up.revision == 2 and up.deployment_id == old.deployment_id
    assert [h.audit_key for h in up.holders] == [fx.alice.public.audit_key, fx.bob.public.audit_key]
    with pytest.raises(ValueError, match="no public key file given for holder bob"):
        old.with_audit_keys([fx.alice.public], device_key=fx.device)
    v1_pub = rk.HolderPublicKey.from_bytes(replace(fx.carol.public, audit_key=None).to_bytes())
    assert v1_pub.audit_key is None
    with pytest.raises(ValueError, match="v1 public key file, which has no audit key"):
        dep.with_holder_added(v1_pub, device_key=fx.device)
    with pytest.raises(ValueError, match="v1 public key file"):
        rk.create_deployment("x", device_key=fx.device, holders=[v1_pub])
    # adding to a v1 file keeps it v1 (it cannot list the key)
    assert old.with_holder_added(fx.carol.public, device_key=fx.device).version == 1


def test_holder_pub_and_upgrade_from_the_command_line(fx, tmp_path: Path) -> None:
    from recanon_cli.commands import keys as keys_cmd
    from typer import Typer

    app = Typer()
    app.add_typer(keys_cmd.app)

    def cli(*args: object, code: int = 0):
        result = CliRunner().invoke(app, [str(a) for a in args])
        assert "Traceback" not in result.output and result.exit_code == code, result.output
        return result

    for name, key in (("alice", fx.alice), ("bob", fx.bob), ("cam", fx.device)):
        rk.save_private_key(tmp_path / f"{name}.key", key, passphrase=None, unsafe_no_passphrase=True)
    dep_path = tmp_path / "lobby.deployment"
    dep_path.write_bytes(fx.lobby_v1.to_bytes())
    for name in ("alice", "bob"):
        shown = cli(
            "keys", "holder", "pub", "--key", tmp_path / f"{name}.key", "--out", tmp_path / f"{name}.pub"
        )
        assert "audit key    ak-" in shown.stdout
    failed = cli(
        "keys",
        "upgrade",
        "-d",
        dep_path,
        "--device-key",
        tmp_path / "cam.key",
        "--holder",
        tmp_path / "alice.pub",
        code=1,
    )
    assert "no public key file given for holder bob" in failed.stderr
    assert rk.load_deployment(dep_path.read_bytes()).version == 1  # unchanged
    cli(
        "keys",
        "upgrade",
        "-d",
        dep_path,
        "--device-key",
        tmp_path / "cam.key",
        "--holder",
        tmp_path / "alice.pub",
        "--holder",
        tmp_path / "bob.pub",
    )
    up = rk.load_deployment(dep_path.read_bytes())
    assert up.pins_audit_keys and up.deployment_id == fx.lobby.deployment_id and up.revision == 2
    shown = cli("keys", "inspect", dep_path)
    assert (
        "recanon-deployment/v2" in shown.stdout
        and f"audit key {fx.alice.public.audit_key_id}" in shown.stdout
    )
