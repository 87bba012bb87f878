"""Every relative link in README.md and docs/ leads somewhere: the file exists, and a
`#heading` anchor names a heading (or an explicit anchor) of the page it points at. The README
and each docs page stay short enough to read (docs/development.md, "Documentation")."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<a href=\"([^\"]+)\"")
CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(page: Path) -> set[str]:
    text = CODE_BLOCK.sub("", page.read_text(encoding="utf-8"))
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M)
    explicit = re.findall(r"<a id=\"([^\"]+)\"", text)
    return {github_anchor(h) for h in headings} | set(explicit)


def relative_links(page: Path) -> list[str]:
    text = CODE_BLOCK.sub("", page.read_text(encoding="utf-8"))
    links = [a or b for a, b in LINK.findall(text)]
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I)]


def broken_links(page: Path) -> list[str]:
    broken = []
    for link in relative_links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors_of(path):
            broken.append(f"{link}: no heading #{anchor} in {path.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_pages_stay_short(page):
    limit = 200 if page.name == "README.md" else 300
    assert len(page.read_text(encoding="utf-8").splitlines()) < limit


def test_a_broken_link_is_reported(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-section) [gone](missing.md) [bad anchor](other.md#nothing)\n"
        "[web](https://example.org/) [self](#top)\n\n# Top\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nothing: no heading #nothing in other.md",
    ]


def test_every_docs_page_is_linked_from_the_readme():
    readme_links = {link.partition("#")[0] for link in relative_links(ROOT / "README.md")}
    pages = {str(p.relative_to(ROOT)) for p in PAGES if p.name != "README.md"}
    assert pages - readme_links == set()


# Code points its reader at a page by its path ("see docs/deployment.md, Backup and restore"),
# including messages people read: a renamed or merged page must not leave such a pointer behind.
CODE_FOLDERS = ("config", "core", "commitments", "tracker", "templates", "bin", "bench", "tests")
CODE_FILES = ("Makefile", "docker-compose.yml", "Dockerfile", ".env.example", ".ci/run")
DOCS_PATH = re.compile(r"\bdocs/[\w./-]+?\.md\b")


def code_files() -> list[Path]:
    files = [ROOT / name for name in CODE_FILES if (ROOT / name).is_file()]
    for folder in CODE_FOLDERS:
        files += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix != ".pyc"]
    return files


def missing_pages_named_in(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for name in DOCS_PATH.findall(text)
        if not (ROOT / name).is_file()
    ]


def test_every_docs_page_named_in_the_code_exists():
    assert [miss for path in code_files() for miss in missing_pages_named_in(path)] == []
