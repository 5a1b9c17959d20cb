"""``recanon info``: every installed package reported importable, hints printed as written, ``--json``."""

from __future__ import annotations

import json

from recanon_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()


def test_a_package_imported_under_another_name_is_reported_importable():
    # the distribution is opencv-python, the module cv2: checking the distribution's name always fails
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    line = next(row for row in result.output.splitlines() if row.strip().startswith("opencv-python"))
    assert "cannot be imported" not in line and "not installed" not in line


def test_the_install_hint_keeps_its_brackets(monkeypatch):
    import recanon_sdk.metrics.faces as faces

    monkeypatch.setattr(faces, "embedder_available", lambda: False)
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    assert "pip install 'recanon[eval]'" in " ".join(result.output.split())


def test_info_json_is_one_record_on_stdout():
    result = runner.invoke(app, ["info", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["packages"]["opencv-python"]["importable"] is True
    assert report["packages"]["numpy"]["version"]
    assert report["weights"]["pose_onnx"]["available"] is True
    assert len(report["weights"]["pose_onnx"]["sha256"]) == 64
    assert report["re_identification"]["hint"] == "pip install 'recanon[eval]'"
    assert result.stdout.count("\n") == 1
