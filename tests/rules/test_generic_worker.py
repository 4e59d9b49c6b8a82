"""The worker (``worker/``, the sandbox included) is generic: it names no dNK field, form or
event, and holds none of the protocol's distinctive numbers. All of that lives in
``mappings/nk_trial.toml`` and ``rules/nk_trial/``."""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from tests.support.nk_trial import PROJECT
from tests.support.projects import REPO

WORKER = REPO / "worker"

# Words a generic program may use although the dNK project also uses them as names:
# - record_id: REDCap's conventional record-ID field name, used generically for a record's ID;
# - enrollment: an English word (generic comments speak of "an enrollment cap").
# They are allowed in names, comments and docstrings, never as a string value in code.
GENERIC_WORDS = {"record_id", "enrollment"}

# The protocol's numbers that have no generic meaning in this code base. The others (1, 2,
# 6, 7, 10, 30, 50, 60, 80, 0.5) are everyday literals here (seconds per minute, 80 columns,
# retry delays) and would prove nothing; the rules' own code is held to all of them
# (tests/rules/test_params.py).
PROTOCOL_NUMBERS = {"14", "21", "28", "84", "90", "182", "183", "301"}


def dnk_names() -> set[str]:
    metadata = json.loads((PROJECT / "metadata.json").read_text(encoding="utf-8"))
    events = json.loads((PROJECT / "events.json").read_text(encoding="utf-8"))
    names = {row["field_name"] for row in metadata} | {row["form_name"] for row in metadata}
    names |= {e["unique_event_name"] for e in events}
    # The longitudinal name shapes too (fu_m3_arm_1 -> "fu_m"), in case one is built up.
    names |= {re.sub(r"\d+_arm_\d+$", "", e["unique_event_name"]) for e in events}
    return {n for n in names if len(n) > 2}


def python_files() -> list[Path]:
    return sorted(p for p in WORKER.rglob("*.py") if "__pycache__" not in p.parts)


def tokens(path: Path) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline))


def is_docstring(previous: tokenize.TokenInfo | None, tok: tokenize.TokenInfo) -> bool:
    return tok.type == tokenize.STRING and (
        previous is None or previous.type in (tokenize.INDENT, tokenize.NEWLINE, tokenize.DEDENT)
    )


def test_the_scan_covers_the_whole_worker_including_the_sandbox() -> None:
    files = {p.relative_to(WORKER).parts[0] for p in python_files()}
    assert {"core", "cli", "sandbox", "pipeline.py"} <= files


@pytest.mark.slow
def test_the_worker_names_no_dnk_field_form_or_event() -> None:
    names = dnk_names()
    longest_first = sorted(names, key=len, reverse=True)
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, longest_first)) + r")")
    found: list[str] = []
    for path in python_files():
        previous = None
        for tok in tokens(path):
            if tok.type in (tokenize.STRING, tokenize.NAME, tokenize.COMMENT):
                prose = tok.type == tokenize.COMMENT or is_docstring(previous, tok)
                for match in pattern.finditer(tok.string):
                    word = match.group(1)
                    longer = re.match(r"\w", tok.string[match.end() :])  # record_id_field
                    if word in GENERIC_WORDS and (prose or longer or tok.type == tokenize.NAME):
                        continue
                    found.append(f"{path.relative_to(REPO)}:{tok.start[0]}: {word}")
            if tok.type not in (tokenize.NL, tokenize.COMMENT):
                previous = tok
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_the_worker_holds_no_distinctive_protocol_number() -> None:
    number = re.compile(r"(?<![\w.-])(\d+(?:\.\d+)?)(?![\w.])")
    found: list[str] = []
    for path in python_files():
        for tok in tokens(path):
            if tok.type == tokenize.NUMBER:
                values = [tok.string]
            elif tok.type == tokenize.STRING:
                values = number.findall(tok.string)
            else:
                continue  # comments may cite anything
            found += [
                f"{path.relative_to(REPO)}:{tok.start[0]}: {v}"
                for v in values
                if v in PROTOCOL_NUMBERS
            ]
    assert not found, "\n".join(found)
