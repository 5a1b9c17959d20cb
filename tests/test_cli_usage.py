"""The command line itself: usage errors as one sentence and exit 2, -h and --version, readable help."""

from __future__ import annotations

import re

import pytest
from recanon_cli.main import app
from typer.testing import CliRunner

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "said", "hint"),
    [
        (["anonymize", "x.mp4", "--bogus"], "anonymize: no such option: --bogus", "recanon anonymize --help"),
        (["recover", "x.mp4"], "recover: missing option '--key'", "recanon recover --help"),
        (["anonymize", "x.mp4", "--crf", "abc"], "invalid value for '--crf'", "recanon anonymize --help"),
        (["anonymize", "x.mp4", "--enhancer", "nope"], "invalid value for '--enhancer'", "anonymize --help"),
        (["nosuch"], "no such command 'nosuch'", "recanon --help"),
        (["keys", "holder", "new", "--bad"], "keys holder new: no such option", "keys holder new --help"),
        # an option without its value: Click gives no context, the command is read from the words
        (["inspect", "x.jsonl", "--csv"], "inspect: option '--csv' requires an argument", "inspect --help"),
        (["keys", "holder", "new", "--out"], "keys holder new: option '--out'", "keys holder new --help"),
    ],
)
def test_a_usage_error_is_one_sentence_a_hint_and_exit_2(args, said, hint):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("recanon: error: ") and said in lines[0]
    assert lines[1].startswith("recanon: hint: ") and hint in lines[1]
    assert "╭" not in result.output and "Usage:" not in result.output and result.stdout == ""


def test_version_and_short_help():
    from recanon_sdk._version import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"recanon {__version__}"
    for args in (["-h"], ["anonymize", "-h"], ["keys", "holder", "new", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage:" in result.stdout, args


@pytest.mark.parametrize("command", [["recover"], ["anonymize"], ["verify"], ["keys", "holder", "new"], []])
def test_flags_show_no_value_type_in_help(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    if command == ["recover"]:  # a flag pair and a plain flag, with their help text and nothing between
        assert re.search(r"--exact\s+--learned\s+exact: paste", result.stdout)
        assert re.search(r"--overwrite\s+Replace an existing output", result.stdout)


def test_brackets_in_help_texts_are_shown_as_written():
    result = runner.invoke(app, ["anonymize", "--help"], env={"COLUMNS": "250", "TERMINAL_WIDTH": "250"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "pip install 'recanon[openvino]'" in text and "pip install 'recanon[ray]'" in text


def test_a_missing_input_is_reported_before_an_existing_output(tmp_path):
    output = tmp_path / "taken.mp4"
    output.write_bytes(b"someone else's file")
    missing = tmp_path / "no-such-clip.mp4"
    result = runner.invoke(app, ["anonymize", str(missing), "-o", str(output)])
    assert result.exit_code == 1, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("recanon: error: ") and "no-such-clip.mp4" in first
    assert "exists" not in first or "does not exist" in first, first
    assert output.read_bytes() == b"someone else's file"


def test_the_public_demo_keys_are_named_as_such_when_a_run_uses_them(tmp_path):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "examples" / "demo"
    sample = Path(__file__).resolve().parents[1] / "examples" / "walking.mp4"
    args = ["anonymize", str(sample), "-o", str(tmp_path / "demo.anon.mp4"), "--max-frames", "2", "-q"]
    args += ["--deployment", str(demo / "demo.deployment"), "--device-key", str(demo / "DEMO-device.key")]
    result = runner.invoke(app, [*args, "--seal-originals"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert "is the public DEMO device key" in text and "never use it for real footage" in text
    assert "seals the originals to the public DEMO holder key" in text
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "walk.mp4").write_bytes(sample.read_bytes())
    batch = ["anonymize", str(folder), "-o", str(tmp_path / "anon"), "--max-frames", "2", "-q", "--jobs", "1"]
    result = runner.invoke(app, [*batch, "--deployment", str(demo / "demo.deployment"), "--device-key",
                                 str(demo / "DEMO-device.key")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "is the public DEMO device key" in " ".join(result.stderr.split())  # a batch says it too


def test_help_does_not_load_opencv_or_the_models():
    """`recanon --help` and usage errors stay quick: importing the command line loads neither OpenCV
    (about 0.2 s) nor an inference engine; they are imported when a command runs."""
    import subprocess
    import sys

    heavy = ["cv2", "onnxruntime", "openvino", "torch", "av"]
    code = f"import sys, recanon_cli.main; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"


def test_parsing_a_command_line_loads_no_pydantic():
    """typer 0.29 and later build a pydantic TypeAdapter for every option on every call (0.13 s of a
    one-frame run's 0.88 s); the dependency stays below it, and this holds the start-up to that."""
    import subprocess
    import sys

    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('pydantic' in sys.modules))\n"
        "from recanon_cli.main import main\n"
        "sys.argv = ['recanon', 'anonymize', 'no-such-video.mp4', '--quiet']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "no-such-video.mp4" in done.stderr, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
