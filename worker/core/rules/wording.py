"""How the worker speaks of a study: the words a study's ``study.toml`` gives it.

The worker's own texts (report and email headings, the ``visits`` summary, timeline axes)
are generic. Where a study has words of its own for the same thing (who has a visit
schedule, what the schedule's day numbers count from), it gives them in the ``[wording]``
table of ``rules/<study>/study.toml``; every key is optional and falls back to the generic
default below. Help texts of the commands are shown before any study is loaded, so they stay
generic.

::

    [wording]
    scheduled_participant = "enrolled patient"       # one participant with a visit schedule
    scheduled_participants = "enrolled patients"     # several (headings, counts)
    schedule_anchor = "randomisation"                # what visit day numbers count from
    visits = "study visits"                          # what the schedule's rows are called
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.errors import MappingError
from worker.tomlfile import read_toml

STUDY_FILE = "study.toml"


class Wording(BaseModel):
    """The study's words, each with a generic default."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    scheduled_participant: str = Field("participant with a visit schedule", min_length=1)
    scheduled_participants: str = Field("participants with a visit schedule", min_length=1)
    schedule_anchor: str = Field("day 0", min_length=1)
    visits: str = Field("visits", min_length=1)

    def participants(self, n: int) -> str:
        """``n`` scheduled participants in words: "1 enrolled patient", "3 ..."."""
        return f"{n} {self.scheduled_participant if n == 1 else self.scheduled_participants}"


GENERIC = Wording()


def load_wording(rules_dir: Path) -> Wording:
    """The ``[wording]`` of ``rules_dir/study.toml``; the generic wording without that file.

    A problem (invalid TOML, an unknown key, an empty text) is one :class:`MappingError`
    naming the file and the key.
    """
    path = Path(rules_dir) / STUDY_FILE
    if not path.is_file():
        return GENERIC
    data = read_toml(path, "study file", MappingError)
    unknown = sorted(set(data) - {"wording"})
    if unknown:
        raise MappingError(f"study file {path}: unknown table(s): {', '.join(unknown)}")
    table = data.get("wording", {})
    if not isinstance(table, dict):
        raise MappingError(f"study file {path}: wording must be a table")
    try:
        return Wording(**table)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        key = ".".join(str(p) for p in first["loc"])
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise MappingError(f"study file {path}: wording.{key}: {message}") from None
