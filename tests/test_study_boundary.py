"""The study boundary, and documents that stand on their own.

- Nothing under ``worker/`` speaks the dNK study's language: its words live in
  ``rules/nk_trial/`` (``study.toml``, the checks), and the worker's own texts are generic.
  (``tests/rules/test_generic_worker.py`` holds the worker to naming no dNK field, form or
  event, and no protocol number.)
- No file of the repository points outside it: every document, docstring and comment cites
  something the repository holds (``docs/redcap-api-behaviour.md``,
  ``rules/nk_trial/SPEC.md``), and every relative link of a Markdown file resolves to a file
  inside the repository.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.projects import REPO

THIS = Path(__file__).resolve()

# The dNK study's words: its treatment, its population, its outcomes, its cell type.
DNK_WORDS = re.compile(r"pregnan|infusion|treated|menstrual", re.IGNORECASE)
DNK_CASED = re.compile(r"uNK")  # uterine NK cells; case matters ("bunk", "chunk")

# Pointers to material outside the repository: the shared briefing folder and its files,
# absolute paths of the machine the project was written on.
OUTSIDE = re.compile(
    r"\.\./shared|/work/|shared/nk_trial|redcap_api\.md|python_stack_notes|protocol\.md"
)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
SKIPPED_DIRS = {".git", ".venv", "state", "__pycache__", ".pytest_cache", ".ruff_cache"}


def repository_files() -> list[Path]:
    """The files the repository holds: git's list (new files not yet added included) where
    there is one, else the tree."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8")
        files = [REPO / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = [
            p
            for p in REPO.rglob("*")
            if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(REPO).parts)
        ]
    return sorted(p for p in files if p.is_file())


def text_lines(paths: list[Path]) -> Iterator[tuple[Path, int, str]]:
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file
        for number, line in enumerate(text.splitlines(), start=1):
            yield path, number, line


def where(path: Path, number: int, line: str) -> str:
    return f"{path.relative_to(REPO)}:{number}: {line.strip()}"


def test_the_scans_see_the_worker_the_documents_and_the_study() -> None:
    names = {p.relative_to(REPO).as_posix() for p in repository_files()}
    assert {
        "README.md",
        "worker/sandbox/README.md",
        "worker/core/visits.py",
        "rules/nk_trial/SPEC.md",
        "rules/nk_trial/study.toml",
        "docs/redcap-api-behaviour.md",
    } <= names


def test_the_worker_speaks_no_dnk_word() -> None:
    worker = [p for p in repository_files() if p.relative_to(REPO).parts[0] == "worker"]
    found = [
        where(path, number, line)
        for path, number, line in text_lines(worker)
        if DNK_WORDS.search(line) or DNK_CASED.search(line)
    ]
    assert not found, "dNK words under worker/ (they belong in rules/nk_trial/):\n" + "\n".join(
        found
    )


def test_the_scan_would_catch_a_dnk_word() -> None:
    assert DNK_WORDS.search("Visit windows per Treated participant")
    assert DNK_WORDS.search("not applicable: pregnant")
    assert DNK_CASED.search("abnormal uNK function")
    assert not DNK_CASED.search("a chunk of rows")


def test_nothing_points_outside_the_repository() -> None:
    found = [
        where(path, number, line)
        for path, number, line in text_lines([p for p in repository_files() if p != THIS])
        if OUTSIDE.search(line)
    ]
    assert not found, "pointers to files outside the repository:\n" + "\n".join(found)


def test_every_relative_link_of_a_document_resolves_inside_the_repository() -> None:
    root = REPO.resolve()
    broken: list[str] = []
    for path, number, line in text_lines([p for p in repository_files() if p.suffix == ".md"]):
        for target in MARKDOWN_LINK.findall(line):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor on the same page
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(root) or not resolved.exists():
                broken.append(where(path, number, line))
    assert not broken, "links to nothing inside the repository:\n" + "\n".join(broken)
