"""The README's two set-up commands exist, and CI runs the test command exactly as written there."""

import re

from tests.conftest import ROOT


def setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2
    assert "recanon anonymize examples/walking.mp4" in commands[0]
    assert "pytest" in commands[1]
    assert (ROOT / "examples" / "walking.mp4").is_file()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup_commands()[1] in ci.splitlines()


def test_readme_links_every_page_of_the_docs():
    """No page of docs/ is an orphan: the README's documentation list names each one."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)", section))
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert pages == linked


def test_readme_opens_with_the_picture_and_its_command():
    text = (ROOT / "README.md").read_text()
    picture = text.index("![")
    assert picture < text.index("## Set up") and "(docs/img/before_after.jpg)" in text[picture:]
    caption = text[picture:].split("\n\n", 2)[1]
    assert "recanon anonymize examples/walking.mp4" in caption and "docs/make_before_after.py" in caption
    assert (ROOT / "docs" / "img" / "before_after.jpg").is_file()
