"""`recanon verify` and `recanon recover` as an investigator meets them: which run verified, the sealed
originals, the audit entry before GY is opened, stills folders that are not recanon's, private outputs."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest
import recanon_keys as rk
from recanon_cli.main import app
from typer.testing import CliRunner

from tests.test_recovery_hardening import FRAMES, anonymize, companions


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kit")
    device = rk.generate_device_key("cam")
    alice = rk.generate_holder("alice")
    dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public])
    (folder / "lobby.deployment").write_bytes(dep.to_bytes())
    rk.save_private_key(folder / "alice.key", alice, passphrase=None, unsafe_no_passphrase=True)
    site = {"device": device, "alice": alice, "dep": dep, "folder": folder}
    anonymize(folder / "monday", site, "monday.anon.mp4")
    anonymize(folder / "tuesday", site, "tuesday.anon.mp4", seed_shift=24)
    return site


def cli(*args, code=0):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result


def verify(kit, video, *args, code=0):
    return cli("verify", video, "-d", kit["folder"] / "lobby.deployment", *args, code=code)


def recover(kit, video, *args, code=0):
    folder = kit["folder"]
    return cli(
        "recover", video, "--key", folder / "alice.key", "-d", folder / "lobby.deployment",
        "--audit-log", folder / "audit.jsonl", *args, code=code,
    )  # fmt: skip


def copy_run(kit, day, to):
    to.mkdir(parents=True, exist_ok=True)
    for path in (kit["folder"] / day).iterdir():
        shutil.copy(path, to)
    return to / f"{day}.anon.mp4"


def test_verify_prints_what_was_signed(kit):
    video = kit["folder"] / "monday" / "monday.anon.mp4"
    result = verify(kit, video)
    manifest = json.loads((kit["folder"] / "monday" / "monday.anon.manifest.json").read_text())
    signed = next(line for line in result.stdout.splitlines() if line.strip().startswith("signed:"))
    assert "input in-monday.anon.mp4" in signed and "output monday.anon.mp4" in signed, signed
    assert f"run {manifest['run_id']}" in signed and f"{FRAMES} frames" in signed, signed
    assert manifest["started"][:10] in signed
    assert "ok   originals: monday.anon.originals.sealed" in result.stdout


def test_another_runs_files_under_this_name_do_not_verify_unless_renaming_is_allowed(kit, tmp_path):
    theirs = copy_run(kit, "tuesday", tmp_path / "tuesday")
    target = tmp_path / "monday.anon.mp4"
    for mine, their in zip(companions("monday.anon.mp4"), companions("tuesday.anon.mp4"), strict=True):
        shutil.copy(theirs.parent / their, tmp_path / mine)
    shutil.copy(theirs.parent / "tuesday.anon.originals.sealed", tmp_path)
    result = verify(kit, target, code=1)
    assert "FAIL video" in result.stdout and "signed as 'tuesday.anon.mp4'" in result.stdout
    assert "--allow-rename" in result.stderr
    assert "output tuesday.anon.mp4" in result.stdout  # what was signed is shown even so
    result = verify(kit, target, "--allow-rename")
    assert "renamed (allowed)" in result.stdout and "input in-tuesday.anon.mp4" in result.stdout
    result = recover(kit, target, "-o", tmp_path / "x.mp4", code=1)
    assert "signed as 'tuesday.anon.mp4'" in result.stderr and "--allow-rename" in result.stderr
    assert not (tmp_path / "x.mp4").exists()
    recover(kit, target, "-o", tmp_path / "x.mp4", "--allow-rename")
    assert (tmp_path / "x.mp4").is_file()


def test_verify_checks_the_sealed_originals_and_says_when_they_are_absent(kit, tmp_path):
    video = copy_run(kit, "monday", tmp_path)
    sealed = tmp_path / "monday.anon.originals.sealed"
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 0x01
    sealed.write_bytes(bytes(data))
    result = verify(kit, video, code=1)
    assert "FAIL originals: monday.anon.originals.sealed is not the sealed originals file" in result.stdout
    assert "does not verify: originals" in result.stderr
    sealed.unlink()
    result = verify(kit, video)  # the output itself is intact: absent originals are said, not failed
    assert "ABSENT originals: monday.anon.originals.sealed is named by the signed sidecar" in result.stdout
    result = recover(kit, video, "--exact", "-o", tmp_path / "x.mp4", code=1)
    assert "are missing" in result.stderr and not (tmp_path / "x.mp4").exists()


def test_gy_is_opened_only_after_the_audit_entry_is_written(kit, tmp_path, monkeypatch):
    from recanon_sdk.models import create_model
    from recanon_sdk.runtime import sealed_gy as sealed_models

    bundle = tmp_path / "lobby.gy.sealed"
    bundle.write_bytes(
        sealed_models.seal_gy(
            create_model("gy_unet_s"),
            "gy_unet_s",
            bytes(32),
            deployment=kit["dep"],
            device_key=kit["device"],
            input_size=(64, 32),
        )
    )
    log = tmp_path / "audit.jsonl"
    entries_when_opened = []
    real_open = sealed_models.open_sealed_gy

    def recording_open(*args, **kwargs):  # what the log held when GY was decrypted
        entries_when_opened.append(len(log.read_bytes().splitlines()) if log.exists() else 0)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(sealed_models, "open_sealed_gy", recording_open)
    video = kit["folder"] / "monday" / "monday.anon.mp4"
    folder = kit["folder"]
    cli(
        "recover", video, "--key", folder / "alice.key", "-d", folder / "lobby.deployment", "-q",
        "--learned", "--bundle", bundle, "--audit-log", log, "-o", tmp_path / "gy.mp4",
    )  # fmt: skip
    assert entries_when_opened == [1]
    assert rk.verify_audit_log(log, deployment=kit["dep"]).log[0].event["mode"] == "learned"


def test_stills_overwrite_never_deletes_a_folder_recanon_did_not_write(kit, tmp_path):
    video = kit["folder"] / "monday" / "monday.anon.mp4"
    stills = tmp_path / "evidence"
    (stills / "sub").mkdir(parents=True)
    (stills / "thesis.txt").write_text("four years of work")
    (stills / "sub" / "notes.txt").write_text("more")
    result = recover(kit, video, "-o", tmp_path / "x.mp4", "--stills", stills, "--overwrite", code=1)
    assert "holds files recanon did not write" in result.stderr and "thesis.txt" in result.stderr
    assert (stills / "thesis.txt").read_text() == "four years of work" and (
        stills / "sub" / "notes.txt"
    ).exists()
    assert not (tmp_path / "x.mp4").exists()
    ours = tmp_path / "ours"
    recover(kit, video, "-o", tmp_path / "a.mp4", "--stills", ours, "--track", 1, "--to", "0.1")
    first = sorted(p.name for p in ours.iterdir())
    recover(kit, video, "-o", tmp_path / "b.mp4", "--stills", ours, "--overwrite")  # only recanon's: replaced
    second = sorted(p.name for p in ours.iterdir())
    assert len(first) < len(second) == FRAMES and set(first) <= set(second)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_recovered_outputs_are_readable_only_by_their_owner_unless_asked(kit, tmp_path):
    video = kit["folder"] / "monday" / "monday.anon.mp4"

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    old = os.umask(0o022)  # a usual umask: files 0644 unless recanon says otherwise
    try:
        recover(kit, video, "-o", tmp_path / "x.mp4", "--stills", tmp_path / "stills")
        assert mode(tmp_path / "x.mp4") == 0o600 and mode(tmp_path / "stills") == 0o700
        assert {mode(p) for p in (tmp_path / "stills").iterdir()} == {0o600}
        recover(kit, video, "-o", tmp_path / "y.mp4", "--stills", tmp_path / "shared", "--file-mode", "0640")
        assert mode(tmp_path / "y.mp4") == 0o640 and mode(tmp_path / "shared") == 0o750
        assert {mode(p) for p in (tmp_path / "shared").iterdir()} == {0o640}
    finally:
        os.umask(old)
    result = recover(kit, video, "-o", tmp_path / "z.mp4", "--file-mode", "0666", code=1)
    assert "lets others write" in result.stderr
