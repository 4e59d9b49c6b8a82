"""The email itself: multipart/alternative, text first, stable Message-ID, no auto-replies."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from tests.support.notify import message
from worker.notify.message import AUDIENCE_HEADER, KEY_HEADER, recipients_of, set_recipients


def test_plain_text_first_and_html_last_in_one_alternative() -> None:
    msg = message()
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]


def test_headers_identify_the_summary_stably() -> None:
    msg = message()
    assert msg["Message-ID"] == "<critical-study-abc@example.org>"
    assert msg[KEY_HEADER] == "critical-study-abc"
    assert msg[AUDIENCE_HEADER] == "study:critical"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["From"] == "worker@example.org"
    assert recipients_of(msg) == ["pi@example.org", "dm@example.org"]


def test_it_survives_a_round_trip_through_a_file() -> None:
    again = BytesParser(policy=policy.default).parsebytes(bytes(message()))
    assert again["Subject"] == "[REDCap worker] CRITICAL: 1 new protocol deviation"
    assert again.get_body(("plain",)).get_content() == "plain body\n"
    assert again.get_body(("html",)).get_content() == "<p>html body</p>\n"


def test_a_message_without_recipients_says_so_and_can_be_readdressed() -> None:
    msg = message(recipients=())
    assert recipients_of(msg) == []
    assert msg["To"] == "undisclosed-recipients:;"
    set_recipients(msg, ("new@example.org",))
    assert recipients_of(msg) == ["new@example.org"]
    assert len(msg.get_all("To")) == 1
