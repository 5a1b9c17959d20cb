"""Key hygiene: names that cannot escape --dir, ssh's rule on key file permissions, bounded passphrase
files, and the strength of the keys the CLI writes (at production Argon2id parameters)."""

from __future__ import annotations

import json
import os
import stat
import warnings
from pathlib import Path

import pytest
import recanon_keys as rk
import typer
from recanon_cli.commands import keys as keys_cmd
from typer.testing import CliRunner

PASS = "a passphrase long enough for a test"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(keys_cmd.app)
    return app


def run(*args: object, code: int = 0, env: dict[str, str] | None = None, weak: bool = True):
    """``recanon keys …`` with a weak KDF unless ``weak=False`` (production parameters)."""
    saved = keys_cmd._common._new_key_kdf
    if weak:
        keys_cmd._common._new_key_kdf = lambda: (rk.Argon2idParams(opslimit=1, memlimit=8192), True)
    try:
        result = CliRunner().invoke(
            _app(), [str(a) for a in args], env={"RECANON_PASSPHRASE": "", **(env or {})}
        )
    finally:
        keys_cmd._common._new_key_kdf = saved
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    if code == 1:
        assert result.stderr.count("recanon: error: ") == 1
    return result


# --- names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../trav", "a/b", ".hidden", "..", "", "x" * 65, "tab\there", "{tmp}/abs"])
def test_init_refuses_a_deployment_name_that_is_not_a_plain_name_and_writes_nothing(
    tmp_path: Path, name: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    name = name.format(tmp=tmp_path)  # an absolute path, kept inside the test's folder
    result = run("keys", "init", "--deployment", name, "--dir", work / "sub", "--no-passphrase", code=1)
    assert "is not a plain name" in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["work"]  # no sub/, nothing beside it


def test_plain_names_are_accepted_and_holder_labels_are_checked_too(tmp_path: Path) -> None:
    run("keys", "init", "--deployment", "site-4_2.b", "--dir", tmp_path / "sub", "--no-passphrase")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == [
        "site-4_2.b.deployment",
        "site-4_2.b.device.key",
    ]
    result = run(
        "keys", "holder", "new", "--label", "../alice", "--out", tmp_path / "a.key", "--no-passphrase", code=1
    )
    assert "holder name '../alice' is not a plain name" in result.stderr and not (tmp_path / "a.key").exists()
    with pytest.raises(ValueError, match="not a plain name"):
        rk.create_deployment("../trav", device_key=rk.generate_device_key("cam"))


# --- permissions ---------------------------------------------------------------------------------------


def _site(tmp_path: Path) -> dict[str, Path]:
    device, alice = rk.generate_device_key("cam"), rk.generate_holder("alice")
    dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public])
    (tmp_path / "lobby.deployment").write_bytes(dep.to_bytes())
    rk.save_private_key(tmp_path / "alice.key", alice, passphrase=None, unsafe_no_passphrase=True)
    rk.save_private_key(
        tmp_path / "alice.pw.key",
        alice,
        passphrase=PASS,
        kdf_params=rk.Argon2idParams(1, 8192),
        unsafe_weak_kdf=True,
    )
    (tmp_path / "w.sealed").write_bytes(
        rk.seal(b"w", deployment=dep, model_name="gy", model_version="1", device_key=device)
    )
    return {"dep": tmp_path / "lobby.deployment", "bundle": tmp_path / "w.sealed"}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_an_unprotected_key_that_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    site = _site(tmp_path)
    key = tmp_path / "alice.key"
    os.chmod(key, mode)
    result = run("keys", "open", site["bundle"], "--key", key, "-d", site["dep"], code=1)
    assert f"has no passphrase and other users can read it (mode {mode:04o})" in result.stderr
    assert f"chmod 600 {key}" in result.stderr and "verified" not in result.stdout
    with pytest.raises(rk.UnsafeKeyFile):
        rk.read_private_key_file(key, kind="holder-key")
    os.chmod(key, 0o600)
    assert "verified" in run("keys", "open", site["bundle"], "--key", key, "-d", site["dep"]).stdout


def test_a_protected_key_that_others_can_read_is_used_with_a_warning(tmp_path: Path) -> None:
    site = _site(tmp_path)
    key = tmp_path / "alice.pw.key"
    os.chmod(key, 0o644)
    result = run(
        "keys", "open", site["bundle"], "--key", key, "-d", site["dep"], env={"RECANON_PASSPHRASE": PASS}
    )
    assert "verified" in result.stdout
    assert f"recanon: warning: {key} can be read by other users (mode 0644)" in result.stderr
    with pytest.warns(rk.UnsafeKeyFileWarning, match="chmod 600"):
        rk.read_private_key_file(key, kind="holder-key")


def test_the_published_demo_keys_load_whatever_their_mode(tmp_path: Path) -> None:
    for name, kind in (("DEMO-device.key", "device-key"), ("DEMO-holder.key", "holder-key")):
        copy = tmp_path / name
        copy.write_bytes((DEMO / name).read_bytes())
        os.chmod(copy, 0o644)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            data = rk.read_private_key_file(copy, kind=kind)
        assert rk.read_key_file_info(data, kind=kind).key_id in rk.PUBLIC_DEMO_KEY_IDS


def test_key_files_are_read_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.key"
    big.write_bytes(b'{"format":"recanon-holder-key/v1",' + b" " * (1 << 20))
    os.chmod(big, 0o600)
    with pytest.raises(rk.InvalidFormat, match="too large"):
        rk.load_holder_key(rk.read_private_key_file(big, kind="holder-key"), passphrase=None)
    with pytest.raises(rk.InvalidFormat, match="too large"):
        rk.read_private_key_file("/dev/zero", kind="holder-key")


# --- passphrase files ------------------------------------------------------------------------------------


def test_passphrase_files_are_one_bounded_line(tmp_path: Path) -> None:
    good = tmp_path / "pw"
    good.write_bytes(PASS.encode() + b"\r\n")
    assert rk.read_passphrase_file(good) == PASS
    with pytest.raises(rk.InvalidFormat, match="longer than 4096 bytes"):
        rk.read_passphrase_file("/dev/zero")  # refused after 4 KiB, not read forever
    cases = {
        "long": (b"a" * 70_000, "longer than 4096 bytes"),
        "lines": (b"first\nsecond\n", "more than one line"),
        "empty": (b"\n", "holds no passphrase"),
        "binary": (b"\xff\xfe\n", "not UTF-8"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = run(
            "keys",
            "holder",
            "new",
            "--label",
            name,
            "--out",
            tmp_path / f"{name}.key",
            "--passphrase-file",
            path,
            code=1,
        )
        assert message in result.stderr and not (tmp_path / f"{name}.key").exists(), name


# --- the strength of what the CLI writes -----------------------------------------------------------------


def test_the_cli_writes_keys_at_production_argon2id_parameters(tmp_path: Path) -> None:
    """No weak-KDF stand-in here: the key file records t=3, m=256 MiB, and opens with its passphrase."""
    key = tmp_path / "prod.key"
    result = run(
        "keys", "holder", "new", "--label", "prod", "--out", key, env={"RECANON_PASSPHRASE": PASS}, weak=False
    )
    assert "holder hk-" in result.stdout and stat.S_IMODE(key.stat().st_mode) == 0o600
    kdf = json.loads(key.read_bytes())["kdf"]
    assert (kdf["name"], kdf["opslimit"], kdf["memlimit"]) == ("argon2id", 3, 256 * 1024 * 1024)
    info = rk.read_key_file_info(key.read_bytes(), kind="holder-key")
    assert info.kdf_params == rk.Argon2idParams(3, 256 * 1024 * 1024)
    assert rk.load_holder_key(key.read_bytes(), passphrase=PASS).label == "prod"
    with pytest.raises(rk.WrongPassphrase):
        rk.load_holder_key(key.read_bytes(), passphrase=PASS + "!")
