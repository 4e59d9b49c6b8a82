"""A dNK finding to build data queries from."""

from __future__ import annotations

from worker.core.findings import Finding, Kind, Severity


def finding(value: str = "48", **kw) -> Finding:
    base = {
        "rule": "NK-WIN-01",
        "kind": Kind.DEVIATION,
        "severity": Severity.MAJOR,
        "record": "4",
        "event": "fu_m2_arm_1",
        "instrument": "menstrual_blood_analysis",
        "instance": None,
        "field": "mba_date",
        "message": f"Sample for month 2 taken on day {value}; window is days 49–63",
        "evidence": {"fu_m2_arm_1[].mba_date": value},
    }
    base.update(kw)
    return Finding(**base)
