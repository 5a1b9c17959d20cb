"""File names and URLs as an attacker or an accident makes them: credentials never leave the process,
odd names work or are refused before anything is written, and nothing drives the terminal."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT, write_test_video
from tests.test_cli import run

DEMO = ROOT / "examples" / "demo"
SIGNED = [
    "--deployment",
    str(DEMO / "demo.deployment"),
    "--device-key",
    str(DEMO / "DEMO-device.key"),
    "--seal-originals",
]


def _files(folder: Path) -> list[str]:
    return sorted(os.fsdecode(p) for p in os.listdir(folder))


def _clip(folder: Path, name: str | bytes) -> Path:
    source = folder / "clip.mp4"
    write_test_video(source, [i * 40 for i in range(3)], size=(120, 160))
    target = os.path.join(os.fsencode(folder), os.fsencode(name))
    os.rename(os.fsencode(source), target)
    return Path(os.fsdecode(target))


def test_a_tab_in_a_signed_input_name_is_refused_before_anything_is_written(tmp_path):
    source = _clip(tmp_path, "walk\tnight.mp4")
    result = run("anonymize", str(source), "--quiet", *SIGNED)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("recanon: error:")]
    assert len(errors) == 1 and "cannot be signed" in errors[0], result.stderr  # (after the DEMO-key warning)
    assert "\t" not in result.stderr  # the name is shown escaped
    assert _files(tmp_path) == ["walk\tnight.mp4"], "an output was written before the refusal"


def test_a_tab_in_an_unsigned_name_just_works(tmp_path):
    source = _clip(tmp_path, "walk\tnight.mp4")
    result = run("anonymize", str(source), "--quiet")
    assert result.returncode == 0, result.stderr
    header = json.loads((tmp_path / "walk\tnight.anon.pose.jsonl").read_text().splitlines()[0])
    assert header["source"]["name"] == "walk\tnight.mp4"


def test_a_name_that_is_not_utf8_works_unsigned_and_is_refused_signed(tmp_path):
    source = _clip(tmp_path, b"caf\xe9.mp4")
    signed = run("anonymize", str(source), "--quiet", *SIGNED)
    assert signed.returncode == 1 and "not valid UTF-8" in signed.stderr, signed.stderr
    assert _files(tmp_path) == [os.fsdecode(b"caf\xe9.mp4")]
    unsigned = run("anonymize", str(source), "--quiet")
    assert unsigned.returncode == 0, unsigned.stderr
    sidecar = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9.anon.pose.jsonl")))
    header = json.loads(sidecar.read_text(encoding="utf-8").splitlines()[0])
    assert header["source"]["name"] == "caf\ufffd.mp4"


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server for ``tmp_path/www`` that ignores credentials and query strings."""
    www = tmp_path / "www"
    www.mkdir()
    write_test_video(www / "cam.mp4", [i * 40 for i in range(6)], size=(120, 160))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_stream_credentials_never_reach_the_sidecar_or_messages(served, tmp_path):
    url = f"http://admin:hunter2@{served}/cam.mp4?channel=1&token=s3cr3t"
    out = tmp_path / "cam.anon.mp4"
    result = run("anonymize", url, "-o", str(out), "--max-frames", "3")
    assert result.returncode == 0, result.stderr
    sidecar = (tmp_path / "cam.anon.pose.jsonl").read_text()
    name = json.loads(sidecar.splitlines()[0])["source"]["name"]
    assert name == f"http://{served}/cam.mp4?channel=1&token=REDACTED"
    for secret in ("hunter2", "admin", "s3cr3t"):
        assert secret not in sidecar and secret not in result.stderr + result.stdout
    gone = f"http://admin:hunter2@{served}/gone.mp4?token=s3cr3t"
    missing = run("anonymize", gone, "-o", str(tmp_path / "gone.mp4"), "--quiet")
    assert missing.returncode == 1 and missing.stderr.startswith("recanon: error:")
    assert "hunter2" not in missing.stderr and "s3cr3t" not in missing.stderr


def test_escape_sequences_in_a_name_do_not_reach_the_terminal(tmp_path):
    source = tmp_path / "clip\x1b[2J\x1b]8;;evil\x07.mp4"
    shutil.copy(ROOT / "examples" / "walking.mp4", source)
    source.with_name("clip\x1b[2J\x1b]8;;evil\x07.anon.mp4").write_bytes(b"")  # "exists already"
    result = run("anonymize", str(source), "--quiet")
    assert result.returncode == 1 and "exists already" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_overwrite_never_deletes_files_recanon_did_not_write(tmp_path):
    import cv2
    from recanon_sdk.errors import OutputError

    from tests.test_anonymizer import FixedDetector, make, textured

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        cv2.imwrite(str(photos / f"p{i}.png"), textured(seed=i))
    target = tmp_path / "photos.anon"
    target.mkdir()
    (target / "thesis.txt").write_text("years of work")
    (target / "sub").mkdir()
    with pytest.raises(OutputError, match="holds files recanon would not write"):
        make(FixedDetector()).process_video(photos, target, overwrite=True)
    assert (target / "thesis.txt").read_text() == "years of work" and (target / "sub").is_dir()
    (target / "thesis.txt").unlink()
    (target / "sub").rmdir()
    (target / "p0.png").write_bytes(b"an earlier run")  # recanon's own earlier output is replaced
    result = make(FixedDetector()).process_video(photos, target, overwrite=True)
    assert sorted(p.name for p in result.output.iterdir()) == ["p0.png", "p1.png"]
    assert (target / "p0.png").read_bytes() != b"an earlier run"
