"""Scripting recanon: ``inspect --json``/``--csv`` and ``verify --json`` print one record a program reads."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from recanon_cli.main import app
from typer.testing import CliRunner

from tests.conftest import ROOT

runner = CliRunner()
WALK = ROOT / "examples" / "walking.mp4"
DEMO = ROOT / "examples" / "demo"
SIGNING = ["--deployment", str(DEMO / "demo.deployment"), "--device-key", str(DEMO / "DEMO-device.key")]


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory):
    """A signed run of 6 frames from 1 s on (the person in view), with its sidecar."""
    folder = tmp_path_factory.mktemp("run")
    out = folder / "run.mp4"
    result = runner.invoke(
        app, ["anonymize", str(WALK), "-o", str(out), "--from", "1", "--max-frames", "6", "-q", *SIGNING]
    )
    assert result.exit_code == 0, result.output
    return out, folder / "run.pose.jsonl"


def test_inspect_json_is_one_line_with_the_summary(signed_run):
    _, sidecar = signed_run
    result = runner.invoke(app, ["inspect", str(sidecar), "--json"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and result.stderr == ""
    record = json.loads(result.stdout)
    assert record["frames"] == 6 and record["complete"] is True and record["obscured_frames"] == 0
    assert record["persons"] >= 5 and [t["id"] for t in record["tracks"]] == [1]
    assert record["models"]["pose"]["name"] == "yolo11n-pose-onnx"
    assert record["anonymization"]["cadence"]["detect_every"] == 3


def test_inspect_json_escapes_what_the_file_holds(tmp_path):
    from recanon_sdk.video.sidecar import SidecarWriter, make_header

    path = tmp_path / "evil.pose.jsonl"
    writer = SidecarWriter(path, make_header(source={"name": "cam\x1b]8;;https://x\x07\u202e.mp4"}))
    writer.finish(frames=0)
    writer.commit()
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout  # escaped, not raw
    assert json.loads(result.stdout)["source"]["name"] == "cam\x1b]8;;https://x\x07\u202e.mp4"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_inspect_csv_has_one_row_per_person_and_frame(signed_run, tmp_path):
    _, sidecar = signed_run
    result = runner.invoke(app, ["inspect", str(sidecar), "--csv", "-"])
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    record = json.loads(runner.invoke(app, ["inspect", str(sidecar), "--json"]).stdout)
    assert len(rows) == record["persons"] + record["held_regions"]
    first = rows[0]
    assert first["frame"] == "0" and first["status"] == "ok" and float(first["score"]) > 0.2
    assert {"track_id", "x0", "region_x0", "nose_x", "right_ankle_conf"} <= set(first)
    target = tmp_path / "people.csv"
    written = runner.invoke(app, ["inspect", str(sidecar), "--csv", str(target)])
    assert written.exit_code == 0 and f"wrote {len(rows)} rows" in written.stderr
    assert target.read_text() == result.stdout
    again = runner.invoke(app, ["inspect", str(sidecar), "--csv", str(target)])
    assert again.exit_code == 1 and "exists already" in again.stderr
    both = runner.invoke(app, ["inspect", str(sidecar), "--csv", "-", "--json"])
    assert both.exit_code == 1 and "both write to stdout" in both.stderr


def test_inspect_csv_without_pandas_writes_the_same_text(signed_run, monkeypatch):
    pytest.importorskip("pandas")
    _, sidecar = signed_run
    with_pandas = runner.invoke(app, ["inspect", str(sidecar), "--csv", "-"]).stdout
    monkeypatch.setitem(sys.modules, "pandas", None)  # the runtime install: import pandas fails
    without = runner.invoke(app, ["inspect", str(sidecar), "--csv", "-"])
    assert without.exit_code == 0, without.output
    assert without.stdout == with_pandas


def test_verify_json_is_one_record_with_every_check(signed_run):
    out, _ = signed_run
    result = runner.invoke(app, ["verify", str(out), "-d", str(DEMO / "demo.deployment"), "--json"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and result.stderr == ""
    record = json.loads(result.stdout)
    assert record["ok"] is True and record["output"]["ok"] is True
    assert record["output"]["checks"] and all(c["ok"] for c in record["output"]["checks"])
    assert record["output"]["signed"]["frames"] == 6 and record["output"]["signed"]["output"] == "run.mp4"
    assert record["deployment"]["name"] == "demo"


def test_verify_json_of_an_altered_output_says_what_failed(signed_run, tmp_path):
    out, sidecar = signed_run
    copy = tmp_path / out.name
    for path in out.parent.iterdir():
        if path.name.startswith("run."):
            (tmp_path / path.name).write_bytes(path.read_bytes())
    lines = (tmp_path / sidecar.name).read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"status":"ok"', b'"status":"ok" ')
    (tmp_path / sidecar.name).write_bytes(b"".join(lines))
    result = runner.invoke(app, ["verify", str(copy), "-d", str(DEMO / "demo.deployment"), "--json"])
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["ok"] is False and record["output"]["ok"] is False
    failed = [c for c in record["output"]["checks"] if not c["ok"]]
    assert failed and failed[0]["line"] == 4
    assert result.stderr.startswith("recanon: error:") and "does not verify" in result.stderr
