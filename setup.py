"""The build step pyproject.toml cannot express: ship the demo study inside the wheel.

The repository keeps the demo study at its top (``config.example.toml``, ``mappings/``,
``rules/``, ``demo/``), where people read and edit it. A wheel holds packages only, so
building one copies those into the ``worker_demo`` package (``worker_demo.BUNDLED`` names
them); ``--sandbox`` then finds the study in the installed package from any folder. An
editable install needs no copy: ``worker_demo`` finds the study in the checkout.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = "worker_demo"


def bundled_names() -> tuple[str, ...]:
    """``worker_demo.BUNDLED``, read from the source (the package is not importable here)."""
    tree = ast.parse((HERE / PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "BUNDLED" for target in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit(f"{PACKAGE}/__init__.py defines no BUNDLED")


class BuildWithDemo(build_py):
    """``build_py``, then the demo study copied into the built ``worker_demo`` package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / PACKAGE
        for name in bundled_names():
            source = HERE / name
            # A build folder is reused between builds: a file removed from the study must
            # not linger in the next wheel.
            if (target / name).is_dir():
                shutil.rmtree(target / name)
            if source.is_dir():
                shutil.copytree(
                    source,
                    target / name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"),
                )
            elif source.is_file():
                shutil.copy2(source, target / name)
            else:
                raise SystemExit(f"the demo study lacks {name}: cannot build the wheel")


setup(cmdclass={"build_py": BuildWithDemo})
