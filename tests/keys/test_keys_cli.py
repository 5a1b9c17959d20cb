"""`recanon keys …` and `recanon verify` through Typer's CliRunner: clear errors, no traceback, no secrets."""

from __future__ import annotations

import stat
from pathlib import Path

import make_vectors
import pytest
import recanon_keys as rk
import typer
from recanon_cli.commands import keys as keys_cmd
from recanon_cli.commands import verify as verify_cmd
from typer.testing import CliRunner

PASS = "tr0ub4dor&3 is not a passphrase"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(keys_cmd._common, "_new_key_kdf", lambda: (make_vectors.WEAK_KDF, True))
    monkeypatch.delenv("RECANON_PASSPHRASE", raising=False)
    monkeypatch.delenv("RECANON_DEPLOYMENT", raising=False)
    app = typer.Typer()
    app.add_typer(keys_cmd.app)
    app.command()(verify_cmd.verify)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0, input: str | None = None, env: dict[str, str] | None = None):
        result = runner.invoke(app, [str(a) for a in args], input=input, env=env)
        text = result.output
        assert "Traceback" not in text
        assert result.exit_code == code, text
        if code == 2:  # a usage error, reported by Typer itself
            assert "Usage:" in result.stderr
        elif code:
            assert "recanon: error: " in result.stderr
            assert isinstance(result.exception, SystemExit)
        assert PASS not in text
        return result

    return invoke


def _holder(cli, tmp_path: Path, label: str) -> Path:
    cli(
        "keys",
        "holder",
        "new",
        "--label",
        label,
        "--out",
        tmp_path / f"{label}.key",
        env={"RECANON_PASSPHRASE": PASS},
    )
    return tmp_path / f"{label}.key"


def test_holder_new_writes_a_0600_protected_key_and_a_public_key(cli, tmp_path: Path) -> None:
    key = _holder(cli, tmp_path, "alice")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    info = rk.read_key_file_info(key.read_bytes(), kind="holder-key")
    assert info.protected and info.label == "alice"
    assert rk.HolderPublicKey.from_bytes((tmp_path / "alice.pub").read_bytes()).key_id == info.key_id
    result = cli(
        "keys", "holder", "new", "--label", "alice", "--out", key, code=1, env={"RECANON_PASSPHRASE": PASS}
    )
    assert "already exists" in result.stderr and "--overwrite" in result.stderr


def test_passphrase_prompt_file_and_missing(cli, tmp_path: Path) -> None:
    cli("keys", "holder", "new", "--label", "p", "--out", tmp_path / "p.key", input=f"{PASS}\n{PASS}\n")
    assert rk.load_holder_key((tmp_path / "p.key").read_bytes(), passphrase=PASS).label == "p"
    (tmp_path / "pw.txt").write_text(PASS + "\n")
    cli(
        "keys",
        "holder",
        "new",
        "--label",
        "f",
        "--out",
        tmp_path / "f.key",
        "--passphrase-file",
        tmp_path / "pw.txt",
    )
    assert rk.load_holder_key((tmp_path / "f.key").read_bytes(), passphrase=PASS).label == "f"
    result = cli("keys", "holder", "new", "--label", "x", "--out", tmp_path / "x.key", code=1, input="")
    assert "no passphrase" in result.stderr and not (tmp_path / "x.key").exists()
    result = cli("keys", "holder", "new", "--label", "u", "--out", tmp_path / "u.key", "--no-passphrase")
    assert "WITHOUT a passphrase" in result.stderr
    assert not rk.read_key_file_info((tmp_path / "u.key").read_bytes(), kind="holder-key").protected


def _deployment(cli, tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    alice, bob = _holder(cli, tmp_path, "alice"), _holder(cli, tmp_path, "bob")
    cli(
        "keys",
        "init",
        "--deployment",
        "lobby",
        "--dir",
        tmp_path,
        "--holder",
        tmp_path / "alice.pub",
        "--holder",
        tmp_path / "bob.pub",
        "--checkpoint-every",
        "2",
        "--no-passphrase",
    )
    return tmp_path / "lobby.deployment", tmp_path / "lobby.device.key", alice, bob


def test_init_seal_open_rewrap_rotate(cli, tmp_path: Path) -> None:
    dep_path, device_key, alice, bob = _deployment(cli, tmp_path)
    assert stat.S_IMODE(device_key.stat().st_mode) == 0o600
    dep = rk.load_deployment(dep_path.read_bytes())
    assert [h.label for h in dep.holders] == ["alice", "bob"] and dep.policy.checkpoint_every == 2

    weights = tmp_path / "gy.safetensors"
    weights.write_bytes(b"\x01" * 100_000)
    env = {"RECANON_PASSPHRASE": PASS}
    cli(
        "keys",
        "seal",
        weights,
        "-d",
        dep_path,
        "--device-key",
        device_key,
        "--model",
        "gy",
        "--model-version",
        "1",
        "--out",
        tmp_path / "gy.b",
    )
    result = cli("keys", "open", tmp_path / "gy.b", "--key", bob, "-d", dep_path, "--model", "gy", env=env)
    assert "verified" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if "gy" in p.name) == ["gy.b", "gy.safetensors"]

    carol = _holder(cli, tmp_path, "carol")
    result = cli("keys", "open", tmp_path / "gy.b", "--key", carol, "-d", dep_path, code=1, env=env)
    assert "sealed to holders alice (hk-" in result.stderr and "your key is carol (hk-" in result.stderr
    result = cli(
        "keys",
        "open",
        tmp_path / "gy.b",
        "--key",
        bob,
        "-d",
        dep_path,
        code=1,
        env={"RECANON_PASSPHRASE": "wrong"},
    )
    assert "wrong passphrase" in result.stderr
    result = cli(
        "keys", "open", tmp_path / "gy.b", "--key", bob, "-d", dep_path, "--model", "gx", code=1, env=env
    )
    assert "holds model 'gy', not 'gx'" in result.stderr

    # add carol, remove bob, rotate
    cli("keys", "holder", "add", tmp_path / "carol.pub", "-d", dep_path, "--device-key", device_key)
    bob_id = rk.read_key_file_info(bob.read_bytes(), kind="holder-key").key_id
    cli("keys", "holder", "remove", bob_id, "-d", dep_path, "--device-key", device_key)
    assert rk.load_deployment(dep_path.read_bytes()).revision == 3
    result = cli("keys", "holder", "remove", bob_id, "-d", dep_path, "--device-key", device_key, code=1)
    assert "is not a holder" in result.stderr
    cli(
        "keys",
        "rewrap",
        tmp_path / "gy.b",
        "--key",
        alice,
        "-d",
        dep_path,
        "--device-key",
        device_key,
        "--out",
        tmp_path / "gy2.b",
        "--rotate",
        env=env,
    )
    cli("keys", "open", tmp_path / "gy2.b", "--key", carol, "-d", dep_path, env=env)
    result = cli("keys", "open", tmp_path / "gy2.b", "--key", bob, "-d", dep_path, code=1, env=env)
    assert "your key is bob" in result.stderr
    result = cli(
        "keys",
        "rewrap",
        tmp_path / "gy.b",
        "--key",
        alice,
        "-d",
        dep_path,
        "--device-key",
        device_key,
        "--out",
        tmp_path / "gy2.b",
        code=1,
        env=env,
    )
    assert "--overwrite" in result.stderr


@pytest.mark.parametrize(
    "damage",
    ["truncate", "flip", "other deployment", "not a bundle", "missing", "directory"],
)
def test_bad_bundles_give_one_clear_sentence(cli, tmp_path: Path, damage: str) -> None:
    dep_path, device, alice, _bob = _deployment(cli, tmp_path)
    (tmp_path / "w").write_bytes(b"w" * 70_000)
    cli(
        "keys",
        "seal",
        tmp_path / "w",
        "-d",
        dep_path,
        "--device-key",
        device,
        "--model",
        "gy",
        "--model-version",
        "1",
    )
    bundle = tmp_path / "w.sealed"
    data = bundle.read_bytes()
    expect = {
        "truncate": "truncated",
        "flip": "altered or damaged",
        "other deployment": "belongs to deployment",
        "not a bundle": "not a sealed bundle file",
        "missing": "no such file",
        "directory": "Error",
    }[damage]
    if damage == "truncate":
        bundle.write_bytes(data[: len(data) - 100])
    elif damage == "flip":
        bundle.write_bytes(data[:-5] + bytes([data[-5] ^ 4]) + data[-4:])
    elif damage == "other deployment":
        fx = make_vectors.Fixtures()
        bundle.write_bytes(make_vectors.seal(fx, b"x", "cli"))
    elif damage == "not a bundle":
        bundle.write_bytes(dep_path.read_bytes())
        expect = "is a recanon deployment file, not a bundle file"
    elif damage == "missing":
        bundle.unlink()
    elif damage == "directory":
        bundle.unlink()
        bundle.mkdir()
    result = cli(
        "keys",
        "open",
        bundle,
        "--key",
        alice,
        "-d",
        dep_path,
        code=2 if damage == "directory" else 1,
        env={"RECANON_PASSPHRASE": PASS},
    )
    assert expect in result.stderr


def test_inspect_every_file_type_without_secrets(cli, tmp_path: Path) -> None:
    dep_path, device_key, alice, _bob = _deployment(cli, tmp_path)
    (tmp_path / "w").write_bytes(b"w" * 10)
    cli(
        "keys",
        "seal",
        tmp_path / "w",
        "-d",
        dep_path,
        "--device-key",
        device_key,
        "--model",
        "gy",
        "--model-version",
        "1",
    )
    out = _signed_output(tmp_path, dep_path, device_key)
    files = rk.companion_paths(out)
    holder = rk.load_holder_key(alice.read_bytes(), passphrase=PASS)
    device = rk.load_device_key(device_key.read_bytes(), passphrase=None)
    secrets = [holder._secret_bytes().hex(), device._secret_bytes().hex()]
    import json

    sealed = [json.loads(p.read_bytes())["sealed_secret"] for p in (alice, device_key)]
    expected = {
        alice: "key holder private key",
        tmp_path / "alice.pub": "holder public key",
        device_key: "device signing key",
        dep_path: "deployment",
        tmp_path / "w.sealed": "sealed bundle",
        files.sidecar_sig: "pose sidecar signature",
        files.manifest: "run manifest",
    }
    for path, title in expected.items():
        result = cli("keys", "inspect", path)
        assert title in result.stdout
        for secret in [*secrets, *sealed]:
            assert secret not in result.stdout
    assert "NONE: anyone who reads this file" in cli("keys", "inspect", device_key).stdout
    result = cli("keys", "inspect", out, code=1)
    assert "not a recanon file" in result.stderr


def _signed_output(tmp_path: Path, dep_path: Path, device_key: Path) -> Path:
    dep = rk.load_deployment(dep_path.read_bytes())
    device = rk.load_device_key(device_key.read_bytes(), passphrase=None)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"fake mp4 bytes")
    files = rk.companion_paths(out)
    lines = [b'{"type":"header"}\n', *[f'{{"frame":{i}}}\n'.encode() for i in range(6)]]
    with open(files.sidecar, "wb") as side, open(files.sidecar_sig, "wb") as sig:
        signer = rk.SidecarSigner(device, deployment=dep, out=sig)
        for line in lines:
            side.write(line)
            signer.add_line(line)
        summary = signer.finish()
    manifest = rk.build_run_manifest(
        deployment=dep,
        device_key=device,
        tool_version="0.1.0",
        models={},
        input=None,
        output=rk.file_digest(out),
        sidecar=summary,
        sidecar_name=files.sidecar.name,
        started=make_vectors.NOW,
        finished=make_vectors.NOW,
    )
    files.manifest.write_bytes(rk.sign_manifest(manifest, device))
    return out


def test_verify_ok_and_names_the_first_altered_line(cli, tmp_path: Path) -> None:
    dep_path, device_key, _alice, _bob = _deployment(cli, tmp_path)
    out = _signed_output(tmp_path, dep_path, device_key)
    result = cli("verify", out, "--deployment", dep_path)
    assert "verified: run" in result.stdout and "FAIL" not in result.stdout
    cli("verify", out, env={"RECANON_DEPLOYMENT": str(dep_path)})

    side = rk.companion_paths(out).sidecar
    lines = side.read_bytes().splitlines(keepends=True)
    side.write_bytes(b"".join([*lines[:4], b'{"frame":33}\n', *lines[5:]]))
    result = cli("verify", out, "-d", dep_path, code=1)
    assert "FAIL sidecar: sidecar line 5 differs" in result.stdout
    assert "first altered sidecar line is line 5" in result.stderr

    result = cli("verify", out, code=1)
    assert "no deployment file given" in result.stderr and "RECANON_DEPLOYMENT" in result.stderr
    dep_path.write_bytes(dep_path.read_bytes().replace(b"lobby", b"l0bby"))
    result = cli("verify", out, "-d", dep_path, code=1)
    assert "invalid signature" in result.stderr
