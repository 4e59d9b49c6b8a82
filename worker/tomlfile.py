"""Reading the worker's TOML files (config, mapping, rules, study wording): every way one can
be unreadable (missing, a folder, no permission, not UTF-8, not TOML) is one line naming the
file, raised as the caller's error class."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from worker.errors import WorkerError


def read_toml(path: Path, what: str, error: type[WorkerError]) -> dict[str, Any]:
    """The TOML document at ``path``; ``what`` names it in errors ("mapping file")."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} {path} is not UTF-8 text (byte {exc.start + 1}): save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from None
