"""The documentation holds: links resolve, no work-log vocabulary, and the commands shown run.

* Every relative link in README.md, docs/, research/, benchmarks/README.md and examples/ resolves to a
  file, and every ``#anchor`` to a heading of the target (GitHub's heading slugs).
* No tracked file speaks of numbered work rounds, issue numbers or the current work session (the
  research log may narrate experiments as findings but never cites issue numbers).
* Every ``recanon …`` command in a shell block of README.md and docs/guide.md runs, in document order,
  in one folder per page that holds what the pages assume: ``walk.mp4`` (3 frames of the bundled
  sample with a person in view), ``photos/`` (one still) and the DEMO kit as ``examples/demo/``.
  Python blocks run there too (``rgb_frame`` is given). A block that cannot run here is preceded by
  ``<!-- not run: REASON -->``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import unicodedata
from pathlib import Path

import av
import pytest

from tests.conftest import ROOT

LINKED_DOCS = sorted(
    {ROOT / "README.md", ROOT / "benchmarks" / "README.md"}
    | set((ROOT / "docs").rglob("*.md"))
    | set((ROOT / "research").rglob("*.md"))
    | set((ROOT / "examples").rglob("*.md"))
)
RUN_DOCS = ["README.md", "docs/guide.md"]
USER_DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "examples").rglob("*.md")),
]

WORK_LOG = re.compile(r"\b(stop[- ][0-9]+|issue[- ]?#?[0-9]+|this\s+session)\b", re.IGNORECASE)
ISSUE = re.compile(r"\bissue[- ]?#?[0-9]+\b", re.IGNORECASE)
RESEARCH_LOG = "research/LOG.md"
#: Files another owner is rewording: how many matches they still hold. The test fails once the count
#: changes, so the exception is removed as soon as it is no longer needed.
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(\S.*?)\s*-->\s*$")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)


# --- links ------------------------------------------------------------------------------------------


def without_fences(text: str) -> str:
    """The markdown without its fenced blocks (line numbers kept)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def without_code(text: str) -> str:
    """The markdown without fenced blocks and inline code (links there are examples, not links)."""
    return re.sub(r"`[^`\n]*`", "", without_fences(text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation out, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "")
    text = unicodedata.normalize("NFC", text).lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for match in HEADING.finditer(without_fences(path.read_text())):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def broken_links(doc: Path) -> list[str]:
    problems = []
    for target in LINK.findall(without_code(doc.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        where = f"{doc.relative_to(ROOT)}: ({target})"
        if not path.exists():
            problems.append(f"{where}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"{where}: no heading #{anchor} in {path.name}")
    return problems


def test_the_documents_checked_exist():
    names = {str(p.relative_to(ROOT)) for p in LINKED_DOCS}
    assert {
        "README.md",
        "docs/guide.md",
        "docs/results.md",
        "research/LOG.md",
        "benchmarks/README.md",
    } <= names


@pytest.mark.parametrize("doc", LINKED_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    assert broken_links(doc) == []


def test_slugs_follow_github():
    assert slug("Does GX's input size limit pose?") == "does-gxs-input-size-limit-pose"
    assert slug("Pinned where the head is (`model.pin_head`)") == "pinned-where-the-head-is-modelpin_head"
    assert slug("Per-deployment keys: keyed band scrambling") == "per-deployment-keys-keyed-band-scrambling"


# --- words ------------------------------------------------------------------------------------------


def tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file but the venv
        paths = [p for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts]
    return [p for p in paths if p.is_file() and p.stat().st_size < 5_000_000]


def work_log_words(path: Path) -> list[str]:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        return []
    pattern = ISSUE if path.relative_to(ROOT).as_posix() == RESEARCH_LOG else WORK_LOG
    return [m.group(0) for m in pattern.finditer(text)]


def test_no_work_rounds_issue_numbers_or_sessions_in_the_tree():
    found = {}
    for path in tracked_text_files():
        words = work_log_words(path)
        name = path.relative_to(ROOT).as_posix()
        if words:
            found[name] = words
    assert found == {}


def test_user_docs_do_not_point_at_the_test_data():
    for doc in USER_DOCS:
        text = doc.read_text()
        assert "../shared" not in text and "RECANON_SHARED" not in text, doc.relative_to(ROOT)


# --- commands ---------------------------------------------------------------------------------------


def blocks(text: str) -> list[tuple[str, str, str | None]]:
    """(language, body, reason it is not run or None) of every fenced block, in order."""
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = NOT_RUN.search(before)
        found.append((match.group(1), match.group(2), reason.group(1) if reason else None))
    return found


def shell_commands(body: str) -> list[list[str]]:
    """The ``recanon …`` commands of a shell block as argument lists (continuations joined)."""
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "recanon":
            commands.append(words)
    return commands


def write_clip(path: Path, first: int = 6, count: int = 3) -> list:
    """Frames first … first+count-1 of the bundled sample (a person in view from frame 6)."""
    frames = []
    with av.open(str(ROOT / "examples" / "walking.mp4")) as source, av.open(str(path), "w") as sink:
        stream = sink.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 768, 432, "yuv420p"
        for index, frame in enumerate(source.decode(video=0)):
            if index >= first + count:
                break
            if index >= first:
                frames.append(frame.to_ndarray(format="rgb24"))
                sink.mux(stream.encode(av.VideoFrame.from_ndarray(frames[-1], format="rgb24")))
        sink.mux(stream.encode())
    return frames


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """The folder the pages assume; the working directory while their commands run."""
    import cv2

    frames = write_clip(tmp_path / "walk.mp4")
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "p1.jpg"), cv2.cvtColor(frames[1], cv2.COLOR_RGB2BGR))
    shutil.copytree(ROOT / "examples" / "demo", tmp_path / "examples" / "demo")
    for clip in ("archive/lobby.mp4", "archive/2026/door.mp4", "cams/cam1.mp4"):  # batch examples
        (tmp_path / clip).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "walk.mp4", tmp_path / clip)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECANON_PASSPHRASE", "a passphrase for the docs test")
    monkeypatch.delenv("RECANON_DEPLOYMENT", raising=False)
    return tmp_path, frames[0]


@pytest.mark.parametrize("page", RUN_DOCS)
def test_every_command_shown_runs(page, sandbox):
    from recanon_cli.main import app
    from typer.testing import CliRunner

    _, rgb_frame = sandbox
    runner, ran, skipped = CliRunner(), 0, 0
    for language, body, reason in blocks((ROOT / page).read_text()):
        if reason is not None:
            skipped += 1
            continue
        if language == "python":
            exec(compile(body, f"{page} (python block)", "exec"), {"rgb_frame": rgb_frame})
            ran += 1
            continue
        for words in shell_commands(body):
            result = runner.invoke(app, words[1:])
            assert result.exit_code == 0, (
                f"{page}: `{shlex.join(words)}` exited {result.exit_code}:\n{result.output}"
            )
            ran += 1
    assert ran >= 8, f"{page}: only {ran} commands ran"
    assert not os.path.exists(ROOT / "examples" / "demo" / "demo.audit.jsonl")


def test_a_block_marked_not_run_needs_a_reason():
    for page in RUN_DOCS:
        text = (ROOT / page).read_text()
        assert not re.search(r"<!--\s*not run:?\s*-->", text), page


def test_the_formats_example_header_is_what_a_default_run_writes(sandbox):
    """docs/formats.md's literal header shows the backend and pose model the default writes."""
    import json

    from recanon_sdk import Anonymizer

    result = Anonymizer().process_video("walk.mp4", "fmt.mp4", max_frames=2)
    header = json.loads(result.sidecar.read_text().splitlines()[0])
    example = (ROOT / "docs" / "formats.md").read_text()
    pose = header["models"]["pose"]
    # the default engine depends on the CPU (OpenVINO where bf16 is native, else ONNX Runtime): the
    # example shows one of them and the table names both
    shown = f'"backend":"{pose["backend"]}"' in example
    both_named = "`openvino`" in example and "`onnx`" in example
    assert shown or (pose["backend"] in ("onnx", "openvino") and both_named)
    assert f'"name":"{pose["name"]}"' in example
    assert f'"origin":"{pose["origin"]}"' in example and pose["sha256"][:8] in example
