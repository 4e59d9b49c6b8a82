"""Synthetic dNK-trial rows for sandbox tests (a stand-in until, and besides, demo_data.py).

Deterministic: participant i always gets the same values. Each participant has a screening
row, one or two treatment instances (the event repeats), follow-up months, and some have a
pregnancy, an adverse event, an end-of-study row and a data query.
"""

from __future__ import annotations

from datetime import date, timedelta


def _d(day: date) -> str:
    return day.isoformat()


def participant_rows(i: int) -> list[dict[str, str]]:
    rid = str(i)
    start = date(2026, 1, 5) + timedelta(days=i % 200)
    base = {"record_id": rid, "redcap_repeat_instrument": "", "redcap_repeat_instance": ""}
    rows = [
        {
            **base,
            "redcap_event_name": "screening_arm_1",
            "enr_screen_date": _d(start),
            "enr_age": str(25 + i % 15),
            "enr_indication": str(1 + i % 3),
            "enr_fertility_need": "1",
            "enrollment_complete": "2",
            "icf_signed": "1",
            "icf_date": _d(start),
            "icf_version": "2",
            "informed_consent_complete": "2",
            "mba_date": _d(start + timedelta(days=2)),
            "mba_cycle_day": "3",
            "mba_cd56bright_pct": "41.5",
            "mba_cd49a_pct": "22",
            "mba_unk_status": "2",
            "menstrual_blood_analysis_complete": "2",
        }
    ]
    infusions = 1 + (i % 4 == 0)
    for k in range(1, infusions + 1):
        pb = start + timedelta(days=10 + 120 * (k - 1))
        rows.append(
            {
                **base,
                "redcap_event_name": "treatment_arm_1",
                "redcap_repeat_instance": str(k),
                "pb_date": _d(pb),
                "pb_volume_ml": "60",
                "pb_collection_complete": "2",
                "cp_culture_start": _d(pb + timedelta(days=1)),
                "cp_harvest_date": _d(pb + timedelta(days=13)),
                "cp_cell_count": "250",
                "cp_viability_pct": "91",
                "cp_dnk_pct": "72.5",
                "cp_sterility": "1",
                "cp_mycoplasma": "1",
                "cp_endotoxin": "0.1",
                "cp_released": "1",
                "cp_release_date": _d(pb + timedelta(days=13)),
                "cell_product_complete": "2",
                "inf_date": _d(pb + timedelta(days=14)),
                "inf_dose": "100",
                "inf_volume_ml": "1.5",
                "inf_completed": "1",
                "infusion_complete": "2",
            }
        )
    d0 = start + timedelta(days=24)
    for month in range(1, 7):
        rows.append(
            {
                **base,
                "redcap_event_name": f"fu_m{month}_arm_1",
                "mba_date": _d(d0 + timedelta(days=28 * month)),
                "mba_cycle_day": "2",
                "mba_cd56bright_pct": "55",
                "mba_cd49a_pct": "35",
                "mba_unk_status": "1",
                "menstrual_blood_analysis_complete": "1",
            }
        )
    if i % 3 == 0:
        rows.append(
            {
                **base,
                "redcap_event_name": "pregnancy_arm_1",
                "redcap_repeat_instrument": "pregnancy",
                "redcap_repeat_instance": "1",
                "pg_attempt_start": _d(d0 + timedelta(days=200)),
                "pg_method": "1",
                "pg_hcg_pos": "0",
                "pregnancy_complete": "1",
            }
        )
    if i % 5 == 0:
        rows.append(
            {
                **base,
                "redcap_event_name": "safety_arm_1",
                "redcap_repeat_instrument": "adverse_event",
                "redcap_repeat_instance": "1",
                "ae_term": "Cramping",
                "ae_onset": _d(d0 + timedelta(days=1)),
                "ae_grade": "1",
                "ae_serious": "0",
                "ae_related": "3",
                "ae_outcome": "1",
                "ae_end_date": _d(d0 + timedelta(days=3)),
                "adverse_event_complete": "2",
            }
        )
    if i % 7 == 0:
        rows.append(
            {
                **base,
                "redcap_event_name": "end_of_study_arm_1",
                "eos_date": _d(d0 + timedelta(days=190)),
                "eos_status": "1",
                "end_of_study_complete": "2",
            }
        )
    return rows


def nk_rows(participants: int) -> list[dict[str, str]]:
    return [row for i in range(1, participants + 1) for row in participant_rows(i)]
