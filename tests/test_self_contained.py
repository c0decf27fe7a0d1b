"""The repository explains itself: no file it tracks points at documents it does not hold (the team's
notes outside the checkout), and the architecture document it links from the README exists."""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\b(?:DESIGN|REFERENCE)\.md\b|\.\./shared\b|/work/shared\b")


def test_no_file_cites_documents_outside_the_repository():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    offenders = []
    for name in files.decode().split("\0"):
        path = REPO / name
        if not name or path == Path(__file__) or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (images, weights)
        offenders += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert not offenders, offenders


def test_the_readme_links_the_architecture_document():
    readme = (REPO / "README.md").read_text()
    assert "docs/architecture.md" in readme
    architecture = (REPO / "docs" / "architecture.md").read_text()
    for heading in ("## Apps and import direction", "## Layers inside an app", "## From a sound to a Table 5 cell",
                    "## Where a change goes"):
        assert heading in architecture
    for linked in re.findall(r"\]\(([^)#]+)\)", architecture):
        assert (REPO / "docs" / linked).exists(), linked
