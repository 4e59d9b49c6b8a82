"""Deterministic synthetic REDCap data for the BP-LOWER trial (REDCap's side of the world).

``generate(as_of)`` returns flat IMPORT rows for the two-arm project in this folder: one row
per record x event x instance that holds data, blanks omitted, each saved form with its
``<form>_complete``. Every date is an offset from ``as_of``, so the findings listed in
``demo_findings.json`` are the same whatever as-of date is chosen.

Like the dNK demo, this module shares no code with the worker (stdlib only): the data and
the findings it seeds are written from the protocol (``rules/bp_trial/README.md``) and the
data dictionary alone.

Each participant is a template naming her arm (1 Intervention, 2 Control) and laying out
her data relative to ``R``, her randomisation date as an offset from day 0 (the as-of
date). Visit windows (protocol "Visits"): week 4 = R + 28 +/- 7 (Intervention only), week 12
= R + 84 +/- 14, week 24 = R + 168 +/- 14, both ends included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

# The project's forms and their fields in data-dictionary order (record_id left out).
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "enrollment": ("enr_date", "enr_age", "enr_icf_date", "enr_eligible", "enr_site_note"),
    "vital_signs": ("vs_date", "vs_sbp", "vs_dbp", "vs_hr"),
    "randomisation": ("rand_date", "rand_group", "rand_number"),
    "adverse_event": (
        "ae_term",
        "ae_onset",
        "ae_serious",
        "ae_aware_date",
        "ae_report_date",
        "ae_outcome",
        "ae_end_date",
    ),
    "end_of_study": ("eos_date", "eos_status", "eos_comment"),
}

# Forms of each visit (form_event_mapping.json); week 4 exists in arm 1 only.
VISIT_FORMS: dict[str, tuple[str, ...]] = {
    "screening": ("enrollment", "vital_signs"),
    "baseline": ("vital_signs",),
    "randomisation": ("randomisation",),
    "week_4": ("vital_signs",),
    "week_12": ("vital_signs",),
    "week_24": ("vital_signs",),
    "adverse_events": ("adverse_event",),
    "end_of_study": ("end_of_study",),
}
ARM_VISITS = {1: tuple(VISIT_FORMS), 2: tuple(v for v in VISIT_FORMS if v != "week_4")}
REPEATING_FORMS = {"adverse_events": "adverse_event"}
TARGET_DAY = {"week_4": 28, "week_12": 84, "week_24": 168}

_VISIT_ORDER = {visit: position for position, visit in enumerate(VISIT_FORMS)}
_FIELD_FORM = {name: form for form, names in FORM_FIELDS.items() for name in names}

Value = str | int | None


class _Participant:
    """Collects one record's rows. Dates are given as day offsets from day 0 (ints)."""

    def __init__(self, record_id: str, day0: dt.date, arm: int) -> None:
        self.record_id = record_id
        self.day0 = day0
        self.arm = arm
        self._rows: dict[tuple[str, str], dict[str, str]] = {}

    def d(self, offset: int) -> str:
        return (self.day0 + dt.timedelta(days=offset)).isoformat()

    def _put(self, visit: str, instance: str, values: dict[str, Value]) -> None:
        if visit not in ARM_VISITS[self.arm]:
            raise KeyError(f"{visit} is not a visit of arm {self.arm}")
        row = self._rows.setdefault((visit, instance), {})
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
    def screening(self, s: int, *, consent: int | None = 0, eligible: str = "1", **extra: Value):
        """Screening on day ``s``: consent ``consent`` days later (None: blank), vitals the
        same day (uncontrolled: 156/94)."""
        values: dict[str, Value] = {
            "enr_date": s,
            "enr_age": "58",
            "enr_icf_date": None if consent is None else s + consent,
            "enr_eligible": eligible,
            "vs_date": s,
            "vs_sbp": "156",
            "vs_dbp": "94",
            "vs_hr": "74",
        }
        values.update(extra)
        self._put("screening", "", values)

    def baseline(self, day: int, **extra: Value) -> None:
        values: dict[str, Value] = {"vs_date": day, "vs_sbp": "152", "vs_dbp": "92", "vs_hr": "72"}
        values.update(extra)
        self._put("baseline", "", values)

    def randomise(self, r: int, group: str | None = None, **extra: Value) -> None:
        """Randomised on ``r``; ``group`` defaults to the arm's own allocation code."""
        values: dict[str, Value] = {
            "rand_date": r,
            "rand_group": group or str(self.arm),
            "rand_number": f"BP-{int(self.record_id):03d}",
        }
        values.update(extra)
        self._put("randomisation", "", values)

    def enrolled(self, r: int) -> None:
        """Screened 14 days before ``r``, consented that day, baseline the day before."""
        self.screening(r - 14)
        self.baseline(r - 1)
        self.randomise(r)

    def visit(self, visit: str, r: int, shift: int = 0, **extra: Value) -> None:
        """Vitals at ``visit`` dated target + ``shift`` (target = R + the visit's day)."""
        values: dict[str, Value] = {
            "vs_date": r + TARGET_DAY[visit] + shift,
            "vs_sbp": "138",
            "vs_dbp": "84",
            "vs_hr": "70",
        }
        values.update(extra)
        self._put(visit, "", values)

    def adverse_event(self, instance: int, **values: Value) -> None:
        self._put("adverse_events", str(instance), dict(values))

    def end_of_study(self, day: int, status: str) -> None:
        self._put("end_of_study", "", {"eos_date": day, "eos_status": status})

    # -- output -------------------------------------------------------------------------
    def rows(self) -> list[dict[str, str]]:
        out = []
        for (visit, instance), values in sorted(
            self._rows.items(), key=lambda item: (_VISIT_ORDER[item[0][0]], int(item[0][1] or 0))
        ):
            row = {
                "record_id": self.record_id,
                "redcap_event_name": f"{visit}_arm_{self.arm}",
                "redcap_repeat_instrument": REPEATING_FORMS.get(visit, "") if instance else "",
                "redcap_repeat_instance": instance,
            }
            for form in VISIT_FORMS[visit]:
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
# Participants. R is the randomisation date (offset from day 0 = as-of date). Unless said
# otherwise: screened and consented on R - 14, eligible, baseline vitals on R - 1,
# allocation matching the arm, visits on their target days.
# ---------------------------------------------------------------------------------------


def _r01(p: _Participant) -> None:
    """Intervention, completed week 24. Clean.

    Near misses: baseline on the randomisation day itself (not after it: no BP-BAS-01);
    consent on the randomisation day (not after: no BP-RND-01); week 4 on R + 21 (window
    start), week 12 on R + 98 (window end); a serious AE reported exactly 1 day after the
    site became aware (no BP-SAE-01); systolic exactly 1 mmHg above diastolic at week 24 (no
    BP-VS-01); systolic 260 at screening (the dictionary's maximum: no DQ-RANGE).
    """
    r = -200
    p.screening(r, vs_sbp="260", vs_dbp="120")
    p.baseline(r)
    p.randomise(r)
    p.visit("week_4", r, -7)
    p.visit("week_12", r, +14)
    p.visit("week_24", r, vs_sbp="101", vs_dbp="100")
    p.adverse_event(
        1,
        ae_term="Ankle oedema",
        ae_onset=r + 40,
        ae_serious="1",
        ae_aware_date=r + 41,
        ae_report_date=r + 42,
        ae_outcome="1",
        ae_end_date=r + 60,
    )
    p.end_of_study(r + 170, "1")


def _r02(p: _Participant) -> None:
    """Control, completed week 24. Clean; shows that control has no week-4 visit.

    Near misses: week 12 on R + 70 (window start), week 24 on R + 182 (window end).
    """
    r = -200
    p.enrolled(r)
    p.visit("week_12", r, -14)
    p.visit("week_24", r, +14)
    p.end_of_study(r + 185, "1")


def _r03(p: _Participant) -> None:
    """Intervention arm's screen failure: not eligible, not randomised. Clean (BP-RND-02
    needs a randomisation)."""
    p.screening(-20, eligible="0")


def _r04(p: _Participant) -> None:
    """Control arm's screening, consent date not entered, not randomised.

    Seeds: DQ-REQUIRED (screening enr_icf_date). BP-RND-01 cannot judge without a consent
    date and no randomisation exists anyway.
    """
    p.screening(-10, consent=None)


def _r05(p: _Participant) -> None:
    """Intervention, randomised 2 days before consenting; week 4 one day early.

    Seeds: BP-RND-01 (randomisation rand_date), BP-WIN-01 (week_4 vs_date: day 20, window
    21-35). Week 12 on target; week 24 upcoming.
    """
    r = -100
    p.screening(r - 14, consent=16)
    p.baseline(r - 1)
    p.randomise(r)
    p.visit("week_4", r, -8)
    p.visit("week_12", r)


def _r06(p: _Participant) -> None:
    """Control, randomised although screening said not eligible.

    Seeds: BP-RND-02 (randomisation rand_date; logic reading [screening][enr_eligible] by
    visit name, in arm 2). Week 12 upcoming (opens on R + 70).
    """
    r = -60
    p.screening(r - 14, eligible="0")
    p.baseline(r - 1)
    p.randomise(r)


def _r07(p: _Participant) -> None:
    """Intervention arm, but the form says Usual care (control). Week 4 due now.

    Seeds: BP-RND-03 (randomisation rand_group).
    """
    r = -30
    p.enrolled(r)
    p.randomise(r, group="2")


def _r08(p: _Participant) -> None:
    """Control arm, but the form says Amlodipine (intervention); week 12 missed.

    Seeds: BP-RND-03 (randomisation rand_group), BP-WIN-02 (week_12 vs_date: window closed
    on R + 98, the as-of date is R + 120). Week 24 upcoming.
    """
    r = -120
    p.enrolled(r)
    p.randomise(r, group="1")


def _r09(p: _Participant) -> None:
    """Intervention, week 4 missed by a day: its window closed yesterday (R + 35 = -1).

    Seeds: BP-WIN-02 (week_4 vs_date).
    """
    r = -36
    p.enrolled(r)


def _r10(p: _Participant) -> None:
    """Control, week 12 window closes today (R + 98 = 0): due now, not missed.

    Near misses: no BP-WIN-02 on the window's last day; no week 4 in the control arm
    although R + 35 has passed.
    """
    r = -98
    p.enrolled(r)


def _r11(p: _Participant) -> None:
    """Intervention, an SAE reported 2 days after awareness, a second one on time.

    Seeds: BP-SAE-01 (adverse_events instance 1 ae_report_date). Instance 2 is reported 1
    day after awareness (near miss). Week 4 and 12 in window; week 24 upcoming.
    """
    r = -150
    p.enrolled(r)
    p.visit("week_4", r, +3)
    p.visit("week_12", r, -5)
    p.adverse_event(
        1,
        ae_term="Syncope",
        ae_onset=r + 30,
        ae_serious="1",
        ae_aware_date=r + 31,
        ae_report_date=r + 33,
        ae_outcome="1",
        ae_end_date=r + 32,
    )
    p.adverse_event(
        2,
        ae_term="Fall with wrist fracture",
        ae_onset=r + 90,
        ae_serious="1",
        ae_aware_date=r + 90,
        ae_report_date=r + 91,
        ae_outcome="2",
    )


def _r12(p: _Participant) -> None:
    """Control, an SAE known for 2 days and not reported; a second one known since
    yesterday; a non-serious AE. Week 12 due now.

    Seeds: BP-SAE-01 (instance 1: 2 days > 1); instance 2 is 1 day (near miss). Both blank
    report dates are required while the AE is serious: DQ-REQUIRED on instances 1 and 2.
    """
    r = -80
    p.enrolled(r)
    p.adverse_event(
        1,
        ae_term="Hypertensive urgency",
        ae_onset=-3,
        ae_serious="1",
        ae_aware_date=-2,
        ae_outcome="2",
    )
    p.adverse_event(
        2,
        ae_term="Chest pain",
        ae_onset=-1,
        ae_serious="1",
        ae_aware_date=-1,
        ae_outcome="3",
    )
    p.adverse_event(3, ae_term="Headache", ae_onset=r + 10, ae_serious="0", ae_outcome="2")


def _r13(p: _Participant) -> None:
    """Intervention, withdrew on R + 50 after week 4: weeks 12 and 24 are not applicable
    (ended before their windows closed). Clean."""
    r = -130
    p.enrolled(r)
    p.visit("week_4", r)
    p.end_of_study(r + 50, "2")


def _r14(p: _Participant) -> None:
    """Control, systolic below diastolic at week 12 (a swapped entry); screening systolic
    300.

    Seeds: BP-VS-01 (week_12 vs_sbp), DQ-RANGE (screening vs_sbp 300 > 260). Week 24
    upcoming.
    """
    r = -100
    p.enrolled(r)
    p.screening(r - 14, vs_sbp="300")
    p.visit("week_12", r, vs_sbp="85", vs_dbp="85")


def _r15(p: _Participant) -> None:
    """Intervention, baseline measured the day after randomisation; week 4 on its window's
    last day; a heart rate typed with a letter O; an AE outcome code that does not exist.

    Seeds: BP-BAS-01 (baseline vs_date; logic reading [randomisation][rand_date]), DQ-TYPE
    (week_4 vs_hr), DQ-CHOICE (adverse_events 1 ae_outcome). Week 12 upcoming.
    """
    r = -40
    p.screening(r - 14)
    p.baseline(r + 1)
    p.randomise(r)
    p.visit("week_4", r, +7, vs_hr="7O")
    p.adverse_event(1, ae_term="Flushing", ae_onset=r + 3, ae_serious="0", ae_outcome="7")


def _r16(p: _Participant) -> None:
    """Control arm, consented and baseline done, awaiting randomisation (no schedule yet);
    a non-serious AE whose resolution date is filled although it is still recovering.

    Seeds: DQ-HIDDEN (adverse_events 1 ae_end_date).
    """
    p.screening(-9)
    p.baseline(-2)
    p.adverse_event(1, ae_term="Cough", ae_onset=-5, ae_serious="0", ae_outcome="2", ae_end_date=-1)


# (template, arm)
TEMPLATES: tuple[tuple[Callable[[_Participant], None], int], ...] = (
    (_r01, 1),
    (_r02, 2),
    (_r03, 1),
    (_r04, 2),
    (_r05, 1),
    (_r06, 2),
    (_r07, 1),
    (_r08, 2),
    (_r09, 1),
    (_r10, 2),
    (_r11, 1),
    (_r12, 2),
    (_r13, 1),
    (_r14, 2),
    (_r15, 1),
    (_r16, 2),
)


def generate(as_of: dt.date, participants: int | None = None) -> list[dict[str, str]]:
    """Flat import rows: records "1".."16" (``participants=None``, the data
    ``demo_findings.json`` describes), or ``participants`` records cycling through the same
    templates (each cycle shifted back by 0-29 days; no list of findings)."""
    rows: list[dict[str, str]] = []
    count = len(TEMPLATES) if participants is None else participants
    if count < 0:
        raise ValueError("participants must be >= 0")
    for index in range(count):
        cycle, position = divmod(index, len(TEMPLATES))
        template, arm = TEMPLATES[position]
        p = _Participant(str(index + 1), as_of - dt.timedelta(days=cycle % 30), arm)
        template(p)
        rows.extend(p.rows())
    return rows
