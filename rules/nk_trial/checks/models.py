"""What the dNK checks read, typed: the participant (``mappings/nk_trial.toml``'s parts) and
the parameters (``../params.toml``).

Each part class declares the fields its checks read, typed as the worker types them from
the data dictionary (yes/no ``bool``, radio and dropdown codes ``str``, dates ``date``,
integers ``int``, numbers ``float``; always ``| None``: blank, invalid or a missing-data
code). The worker checks these classes against the live project when it loads the rules:
a field on another form than the part reads, or whose type is another, is a load error
naming the class and field; a field the project lacks quarantines the checks reading its
part (see the README, "Typed rules"); and mypy checks every check against them.
"""

from __future__ import annotations

from datetime import date

from worker.core.rules import ParamsTable, PartEntry, ParticipantBase, StudyParams

# --- the participant ----------------------------------------------------------------------


class MenstrualBloodAnalysis(PartEntry):
    """An MBA (form ``menstrual_blood_analysis``): at screening, and each follow-up month."""

    mba_date: date | None
    mba_cd56bright_pct: float | None
    mba_cd49a_pct: float | None
    mba_unk_status: str | None  # codes: params codes.mba_unk_status


class Screening(MenstrualBloodAnalysis):
    """Forms ``enrollment``, ``informed_consent`` and the screening MBA."""

    enr_fertility_need: bool | None
    icf_signed: bool | None
    icf_date: date | None


class Treatment(PartEntry):
    """One treatment instance: ``pb_collection``, ``cell_product``, ``infusion``."""

    pb_date: date | None
    cp_culture_start: date | None
    cp_harvest_date: date | None
    cp_viability_pct: float | None
    cp_dnk_pct: float | None
    cp_sterility: str | None
    cp_mycoplasma: str | None
    cp_endotoxin: float | None
    cp_released: bool | None
    cp_release_date: date | None
    inf_date: date | None


class FollowUp(MenstrualBloodAnalysis):
    """A follow-up month's MBA; ``ordinal`` is the month k."""


class Pregnancy(PartEntry):
    """One pregnancy (form ``pregnancy``, repeating)."""

    pg_attempt_start: date | None
    pg_hcg_date: date | None
    pg_hcg_pos: bool | None
    pg_lmp_date: date | None
    pg_clinical: bool | None
    pg_us12_date: date | None
    pg_us12_cardiac: bool | None
    pg_us12_size_ok: bool | None
    pg_ongoing: bool | None
    pg_outcome: str | None
    pg_end_date: date | None
    pg_delivery_ga_wk: int | None
    pg_delivery_ga_d: int | None
    pg_neonates: int | None
    pg_signs_of_life: bool | None
    pg_live_birth: bool | None
    pg_preeclampsia: bool | None
    pg_fgr: bool | None


class AdverseEvent(PartEntry):
    """One adverse event (form ``adverse_event``, repeating)."""

    ae_onset: date | None
    ae_grade: str | None
    ae_serious: bool | None
    ae_aware_date: date | None
    ae_report_date: date | None
    ae_outcome: str | None


class EndOfStudy(PartEntry):
    eos_date: date | None


class Participant(ParticipantBase):
    """One dNK participant: an attribute per part of ``mappings/nk_trial.toml``."""

    screening: Screening | None
    treatments: list[Treatment]
    follow_up: list[FollowUp]
    pregnancies: list[Pregnancy]
    adverse_events: list[AdverseEvent]
    end_of_study: EndOfStudy | None


# --- the parameters (../params.toml; each table names the protocol section) ---------------


class Enrollment(ParamsTable):
    cap: int


class TreatmentParams(ParamsTable):
    max_infusions: int
    culture_min_days: int
    culture_max_days: int
    second_infusion_max_days: int
    screening_to_first_infusion_max_days: int


class Release(ParamsTable):
    viability_min: float
    phenotype_min: float
    endotoxin_below: float


class FollowUpParams(ParamsTable):
    """The months and their windows are ``../schedule.toml``'s; only NK-WIN-03's gap is here."""

    min_days_between_samples: int


class Laboratory(ParamsTable):
    cd56bright_min: float
    cd49a_min: float


class PregnancyParams(ParamsTable):
    ongoing_min_days: int
    live_birth_min_days: int
    ga_tolerance_days: int
    max_days_pregnant: int


class Safety(ParamsTable):
    sae_report_max_days: int


class UnkStatusCodes(ParamsTable):
    normal: str
    abnormal: str


class NegativeCode(ParamsTable):
    negative: str


class OutcomeCodes(ParamsTable):
    still_pregnant: str


class GradeCodes(ParamsTable):
    death: str


class AeOutcomeCodes(ParamsTable):
    fatal: str


class Codes(ParamsTable):
    """Codes of the data dictionary's coded fields (checked against it at load)."""

    mba_unk_status: UnkStatusCodes
    cp_sterility: NegativeCode
    cp_mycoplasma: NegativeCode
    pg_outcome: OutcomeCodes
    ae_grade: GradeCodes
    ae_outcome: AeOutcomeCodes


class Params(StudyParams):
    enrollment: Enrollment
    treatment: TreatmentParams
    release: Release
    follow_up: FollowUpParams
    laboratory: Laboratory
    pregnancy: PregnancyParams
    safety: Safety
    codes: Codes
