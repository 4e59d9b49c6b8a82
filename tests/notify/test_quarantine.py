"""The data manager's quarantine notice: once per quarantine, names only, told again if it
comes back."""

from __future__ import annotations

from worker.config import EmailSettings
from worker.notify.plan import recipients_for
from worker.notify.quarantine import AUDIENCE, quarantine_notice

WHY = "rule XX-01: [gone_field]: no such field in the project"
TITLES = {"XX-01": "End before start"}


def test_a_new_quarantine_is_told_with_the_check_its_title_and_why() -> None:
    notice, told = quarantine_notice({"XX-01": WHY}, TITLES, [])
    assert notice is not None
    assert "XX-01" in notice.subject
    for part in (notice.rendered.text, notice.rendered.html):
        assert "XX-01" in part
        assert "End before start" in part
        assert "gone_field" in part
    assert "left as they are" in notice.rendered.text
    assert list(notice.told) == told


def test_a_quarantine_already_told_is_not_told_again_until_it_lifts_and_returns() -> None:
    _, told = quarantine_notice({"XX-01": WHY}, TITLES, [])
    again, still = quarantine_notice({"XX-01": WHY}, TITLES, told)
    assert again is None
    assert still == told
    _, lifted = quarantine_notice({}, TITLES, still)
    assert lifted == []
    back, _ = quarantine_notice({"XX-01": WHY}, TITLES, lifted)
    assert back is not None


def test_a_new_reason_or_a_second_check_is_a_new_quarantine() -> None:
    _, told = quarantine_notice({"XX-01": WHY}, TITLES, [])
    notice, _ = quarantine_notice({"XX-01": WHY, "XX-02": "field 'b' gone"}, TITLES, told)
    assert notice is not None
    assert "XX-02" in notice.rendered.text
    assert "XX-01" not in notice.rendered.text  # told already


def test_the_notice_goes_to_the_data_manager() -> None:
    email = EmailSettings(data_manager=["dm@example.org"], critical=["pi@example.org"])
    assert recipients_for(AUDIENCE, email) == ("dm@example.org",)
