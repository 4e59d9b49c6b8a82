"""What the BP-LOWER checks read, typed: the participant (``mappings/bp_trial.toml``'s parts)
and the parameters (``../params.toml``).

Each part class declares the fields its checks read, typed as the worker types them from
the data dictionary (yes/no ``bool``, radio and dropdown codes ``str``, dates ``date``;
always ``| None``: blank, invalid or a missing-data code). The worker checks these classes
against the live project when it loads the rules, and mypy checks every check against them
(``./run tests``).
"""

from __future__ import annotations

from datetime import date

from worker.core.rules import ParamsTable, PartEntry, ParticipantBase, StudyParams

# --- the participant ----------------------------------------------------------------------


class VitalSigns(PartEntry):
    """Form ``vital_signs``: at screening, baseline and each follow-up visit."""

    vs_date: date | None


class Screening(VitalSigns):
    """Forms ``enrollment`` and the screening ``vital_signs``."""

    enr_date: date | None
    enr_icf_date: date | None
    enr_eligible: bool | None


class Randomisation(PartEntry):
    rand_date: date | None
    rand_group: str | None  # codes: params codes.rand_group


class AdverseEvent(PartEntry):
    """One adverse event (form ``adverse_event``, repeating)."""

    ae_serious: bool | None
    ae_aware_date: date | None
    ae_report_date: date | None


class EndOfStudy(PartEntry):
    eos_date: date | None
    eos_status: str | None  # codes: params codes.eos_status


class Participant(ParticipantBase):
    """One BP-LOWER participant: an attribute per part of ``mappings/bp_trial.toml``."""

    screening: Screening | None
    baseline: VitalSigns | None
    randomisation: Randomisation | None
    visits: list[VitalSigns]  # ``ordinal``: the visit's position in the mapping's events
    # (the schedule itself is ``../schedule.toml``'s)
    adverse_events: list[AdverseEvent]
    end_of_study: EndOfStudy | None


# --- the parameters (../params.toml; each table names the protocol section) ---------------


class Safety(ParamsTable):
    sae_report_max_days: int


class EosStatusCodes(ParamsTable):
    completed: str


class Codes(ParamsTable):
    """Codes of the data dictionary's coded fields (checked against it at load)."""

    rand_group: dict[str, str]  # allocated treatment, by the arm names of [arms]
    eos_status: EosStatusCodes


class Params(StudyParams):
    arms: dict[str, int]  # the REDCap arm of each allocated treatment
    safety: Safety
    codes: Codes
