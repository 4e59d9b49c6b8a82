"""The worker's own source as files, for the tests that walk it (imports, names)."""

from __future__ import annotations

from pathlib import Path

from tests.support.projects import REPO


def module_files(root: Path = REPO / "worker") -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by __init__)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found
