"""Subjects name the study: the configured short name, else the project title, on one
safe line."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from tests.support.notify import critical, item, message, snapshot
from worker.notify.naming import header_text, study_name, subject_prefix
from worker.notify.summary import compose_critical, compose_digest


def test_the_configured_name_wins_over_the_project_title() -> None:
    assert study_name("NK-01", "dNK intrauterine infusion") == "NK-01"
    assert study_name(None, "dNK intrauterine infusion") == "dNK intrauterine infusion"
    assert study_name("  ", "dNK intrauterine infusion") == "dNK intrauterine infusion"
    assert study_name(None, "") == ""


def test_subjects_name_the_study() -> None:
    a = critical("8")
    named = snapshot(a, study="NK-01")
    assert compose_critical(named, [a]).subject == (
        "[REDCap worker: NK-01] CRITICAL: 1 new protocol deviation"
    )
    digest = compose_digest(named, [a], resolved_before=0)
    assert digest.subject == "[REDCap worker: NK-01] Deviation digest: 1 new, 1 open"
    assert compose_critical(snapshot(a), [a]).subject.startswith("[REDCap worker] CRITICAL")
    site = snapshot(critical(site="site_a"), study="NK-01").for_site("site_a")
    assert compose_digest(site, [item()], resolved_before=0).subject.startswith(
        "[REDCap worker: NK-01] Deviation digest"
    )


def test_a_name_is_made_one_safe_header_line() -> None:
    assert header_text("NK\r\nBcc: victim@example.org") == "NK Bcc: victim@example.org"
    assert header_text("a\tb\x00c\x1b[31m  d") == "a b c (31m d"
    assert header_text("[NK] trial") == "(NK) trial"
    long = header_text("x" * 200)
    assert len(long) == 60
    assert long.endswith("…")


def test_a_named_subject_survives_the_email_round_trip() -> None:
    name = study_name("Étude NK\n01", "")
    subject = f"{subject_prefix(name)} CRITICAL: 1 new"
    msg = message()
    del msg["Subject"]
    msg["Subject"] = subject
    again = BytesParser(policy=policy.default).parsebytes(bytes(msg))
    assert again["Subject"] == "[REDCap worker: Étude NK 01] CRITICAL: 1 new"
