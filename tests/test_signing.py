"""Signed runs: the anonymizer signs its sidecar and a manifest; ``verify_output`` names what was altered."""

import numpy as np
import pytest
import recanon_keys as rk
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.enhance import Blur
from recanon_sdk.signing import RunSigner
from recanon_sdk.types import People

from tests.conftest import write_test_video


class OnePerson:
    def detect(self, images):
        return [People(xyxy=np.array([[30, 20, 80, 100]], np.float32), score=np.array([0.9])) for _ in images]


@pytest.fixture
def deployment():
    device = rk.generate_device_key("cam")
    holder = rk.generate_holder("alice")
    return device, rk.create_deployment("lobby", device_key=device, holders=[holder.public])


def run_signed(tmp_path, device, deployment):
    write_test_video(tmp_path / "in.mp4", [i * 40 for i in range(8)], size=(120, 160))
    anonymizer = Anonymizer(AnonymizerConfig(), detector=OnePerson(), enhancer=Blur())
    return anonymizer.process_video(
        tmp_path / "in.mp4", tmp_path / "out.mp4", signer=RunSigner(device, deployment)
    )


def test_signed_run_verifies_and_names_the_tampered_file(tmp_path, deployment):
    device, dep = deployment
    result = run_signed(tmp_path, device, dep)
    assert result.manifest == tmp_path / "out.manifest.json"
    report = rk.verify_output(tmp_path / "out.mp4", deployment=dep)
    assert report.ok, report
    lines = (tmp_path / "out.pose.jsonl").read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace('"status":"ok"', '"status":"OK"')
    (tmp_path / "out.pose.jsonl").write_text("".join(lines))
    report = rk.verify_output(tmp_path / "out.mp4", deployment=dep)
    assert not report.ok
    failed = [c for c in report.checks if not c.ok]
    assert any("line 4" in c.detail for c in failed), failed


def test_tampered_video_fails_verification(tmp_path, deployment):
    device, dep = deployment
    run_signed(tmp_path, device, dep)
    data = bytearray((tmp_path / "out.mp4").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "out.mp4").write_bytes(bytes(data))
    report = rk.verify_output(tmp_path / "out.mp4", deployment=dep)
    assert not report.ok and any(c.name == "video" and not c.ok for c in report.checks)


def test_wrong_device_key_is_refused_before_anything_is_written(tmp_path, deployment):
    from recanon_cli.main import app
    from typer.testing import CliRunner

    _, dep = deployment
    with pytest.raises(ValueError, match="device key"):
        RunSigner(rk.generate_device_key("other"), dep)
    # the command line: a run with a device key the deployment does not trust leaves no output behind
    (tmp_path / "lobby.deployment").write_bytes(dep.to_bytes())
    other = tmp_path / "other.device.key"
    rk.save_private_key(other, rk.generate_device_key("other"), passphrase=None, unsafe_no_passphrase=True)
    write_test_video(tmp_path / "in.mp4", [i * 40 for i in range(4)], size=(120, 160))
    inputs = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(
        app,
        ["anonymize", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out.mp4"), "-q",
         "--deployment", str(tmp_path / "lobby.deployment"), "--device-key", str(other)],
    )  # fmt: skip
    assert result.exit_code == 1 and "belongs to device key" in result.stderr, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == inputs  # no video, sidecar, signature, manifest


def test_a_renamed_output_fails_unless_renaming_is_allowed(tmp_path, deployment):
    device, dep = deployment
    run_signed(tmp_path, device, dep)
    for path in list(tmp_path.glob("out.*")):
        path.rename(path.with_name(path.name.replace("out.", "cam7.", 1)))
    report = rk.verify_output(tmp_path / "cam7.mp4", deployment=dep)
    assert [c.name for c in report.failures()] == ["video"]
    assert "signed as 'out.mp4'" in report.failures()[0].detail
    allowed = rk.verify_output(tmp_path / "cam7.mp4", deployment=dep, allow_rename=True)
    assert allowed.ok and "renamed (allowed)" in next(c.detail for c in allowed.checks if c.name == "video")


def test_verify_output_reads_every_file_through_the_opener(tmp_path, deployment):
    device, dep = deployment
    run_signed(tmp_path, device, dep)
    opened = []

    def opener(path):
        opened.append(path.name)
        return open(path, "rb")

    assert rk.verify_output(tmp_path / "out.mp4", deployment=dep, opener=opener).ok
    assert sorted(opened) == ["out.manifest.json", "out.mp4", "out.pose.jsonl", "out.pose.jsonl.sig"]
