"""Deterministic synthetic REDCap data for the dNK trial (REDCap's side of the world).

``generate(as_of)`` returns flat IMPORT rows for the project in this folder: one row per
record x event x instance that holds data, blanks omitted, each saved form with its
``<form>_complete``. Every date is laid out relative to ``as_of``, so the findings listed in
``demo_findings.json`` are the same whatever as-of date is chosen.

This module deliberately shares no code with the worker (stdlib only, nothing imported from
``worker``): the demo data and the list of findings it seeds are written from the protocol
(``rules/nk_trial/SPEC.md``) and the data dictionary alone, so a misreading cannot hide in both.

Each participant below is a template: a function that lays out her data relative to a day 0
(the as-of date in the demo) and says, in its docstring, what she demonstrates and which
findings she seeds. ``D0`` is her first infusion date, given as an offset from day 0; follow-up
month k has its target on D0 + 28k and its window on target - 7 .. target + 7.

``generate(as_of, participants=N)`` builds N records for benchmarks by cycling through the
templates with new record IDs and dates shifted back by up to a few weeks; only the demo
(``participants=None``) has a list of findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

SCREENING = "screening_arm_1"
TREATMENT = "treatment_arm_1"
FOLLOW_UP = tuple(f"fu_m{k}_arm_1" for k in range(1, 7))
PREGNANCY = "pregnancy_arm_1"
SAFETY = "safety_arm_1"
END_OF_STUDY = "end_of_study_arm_1"

# The project's forms and their fields in data-dictionary order (record_id left out).
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "enrollment": ("enr_screen_date", "enr_age", "enr_indication", "enr_fertility_need"),
    "informed_consent": ("icf_signed", "icf_date", "icf_version"),
    "menstrual_blood_analysis": (
        "mba_date",
        "mba_cycle_day",
        "mba_cd56bright_pct",
        "mba_cd49a_pct",
        "mba_unk_status",
        "mba_comment",
    ),
    "pb_collection": ("pb_date", "pb_volume_ml"),
    "cell_product": (
        "cp_culture_start",
        "cp_harvest_date",
        "cp_cell_count",
        "cp_viability_pct",
        "cp_dnk_pct",
        "cp_sterility",
        "cp_mycoplasma",
        "cp_endotoxin",
        "cp_released",
        "cp_release_date",
    ),
    "infusion": ("inf_date", "inf_dose", "inf_volume_ml", "inf_completed", "inf_reason_not"),
    "pregnancy": (
        "pg_attempt_start",
        "pg_method",
        "pg_hcg_date",
        "pg_hcg_pos",
        "pg_lmp_date",
        "pg_us_date",
        "pg_gest_sac",
        "pg_fetal_heart",
        "pg_clinical",
        "pg_us12_date",
        "pg_us12_cardiac",
        "pg_us12_size_ok",
        "pg_ongoing",
        "pg_outcome",
        "pg_end_date",
        "pg_delivery_ga_wk",
        "pg_delivery_ga_d",
        "pg_neonates",
        "pg_signs_of_life",
        "pg_live_birth",
        "pg_preeclampsia",
        "pg_fgr",
    ),
    "adverse_event": (
        "ae_term",
        "ae_onset",
        "ae_grade",
        "ae_serious",
        "ae_aware_date",
        "ae_report_date",
        "ae_related",
        "ae_outcome",
        "ae_end_date",
    ),
    "end_of_study": ("eos_date", "eos_status", "eos_comment"),
}

# Forms designated for each event (form_event_mapping.json), and the repeating instruments.
EVENT_FORMS: dict[str, tuple[str, ...]] = {
    SCREENING: ("enrollment", "informed_consent", "menstrual_blood_analysis"),
    TREATMENT: ("pb_collection", "cell_product", "infusion"),
    **dict.fromkeys(FOLLOW_UP, ("menstrual_blood_analysis",)),
    PREGNANCY: ("pregnancy",),
    SAFETY: ("adverse_event",),
    END_OF_STUDY: ("end_of_study",),
}
REPEATING_EVENTS = frozenset({TREATMENT})
REPEATING_FORMS = {PREGNANCY: "pregnancy", SAFETY: "adverse_event"}

_EVENT_ORDER = {event: position for position, event in enumerate(EVENT_FORMS)}
_FIELD_FORM = {name: form for form, names in FORM_FIELDS.items() for name in names}

# Uterine NK markers (CD56bright %, CD49a %). Normal: CD56bright >= 50 and CD49a >= 30.
_NORMAL = (("58.4", "37.1"), ("62.0", "41.3"), ("53.5", "31.8"), ("66.2", "45.0"))
_ABNORMAL = (("34.2", "21.5"), ("41.8", "33.0"), ("55.1", "24.6"), ("38.7", "27.9"))

_ISO_CACHE: dict[int, str] = {}

Value = str | int | None


def _iso(ordinal: int) -> str:
    text = _ISO_CACHE.get(ordinal)
    if text is None:
        text = _ISO_CACHE[ordinal] = dt.date.fromordinal(ordinal).isoformat()
    return text


class _Participant:
    """Collects one record's rows. Dates are given as day offsets from day 0 (ints)."""

    def __init__(self, record_id: str, day0: dt.date) -> None:
        self.record_id = record_id
        self.day0 = day0
        self._ordinal = day0.toordinal()
        self._rows: dict[tuple[str, str, str], dict[str, str]] = {}

    # -- values -------------------------------------------------------------------------
    def d(self, offset: int) -> str:
        """The ISO date ``offset`` days after day 0."""
        return _iso(self._ordinal + offset)

    def invalid_date(self, offset: int) -> str:
        """A date string that fails date_ymd validation whatever the year: Feb 30."""
        return f"{dt.date.fromordinal(self._ordinal + offset).year:04d}-02-30"

    def _put(self, event: str, instance: str, values: dict[str, Value]) -> None:
        repeat_instrument = REPEATING_FORMS.get(event, "")
        row = self._rows.setdefault((event, repeat_instrument, instance), {})
        for name, value in values.items():
            if name not in _FIELD_FORM:
                raise KeyError(name)
            if value is None or value == "":
                row.pop(name, None)
            elif isinstance(value, int):
                row[name] = self.d(value)
            else:
                row[name] = value

    # -- forms --------------------------------------------------------------------------
    def screening(
        self,
        s: int,
        *,
        age: str,
        indication: str,
        need: str = "1",
        markers: tuple[str, str] = _ABNORMAL[0],
        status: str = "2",
        consent: int | None = 7,
        **extra: Value,
    ) -> None:
        """Enrollment and screening MBA on day ``s``; consent ``consent`` days later (None:
        the informed-consent form is not filled)."""
        values: dict[str, Value] = {
            "enr_screen_date": s,
            "enr_age": age,
            "enr_indication": indication,
            "enr_fertility_need": need,
            "mba_date": s,
            "mba_cycle_day": "2",
            "mba_cd56bright_pct": markers[0],
            "mba_cd49a_pct": markers[1],
            "mba_unk_status": status,
        }
        if consent is not None:
            values.update({"icf_signed": "1", "icf_date": s + consent, "icf_version": "2"})
        values.update(extra)
        self._put(SCREENING, "", values)

    def treatment(
        self,
        instance: int,
        pb: int,
        *,
        inf: int | None = None,
        product: bool = True,
        **extra: Value,
    ) -> None:
        """Treatment ``instance``: PB collection on ``pb``; by default culture starts that day,
        harvest and QA release the day before ``inf`` (or 14 days later when there is no
        infusion), product in specification; infusion on ``inf`` when given."""
        harvest = inf - 1 if inf is not None else pb + 14
        values: dict[str, Value] = {"pb_date": pb, "pb_volume_ml": "60"}
        if product:
            values.update(
                {
                    "cp_culture_start": pb,
                    "cp_harvest_date": harvest,
                    "cp_cell_count": "180",
                    "cp_viability_pct": "91.5",
                    "cp_dnk_pct": "72.3",
                    "cp_sterility": "1",
                    "cp_mycoplasma": "1",
                    "cp_endotoxin": "0.12",
                    "cp_released": "1",
                    "cp_release_date": harvest,
                }
            )
        if inf is not None:
            values.update(
                {
                    "inf_date": inf,
                    "inf_dose": "100",
                    "inf_volume_ml": "1.0",
                    "inf_completed": "1",
                }
            )
        values.update(extra)
        self._put(TREATMENT, str(instance), values)

    def fu(self, d0: int, month: int, shift: int, status: str, **extra: Value) -> None:
        """Follow-up MBA of ``month`` dated target + ``shift`` (target = D0 + 28 * month);
        ``status`` "N" (Normal, markers agree) or "A" (Abnormal, markers agree)."""
        pick = (month + d0) % 4
        cd56, cd49a = (_NORMAL if status == "N" else _ABNORMAL)[pick]
        values: dict[str, Value] = {
            "mba_date": d0 + 28 * month + shift,
            "mba_cycle_day": "2",
            "mba_cd56bright_pct": cd56,
            "mba_cd49a_pct": cd49a,
            "mba_unk_status": "1" if status == "N" else "2",
        }
        values.update(extra)
        self._put(FOLLOW_UP[month - 1], "", values)

    def pregnancy(self, instance: int, **values: Value) -> None:
        self._put(PREGNANCY, str(instance), dict(values))

    def pregnancy_course(
        self,
        instance: int,
        *,
        attempt: int,
        method: str,
        lmp: int,
        us12: int,
        **extra: Value,
    ) -> None:
        """An hCG-positive clinical pregnancy dated from ``lmp`` with a 12-week scan on
        ``us12`` (heartbeat, size as expected: ongoing); ``extra`` sets the outcome."""
        values: dict[str, Value] = {
            "pg_attempt_start": attempt,
            "pg_method": method,
            "pg_hcg_date": lmp + 29,
            "pg_hcg_pos": "1",
            "pg_lmp_date": lmp,
            "pg_us_date": lmp + 49,
            "pg_gest_sac": "1",
            "pg_fetal_heart": "1",
            "pg_clinical": "1",
            "pg_us12_date": us12,
            "pg_us12_cardiac": "1",
            "pg_us12_size_ok": "1",
            "pg_ongoing": "1",
            "pg_preeclampsia": "0",
            "pg_fgr": "0",
        }
        values.update(extra)
        self._put(PREGNANCY, str(instance), values)

    def adverse_event(self, instance: int, **values: Value) -> None:
        self._put(SAFETY, str(instance), dict(values))

    def end_of_study(self, date: int, status: str, comment: str = "") -> None:
        self._put(
            END_OF_STUDY, "", {"eos_date": date, "eos_status": status, "eos_comment": comment}
        )

    # -- output -------------------------------------------------------------------------
    def rows(self) -> list[dict[str, str]]:
        out = []
        for (event, repeat_instrument, instance), values in sorted(
            self._rows.items(), key=lambda item: (_EVENT_ORDER[item[0][0]], int(item[0][2] or 0))
        ):
            row = {
                "record_id": self.record_id,
                "redcap_event_name": event,
                "redcap_repeat_instrument": repeat_instrument,
                "redcap_repeat_instance": instance,
            }
            for form in EVENT_FORMS[event]:
                saved = False
                for name in FORM_FIELDS[form]:
                    value = values.get(name)
                    if value is not None:
                        row[name] = value
                        saved = True
                if saved:
                    row[f"{form}_complete"] = "2"
            out.append(row)
        return out


# ---------------------------------------------------------------------------------------
# Participants. Offsets are days from day 0 (= as-of date in the demo). "A"/"N": Abnormal /
# Normal follow-up sample whose markers agree with its status. Unless said otherwise:
# consent 7 days after screening, PB collection 15 days before the infusion, culture from the
# PB date, harvest and release the day before the infusion, product in specification.
# ---------------------------------------------------------------------------------------


def _r01(p: _Participant) -> None:
    """Completed: improved at month 2, natural conception, live birth at term. Clean.

    Near misses: samples exactly on target - 7 (m1, m3) and target + 7 (m2); m2 -> m3
    exactly 14 days apart (no NK-WIN-03); release date = infusion date and harvest = infusion
    date (no NK-TRT-02 / TRT-08); 12-week scan exactly 84 days after LMP (no NK-PRG-03);
    delivery 280 days after LMP at 39+0 (273): 7 days apart (no NK-PRG-05). Months 4-6 are
    covered by the pregnancy (no NK-WIN-02). First treated by D0.
    Findings: none.
    """
    d0 = -700
    p.screening(d0 - 30, age="31", indication="2")
    p.treatment(1, d0 - 15, inf=d0, cp_harvest_date=d0, cp_release_date=d0)
    p.fu(d0, 1, -7, "A")
    p.fu(d0, 2, +7, "N")
    p.fu(d0, 3, -7, "N", mba_comment="Sampled on day 2 of menses")
    lmp = d0 + 76
    p.pregnancy_course(
        1,
        attempt=d0 + 66,
        method="1",
        lmp=lmp,
        us12=lmp + 84,
        pg_outcome="2",
        pg_end_date=lmp + 280,
        pg_delivery_ga_wk="39",
        pg_delivery_ga_d="0",
        pg_neonates="1",
        pg_signs_of_life="1",
        pg_live_birth="1",
    )
    p.end_of_study(d0 + 380, "1")


def _r02(p: _Participant) -> None:
    """Screen failure: Normal uNK function. Not consented, not treated.

    Near miss: markers exactly at the reference limits (CD56bright 50, CD49a 30) with status
    Normal (no NK-LAB-01).
    Findings: none.
    """
    p.screening(
        -200,
        age="29",
        indication="1",
        markers=("50", "30"),
        status="1",
        consent=None,
        mba_cycle_day="3",
        mba_comment="Normal uNK function: not eligible",
    )


def _r03(p: _Participant) -> None:
    """Screen failure, but the lab called Normal although CD56bright is 47.5 (< 50).

    Findings: NK-LAB-01 (screening mba_unk_status).
    """
    p.screening(
        -150,
        age="35",
        indication="3",
        markers=("47.5", "33.0"),
        status="1",
        consent=None,
    )


def _r04(p: _Participant) -> None:
    """Treated twice (no improvement at months 1-2), improved after; pregnancy attempt by IUI,
    hCG negative; completed follow-up. Clean.

    Near miss NK-TRT-05: the month-3 sample (Normal) is taken on the day of the second
    infusion, so it is not "strictly before" it; the latest earlier sample (month 2) is
    Abnormal. Month-2 sample at target - 1, month-5 at target + 1.
    Findings: none.
    """
    d0 = -520
    p.screening(d0 - 40, age="33", indication="1")
    p.treatment(1, d0 - 15, inf=d0)
    p.fu(d0, 1, 0, "A")
    p.fu(d0, 2, -1, "A")
    p.treatment(2, d0 + 69, inf=d0 + 84)
    p.fu(d0, 3, 0, "N", mba_comment="Sampled before the second infusion")
    p.fu(d0, 4, 0, "N")
    p.fu(d0, 5, +1, "N")
    p.fu(d0, 6, 0, "N")
    p.pregnancy(
        1,
        pg_attempt_start=d0 + 175,
        pg_method="2",
        pg_hcg_date=d0 + 200,
        pg_hcg_pos="0",
    )
    p.end_of_study(d0 + 449, "1")


def _r05(p: _Participant) -> None:
    """Treated twice although improved; the treatments were entered out of order: instance 2
    holds the first infusion (D0), instance 1 the second (D0 + 75).

    Seeds: NK-TRT-05 on instance 1 (latest sample before it, month 2, is Normal); month-4
    sample 8 days after target: NK-WIN-01; pb_volume_ml "45.5" in an integer field on
    instance 2: DQ-TYPE; a non-serious AE "recovering" with a resolution date: DQ-HIDDEN.
    Findings: NK-TRT-05 (treatment 1 inf_date), DQ-TYPE (treatment 2 pb_volume_ml),
    NK-WIN-01 (fu_m4 mba_date), DQ-HIDDEN (safety 1 ae_end_date).
    """
    d0 = -480
    p.screening(d0 - 35, age="36", indication="2")
    p.treatment(2, d0 - 15, inf=d0, pb_volume_ml="45.5")
    p.fu(d0, 1, 0, "N")
    p.fu(d0, 2, 0, "N")
    p.treatment(1, d0 + 60, inf=d0 + 75)
    p.fu(d0, 3, 0, "N")
    p.fu(d0, 4, +8, "N")
    p.fu(d0, 5, 0, "N")
    p.fu(d0, 6, 0, "N")
    p.adverse_event(
        1,
        ae_term="Vaginal spotting",
        ae_onset=d0 + 2,
        ae_grade="1",
        ae_serious="0",
        ae_related="3",
        ae_outcome="2",
        ae_end_date=d0 + 5,
    )


def _r06(p: _Participant) -> None:
    """Non-improver treated a second time 184 days after D0.

    Seeds: NK-TRT-06 (second infusion 184 days after D0; the month-6 sample before it is
    Abnormal, so no NK-TRT-05); month-3 sample dated the same day as month 2: NK-WIN-01
    and NK-WIN-03 on month 3; inf_reason_not filled although the infusion was completed:
    DQ-HIDDEN. A clean non-serious AE.
    Findings: DQ-HIDDEN (treatment 1 inf_reason_not), NK-TRT-06 (treatment 2 inf_date),
    NK-WIN-01 and NK-WIN-03 (fu_m3 mba_date).
    """
    d0 = -600
    p.screening(d0 - 40, age="38", indication="1")
    p.treatment(1, d0 - 15, inf=d0, inf_reason_not="Mild cramping, infusion completed")
    p.fu(d0, 1, 0, "A")
    p.fu(d0, 2, 0, "A")
    p.fu(d0, 3, -28, "A")  # dated the same day as the month-2 sample
    p.fu(d0, 4, 0, "A")
    p.fu(d0, 5, 0, "A")
    p.fu(d0, 6, 0, "A")
    p.treatment(2, d0 + 169, inf=d0 + 184)
    p.adverse_event(
        1,
        ae_term="Lower abdominal cramping",
        ae_onset=d0,
        ae_grade="1",
        ae_serious="0",
        ae_related="4",
        ae_outcome="1",
        ae_end_date=d0 + 1,
    )


def _r07(p: _Participant) -> None:
    """Non-improver treated twice; every limit met exactly. Clean.

    Near misses: first product viability exactly 80, phenotype exactly 60, endotoxin 0.49
    (no NK-TRT-03); culture 10 days (first) and 21 days (second) (no NK-TRT-04); second
    infusion exactly 183 days after D0 (no NK-TRT-06).
    Findings: none.
    """
    d0 = -580
    p.screening(d0 - 40, age="34", indication="4")
    p.treatment(
        1,
        d0 - 10,
        inf=d0,
        cp_viability_pct="80",
        cp_dnk_pct="60",
        cp_endotoxin="0.49",
    )
    for month in range(1, 7):
        p.fu(d0, month, 0, "A")
    p.treatment(2, d0 + 162, inf=d0 + 183, cp_culture_start=d0 + 163)


def _r08(p: _Participant) -> None:
    """Three infusions. Her first product failed sterility and was not released (instance 1
    has no infusion: not an infusion, so no NK-TRT-02/03 there); infusions are instances 2
    (D0), 3 (second, after an Abnormal month-1 sample) and 4 (third).

    Seeds: NK-TRT-01 on instance 4; month-4 sample called Normal with CD49a 28.5: NK-LAB-01;
    cp_cell_count "approx. 150" in a number field: DQ-TYPE.
    Findings: DQ-TYPE (treatment 2 cp_cell_count), NK-TRT-01 (treatment 4 inf_date),
    NK-LAB-01 (fu_m4 mba_unk_status).
    """
    d0 = -540
    p.screening(d0 - 50, age="30", indication="2")
    p.treatment(
        1,
        d0 - 35,
        cp_sterility="2",
        cp_released="0",
        cp_release_date=None,
    )
    p.treatment(2, d0 - 15, inf=d0, cp_cell_count="approx. 150")
    p.fu(d0, 1, 0, "A")
    p.treatment(3, d0 + 35, inf=d0 + 50)
    p.fu(d0, 2, 0, "A")
    p.fu(d0, 3, 0, "A")
    p.treatment(4, d0 + 90, inf=d0 + 105)
    p.fu(
        d0,
        4,
        0,
        "N",
        mba_cd56bright_pct="55.0",
        mba_cd49a_pct="28.5",
    )
    p.fu(d0, 5, 0, "N")
    p.fu(d0, 6, 0, "N")


def _r09(p: _Participant) -> None:
    """In follow-up, treated once; infused 91 days after her screening sample. 14th treated
    participant by D0 (same D0 as record 10; 9 < 10 as integers): no NK-ENR-01.

    Seeds: NK-TRT-07; month-2 sample missing (window ended, not pregnant, not ended):
    NK-WIN-02; SAE with no report date 10 days after awareness: NK-SAE-01 and DQ-REQUIRED.
    Findings: NK-TRT-07 (treatment 1 inf_date), NK-WIN-02 (fu_m2 mba_date),
    NK-SAE-01 and DQ-REQUIRED (safety 1 ae_report_date).
    """
    d0 = -120
    p.screening(d0 - 91, age="32", indication="1")
    p.treatment(1, d0 - 15, inf=d0)
    p.fu(d0, 1, 0, "A")
    p.fu(d0, 3, 0, "A")
    p.fu(d0, 4, 0, "A")
    p.adverse_event(
        1,
        ae_term="Endometritis",
        ae_onset=-12,
        ae_grade="3",
        ae_serious="1",
        ae_aware_date=-10,
        ae_related="3",
        ae_outcome="2",
    )


def _r10(p: _Participant) -> None:
    """In follow-up, treated once; 15th treated participant (same D0 as record 9).

    Near miss: infused exactly 90 days after the screening sample (no NK-TRT-07).
    Seeds: NK-ENR-01; culture start entered one day before the PB collection: NK-TRT-08;
    an AE with onset 3 days before consent: NK-SAE-02.
    Findings: NK-ENR-01 (treatment 1 inf_date), NK-TRT-08 (treatment 1 cp_culture_start),
    NK-SAE-02 (safety 1 ae_onset).
    """
    d0 = -120
    s = d0 - 90
    p.screening(s, age="28", indication="3")
    p.treatment(1, d0 - 15, inf=d0, cp_culture_start=d0 - 16)
    for month in range(1, 5):
        p.fu(d0, month, 0, "A")
    p.adverse_event(
        1,
        ae_term="Headache",
        ae_onset=s + 7 - 3,
        ae_grade="1",
        ae_serious="0",
        ae_related="1",
        ae_outcome="1",
        ae_end_date=s + 7 - 1,
    )


def _r11(p: _Participant) -> None:
    """Improved at month 1; conceived naturally after the 6 months; pregnancy still recorded
    as ongoing 302 days after LMP.

    Seeds: product infused although QA did not release it: NK-TRT-02; month-1 sample without
    cycle day: DQ-REQUIRED; NK-PRG-06 (as-of 302 days after LMP).
    Findings: NK-TRT-02 (treatment 1 cp_released), DQ-REQUIRED (fu_m1 mba_cycle_day),
    NK-PRG-06 (pregnancy 1 pg_outcome).
    """
    d0 = -500
    p.screening(d0 - 30, age="27", indication="2")
    p.treatment(1, d0 - 15, inf=d0, cp_released="0", cp_release_date=None)
    p.fu(d0, 1, 0, "N", mba_cycle_day=None)
    for month in range(2, 7):
        p.fu(d0, month, 0, "N")
    lmp = -302
    p.pregnancy_course(1, attempt=d0 + 35, method="1", lmp=lmp, us12=lmp + 90, pg_outcome="1")


def _r12(p: _Participant) -> None:
    """Improved at month 2, ongoing pregnancy (conceived in month 5; month 6 covered by the
    pregnancy, so no NK-WIN-02).

    Near misses: pregnancy attempt started the day of the improved sample (no NK-PRG-01);
    still pregnant exactly 301 days after LMP (no NK-PRG-06).
    Seeds: viability 79.9: NK-TRT-03; month-2 cycle day 9 (max 7): DQ-RANGE; 12-week scan
    83 days after LMP: NK-PRG-03; AE resolution date 2 days before onset: NK-SAE-03.
    Findings: NK-TRT-03 (treatment 1 cp_viability_pct), DQ-RANGE (fu_m2 mba_cycle_day),
    NK-PRG-03 (pregnancy 1 pg_ongoing), NK-SAE-03 (safety 1 ae_end_date).
    """
    d0 = -441
    p.screening(d0 - 30, age="35", indication="1")
    p.treatment(1, d0 - 15, inf=d0, cp_viability_pct="79.9")
    p.fu(d0, 1, 0, "A")
    p.fu(d0, 2, 0, "N", mba_cycle_day="9")
    p.fu(d0, 3, 0, "N")
    p.fu(d0, 4, 0, "N")
    p.fu(d0, 5, +1, "N")
    lmp = d0 + 140  # = -301
    p.pregnancy_course(1, attempt=d0 + 56, method="1", lmp=lmp, us12=lmp + 83, pg_outcome="1")
    p.adverse_event(
        1,
        ae_term="Nausea",
        ae_onset=lmp + 40,
        ae_grade="1",
        ae_serious="0",
        ae_related="1",
        ae_outcome="1",
        ae_end_date=lmp + 38,
    )


def _r13(p: _Participant) -> None:
    """Improved at month 1; pregnancy with preeclampsia and FGR, live birth at 26+0; SAE
    reported exactly 1 day after awareness; completed.

    Near misses: live birth at exactly 182 days (26+0) (no NK-PRG-04); SAE report 1 day after
    awareness (no NK-SAE-01); delivery 184 days after LMP vs 182 (no NK-PRG-05).
    Seeds: mycoplasma Pending and endotoxin 0.5: NK-TRT-03 on the first miss, mycoplasma.
    Findings: NK-TRT-03 (treatment 1 cp_mycoplasma).
    """
    d0 = -680
    p.screening(d0 - 30, age="37", indication="2")
    p.treatment(1, d0 - 15, inf=d0, cp_mycoplasma="3", cp_endotoxin="0.5")
    p.fu(d0, 1, 0, "N")
    p.fu(d0, 2, +1, "N")
    lmp = d0 + 56
    p.pregnancy_course(
        1,
        attempt=d0 + 30,
        method="1",
        lmp=lmp,
        us12=lmp + 86,
        pg_preeclampsia="1",
        pg_fgr="1",
        pg_outcome="2",
        pg_end_date=lmp + 184,
        pg_delivery_ga_wk="26",
        pg_delivery_ga_d="0",
        pg_neonates="1",
        pg_signs_of_life="1",
        pg_live_birth="1",
    )
    p.adverse_event(
        1,
        ae_term="Preeclampsia",
        ae_onset=lmp + 178,
        ae_grade="3",
        ae_serious="1",
        ae_aware_date=lmp + 179,
        ae_report_date=lmp + 180,
        ae_related="1",
        ae_outcome="1",
        ae_end_date=lmp + 194,
    )
    p.end_of_study(d0 + 400, "1")


def _r14(p: _Participant) -> None:
    """Improved at month 2; stillbirth at 30+0 with "live birth" ticked; SAE reported the
    same day; completed.

    Seeds: endotoxin result missing: NK-TRT-03 and DQ-REQUIRED; live birth ticked without
    signs of life: NK-PRG-04; delivery 218 days after LMP vs 30+0 (210): NK-PRG-05.
    Findings: NK-TRT-03 and DQ-REQUIRED (treatment 1 cp_endotoxin), NK-PRG-04 (pregnancy 1
    pg_live_birth), NK-PRG-05 (pregnancy 1 pg_delivery_ga_wk).
    """
    d0 = -660
    p.screening(d0 - 30, age="39", indication="4")
    p.treatment(1, d0 - 15, inf=d0, cp_endotoxin=None)
    p.fu(d0, 1, 0, "A")
    p.fu(d0, 2, 0, "N")
    p.fu(d0, 3, 0, "N")
    lmp = d0 + 83
    end = lmp + 218
    p.pregnancy_course(
        1,
        attempt=d0 + 60,
        method="4",
        lmp=lmp,
        us12=lmp + 88,
        pg_fgr="1",
        pg_outcome="5",
        pg_end_date=end,
        pg_delivery_ga_wk="30",
        pg_delivery_ga_d="0",
        pg_neonates="1",
        pg_signs_of_life="0",
        pg_live_birth="1",
    )
    p.adverse_event(
        1,
        ae_term="Stillbirth",
        ae_onset=end,
        ae_grade="3",
        ae_serious="1",
        ae_aware_date=end,
        ae_report_date=end,
        ae_related="2",
        ae_outcome="1",
        ae_end_date=end + 9,
    )
    p.end_of_study(d0 + 420, "1")


def _r15(p: _Participant) -> None:
    """Improved at month 1; pregnancy ending in miscarriage; follow-up resumed at month 5.

    Near miss: the pregnancy ended on the first day of the month-4 window, so she was
    pregnant during it (no NK-WIN-02 for months 3 and 4; months 5 and 6 sampled).
    Seeds: culture 9 days: NK-TRT-04; infusion volume 0.05 mL (min 0.1): DQ-RANGE;
    "clinical pregnancy" ticked although no fetal heartbeat was seen: NK-PRG-02.
    Findings: NK-TRT-04 (treatment 1 inf_date), DQ-RANGE (treatment 1 inf_volume_ml),
    NK-PRG-02 (pregnancy 1 pg_clinical).
    """
    d0 = -620
    p.screening(d0 - 30, age="34", indication="2")
    p.treatment(1, d0 - 9, inf=d0, inf_volume_ml="0.05")
    p.fu(d0, 1, 0, "N")
    p.fu(d0, 2, -6, "N")
    lmp = d0 + 49
    p.pregnancy(
        1,
        pg_attempt_start=d0 + 30,
        pg_method="1",
        pg_hcg_date=lmp + 29,
        pg_hcg_pos="1",
        pg_lmp_date=lmp,
        pg_us_date=lmp + 50,
        pg_gest_sac="1",
        pg_fetal_heart="0",
        pg_clinical="1",
        pg_outcome="3",
        pg_end_date=d0 + 105,
    )
    p.fu(d0, 5, 0, "A")
    p.fu(d0, 6, 0, "A")
    p.end_of_study(d0 + 380, "1")


def _r16(p: _Participant) -> None:
    """Non-improver who started IVF anyway (hCG negative); improved later, at months 5-6.

    Seeds: culture 22 days: NK-TRT-04; month-3 status "3" (not a code): DQ-CHOICE (for the
    study checks that status is blank: no NK-LAB-01, not improved); pregnancy attempt with
    no improved sample on or before it: NK-PRG-01; AE grade 5 with outcome Recovered:
    NK-SAE-04.
    Findings: NK-TRT-04 (treatment 1 inf_date), DQ-CHOICE (fu_m3 mba_unk_status),
    NK-PRG-01 (pregnancy 1 pg_attempt_start), NK-SAE-04 (safety 1 ae_outcome).
    """
    d0 = -560
    p.screening(d0 - 30, age="40", indication="1")
    p.treatment(1, d0 - 22, inf=d0)
    p.fu(d0, 1, 0, "A")
    p.fu(d0, 2, 0, "A")
    p.fu(d0, 3, 0, "A", mba_unk_status="3")
    p.fu(d0, 4, 0, "A")
    p.fu(d0, 5, 0, "N")
    p.fu(d0, 6, 0, "N")
    p.pregnancy(
        1,
        pg_attempt_start=d0 + 100,
        pg_method="3",
        pg_hcg_date=d0 + 130,
        pg_hcg_pos="0",
    )
    p.adverse_event(
        1,
        ae_term="Abdominal bloating",
        ae_onset=d0 + 118,
        ae_grade="5",
        ae_serious="0",
        ae_related="1",
        ae_outcome="1",
        ae_end_date=d0 + 125,
    )


def _r17(p: _Participant) -> None:
    """Ended early: SAE after the infusion, withdrew consent on the last day of the month-2
    window; one more sample was entered after her end of study.

    Near miss: ended on the last day of the month-2 window (no NK-WIN-02 for months 2-6).
    Seeds: release date the day after the infusion: NK-TRT-02; SAE reported 3 days after
    awareness: NK-SAE-01; month-3 sample after end of study: NK-EOS-01.
    Findings: NK-TRT-02 (treatment 1 cp_released), NK-SAE-01 (safety 1 ae_report_date),
    NK-EOS-01 (fu_m3 mba_date).
    """
    d0 = -380
    p.screening(d0 - 30, age="31", indication="3")
    p.treatment(1, d0 - 15, inf=d0, cp_release_date=d0 + 1)
    p.fu(d0, 1, 0, "A")
    p.adverse_event(
        1,
        ae_term="Pelvic inflammatory disease",
        ae_onset=d0 + 3,
        ae_grade="3",
        ae_serious="1",
        ae_aware_date=d0 + 4,
        ae_report_date=d0 + 7,
        ae_related="4",
        ae_outcome="1",
        ae_end_date=d0 + 20,
    )
    p.end_of_study(d0 + 63, "2", "Withdrew consent after the SAE")
    p.fu(d0, 3, 0, "A")


def _r18(p: _Participant) -> None:
    """In follow-up, treated once although her screening uNK function was Normal (markers
    agree) and she had no current fertility need; 16th treated participant.

    Seeds: NK-ELG-01, NK-ELG-02, NK-ENR-01; month-2 sample date "YYYY-02-30": DQ-TYPE, and
    for the study checks month 2 then has no sample: NK-WIN-02.
    Findings: NK-ELG-01 (screening mba_unk_status), NK-ELG-02 (screening
    enr_fertility_need), NK-ENR-01 (treatment 1 inf_date), DQ-TYPE and NK-WIN-02 (fu_m2
    mba_date).
    """
    d0 = -80
    p.screening(d0 - 30, age="30", indication="4", need="0", markers=_NORMAL[2], status="1")
    p.treatment(1, d0 - 15, inf=d0)
    p.fu(d0, 1, 0, "A")
    p.fu(d0, 2, 0, "A", mba_date=p.invalid_date(d0 + 56))


def _r19(p: _Participant) -> None:
    """Recently treated (D0 35 days ago), consent form not signed; SAE yesterday, not reported
    yet; 17th treated participant.

    Near misses: the month-1 window ends on the as-of date (not before it: no NK-WIN-02);
    SAE report blank with awareness exactly 1 day before as-of (no NK-SAE-01).
    Seeds: NK-CON-01 (icf_signed 0), NK-ENR-01; DQ-REQUIRED for the blank report date.
    Findings: NK-CON-01 (screening icf_signed), NK-ENR-01 (treatment 1 inf_date),
    DQ-REQUIRED (safety 1 ae_report_date).
    """
    d0 = -35
    p.screening(d0 - 30, age="26", indication="2", consent=None, icf_signed="0")
    p.treatment(1, d0 - 15, inf=d0)
    p.adverse_event(
        1,
        ae_term="Vaginal bleeding",
        ae_onset=-2,
        ae_grade="3",
        ae_serious="1",
        ae_aware_date=-1,
        ae_related="3",
        ae_outcome="2",
    )


def _r20(p: _Participant) -> None:
    """Consented; peripheral blood collected 2 days before the consent date; product not yet
    entered, no infusion: not treated.

    Seeds: NK-CON-02 (applies to any PB collection, treated or not); indication "5" (not a
    code): DQ-CHOICE.
    Findings: DQ-CHOICE (screening enr_indication), NK-CON-02 (treatment 1 pb_date).
    """
    s = -40
    p.screening(s, age="33", indication="5", consent=20)
    p.treatment(1, s + 18, product=False)


TEMPLATES: tuple[Callable[[_Participant], None], ...] = (
    _r01,
    _r02,
    _r03,
    _r04,
    _r05,
    _r06,
    _r07,
    _r08,
    _r09,
    _r10,
    _r11,
    _r12,
    _r13,
    _r14,
    _r15,
    _r16,
    _r17,
    _r18,
    _r19,
    _r20,
)


def generate(as_of: dt.date, participants: int | None = None) -> list[dict[str, str]]:
    """Flat import rows for the demo (``participants=None``: records "1".."20", the data that
    ``demo_findings.json`` describes) or for ``participants`` records built by cycling through
    the same templates (benchmarks; each cycle of 20 shifted back by 0-29 days)."""
    rows: list[dict[str, str]] = []
    if participants is None:
        for number, template in enumerate(TEMPLATES, start=1):
            p = _Participant(str(number), as_of)
            template(p)
            rows.extend(p.rows())
        return rows
    if participants < 0:
        raise ValueError("participants must be >= 0")
    for index in range(participants):
        cycle, position = divmod(index, len(TEMPLATES))
        p = _Participant(str(index + 1), as_of - dt.timedelta(days=cycle % 30))
        TEMPLATES[position](p)
        rows.extend(p.rows())
    return rows
