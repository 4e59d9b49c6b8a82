"""Can the worker read back what it writes? REDCap's data export rights (per form: Full Data
Set, Remove Identifiers, De-Identified, No Access) leave columns out of record exports
without a word. A query field the worker cannot read looks blank, so every query would look
missing and be created again, run after run. Pure: the caller brings the columns an export
returned."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from worker.errors import ExportRightsMissing


def hidden_fields(needed: Iterable[str], columns: Collection[str]) -> list[str]:
    """The ``needed`` fields an export with these ``columns`` left out (a checkbox counts as
    present when any of its ``field___code`` columns is)."""
    return [
        name
        for name in dict.fromkeys(needed)
        if name not in columns and not any(c.startswith(f"{name}___") for c in columns)
    ]


def export_rights_error(form: str, missing: Sequence[str]) -> ExportRightsMissing:
    return ExportRightsMissing(
        f"the API token's user cannot export the query fields {', '.join(missing)} "
        f"(REDCap leaves them out under the user's data export rights): ask the REDCap "
        f"administrator for 'Full Data Set' export rights on the form '{form}'; nothing "
        "was written"
    )
