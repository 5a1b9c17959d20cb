"""Hostile sidecars and names: bounded reads, one-sentence refusals (never exit 70), nothing for the terminal
to interpret (Rich markup, escape sequences)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import recanon_keys as rk
from recanon_cli.main import app
from typer.testing import CliRunner

from tests.test_recovery_hardening import anonymize

ROOT = Path(__file__).resolve().parents[1]
BIG_LINE = 200 * 1024 * 1024


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kit")
    device = rk.generate_device_key("cam")
    alice = rk.generate_holder("alice")
    dep = rk.create_deployment("lobby", device_key=device, holders=[alice.public])
    (folder / "lobby.deployment").write_bytes(dep.to_bytes())
    rk.save_private_key(folder / "alice.key", alice, passphrase=None, unsafe_no_passphrase=True)
    anonymize(folder / "run", {"device": device, "alice": alice, "dep": dep}, "out.mp4")
    return folder


def copy_run(kit, to):
    shutil.copytree(kit / "run", to)
    return to / "out.mp4"


def recover_args(kit, video, *extra):
    return ["recover", str(video), "--key", str(kit / "alice.key"), "-d", str(kit / "lobby.deployment"),
            "--audit-log", str(video.parent / "audit.jsonl"), "-q", *map(str, extra)]  # fmt: skip


def commands(kit, video):
    return {
        "recover": recover_args(kit, video, "-o", video.with_name("a.mp4")),
        "recover --no-verify": recover_args(kit, video, "--no-verify", "-o", video.with_name("b.mp4")),
        "inspect": ["inspect", str(video.with_name("out.pose.jsonl"))],
        "verify": ["verify", str(video), "-d", str(kit / "lobby.deployment")],
    }


# The child's own peak: VmHWM belongs to the process's memory map, which exec replaces (ru_maxrss
# would carry over the peak of the pytest process that started it).
RUN_AND_MEASURE = """
import json, os, resource, sys
from recanon_cli.main import main
report = os.environ["RECANON_TEST_REPORT"]
sys.argv = ["recanon", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as stop:
    code = stop.code
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if os.path.exists("/proc/self/status"):
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
with open(report, "w") as out:
    json.dump({"code": code, "max_rss_mb": peak}, out)
"""


def run_measured(args, tmp_path):
    report = tmp_path / "report.json"
    env = {**os.environ, "RECANON_TEST_REPORT": str(report), "YOLO_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_MEASURE, json.dumps(args)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    measured = json.loads(report.read_text())
    return measured["code"], measured["max_rss_mb"], done.stderr


def test_a_200_mb_sidecar_line_is_refused_with_little_memory(kit, tmp_path):
    video = copy_run(kit, tmp_path / "copy")
    sidecar = video.with_name("out.pose.jsonl")
    header = sidecar.read_bytes().split(b"\n", 1)[0] + b"\n"
    with open(sidecar, "wb") as handle:  # sparse: a header, then one 200 MB line of NUL bytes
        handle.write(header)
        handle.truncate(len(header) + BIG_LINE)
        handle.seek(0, os.SEEK_END)
        handle.write(b"\n")
    baseline = {}
    for name, args in commands(kit, copy_run(kit, tmp_path / "intact")).items():
        code, rss, err = run_measured(args, tmp_path)
        assert code == 0, (name, err)
        baseline[name] = rss
    for name, args in commands(kit, video).items():
        code, rss, err = run_measured(args, tmp_path)
        assert code == 1 and "recanon: error:" in err and err.count("error:") == 1, (name, code, err)
        # what the same command needs on the intact output, plus at most one bounded line (16 MiB
        # through the signature check, 4 MiB through the sidecar reader) and its parsing
        assert rss < baseline[name] + 64, (name, rss, baseline[name])


def hostile(kit, tmp_path, line_number, line):
    video = copy_run(kit, tmp_path / "copy")
    sidecar = video.with_name("out.pose.jsonl")
    lines = sidecar.read_bytes().splitlines(keepends=True)
    lines[line_number - 1] = line + b"\n"
    sidecar.write_bytes(b"".join(lines))
    return video


@pytest.mark.parametrize(
    ("line_number", "line", "message"),
    [
        (2, b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (2, b'{"type":"frame","index":' + b"7" * 5000 + b',"persons":[]}', "integer of 5000 digits"),
        (1, b'{"type":"header","x":' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested too deeply"),
        (2, b'{"type":"frame","index":1,"time":1e999,"persons":[]}', "malformed frame record"),
        (2, b'{"type":"frame","index":1,"persons":[{"box":[1,2,3,4],"score":1,"keypoints":[],'
         b'"region":[99999999999999999999,0,1,1]}]}', "malformed"),
    ],
)  # fmt: skip
def test_deep_nesting_and_huge_numbers_are_one_sentence_not_an_internal_error(
    kit, tmp_path, line_number, line, message
):
    video = hostile(kit, tmp_path, line_number, line)
    for name, args in commands(kit, video).items():
        result = CliRunner().invoke(app, args)
        assert isinstance(result.exception, SystemExit), (name, repr(result.exception))
        assert result.exit_code == 1 and result.stderr.count("recanon: error:") == 1, (name, result.output)
        if name in ("recover --no-verify", "inspect"):  # the signature check refuses the others first
            assert message in result.stderr, (name, result.stderr)


ESCAPES = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x1b[2J"


def test_inspect_prints_sidecar_text_literally(kit, tmp_path):
    video = copy_run(kit, tmp_path / "copy")
    sidecar = video.with_name("out.pose.jsonl")
    lines = sidecar.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["tool"] = "[/]"
    header["source"]["name"] = f"cam{ESCAPES}[link=https://evil.example]here[/link]"
    header["models"]["enhancer"]["name"] = "[bold red]pixelate"
    sidecar.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    result = CliRunner().invoke(app, ["inspect", str(sidecar)])
    assert result.exit_code == 0, result.output
    assert "written by [/])" in result.stdout
    assert "[link=https://evil.example]here[/link]" in result.stdout and "[bold red]pixelate" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "cam\\x1b]8;;https://evil.example\\x07click" in result.stdout


def test_verify_and_recover_escape_names_from_files(kit, tmp_path):
    name = "out\x1b]0;pwned\x07\x1b[2J.mp4"  # a file name: no "/"
    folder = tmp_path / "copy"
    video = copy_run(kit, folder)
    for path in list(folder.iterdir()):
        if path.name.startswith("out."):
            path.rename(folder / path.name.replace("out.", name[:-3], 1))
    video = folder / name
    result = CliRunner().invoke(app, ["verify", str(video), "-d", str(kit / "lobby.deployment")])
    assert "\x1b" not in result.output and "\x07" not in result.output and "\\x1b" in result.output
    assert result.exit_code == 1 and "signed as 'out.mp4'" in result.stdout, result.output
    sidecar = video.with_name(name[:-4] + ".pose.jsonl")  # an unverified sidecar naming hostile originals
    lines = sidecar.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["originals"]["name"] = f"gone{ESCAPES}.sealed"
    sidecar.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    result = CliRunner().invoke(app, recover_args(kit, video, "--no-verify", "-o", tmp_path / "x.mp4"))
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert result.exit_code == 1 and "are missing" in result.stderr, result.output
