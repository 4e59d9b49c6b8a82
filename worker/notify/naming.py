"""The study's name in email subjects, made safe for a header line.

A name comes from the settings (``email.study_name``) or REDCap's project title, either of
which may hold anything: line breaks would end the header early (and the email library
refuses them), tabs and runs of spaces read badly, brackets would close the subject's tag,
and a long title would push the count out of sight in an inbox list.
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 60
PRODUCT = "REDCap worker"


def header_text(text: str, limit: int = MAX_NAME) -> str:
    """``text`` on one line: control characters and whitespace runs become one space,
    brackets become parentheses, and at most ``limit`` characters (an ellipsis marks a cut)."""
    cleaned = "".join(
        " " if c.isspace() or unicodedata.category(c).startswith("C") else c for c in text
    )
    cleaned = " ".join(cleaned.translate(str.maketrans("[]", "()")).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def study_name(configured: str | None, title: str) -> str:
    """The configured short name if it has any text, else the project title (may be "")."""
    return header_text(configured if configured and configured.strip() else title)


def subject_prefix(study: str) -> str:
    """``[REDCap worker: NAME]``, or ``[REDCap worker]`` for a study with no name."""
    return f"[{PRODUCT}: {study}]" if study else f"[{PRODUCT}]"
