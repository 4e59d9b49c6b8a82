"""The demo study that ships with the worker, so ``--sandbox`` works from any folder.

The repository keeps the study at its top: ``config.example.toml``, ``mappings/``,
``rules/`` and ``demo/``. Building the wheel copies them into this package (see
``setup.py``), so an installed worker carries them here; in a source checkout (an editable
install, or ``python -m worker`` from the repository) this package holds only this file and
the study is read where it lives, one folder up. Either way :data:`ROOT` is the folder that
holds the example config, and the config's relative paths resolve against it.
"""

from __future__ import annotations

from pathlib import Path

# What the wheel copies into this package: the example config and the folders it names
# (literal names: setup.py reads them from this file without importing it).
BUNDLED = ("config.example.toml", "mappings", "rules", "demo")
EXAMPLE_CONFIG_NAME = BUNDLED[0]

PACKAGE = Path(__file__).resolve().parent


def _root() -> Path:
    if (PACKAGE / EXAMPLE_CONFIG_NAME).is_file():
        return PACKAGE  # installed from a wheel
    return PACKAGE.parent  # a source checkout


ROOT = _root()
# The bundled example config (it may be absent from a source tree stripped of the study).
EXAMPLE_CONFIG = ROOT / EXAMPLE_CONFIG_NAME
