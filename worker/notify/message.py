"""A rendered summary as one email: ``multipart/alternative``, plain text first, HTML last
(the part clients prefer), with headers that keep it out of auto-reply loops."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from worker.notify.render import Rendered

# The summary's key travels with the message, so a message read back from the outbox knows
# which summary it is without trusting its file name.
KEY_HEADER = "X-REDCap-Worker-Summary"
# Who it is for, so the recipients can be looked up again from the settings when it is sent.
AUDIENCE_HEADER = "X-REDCap-Worker-Audience"
NO_RECIPIENTS = "undisclosed-recipients:;"


def build_message(
    *,
    key: str,
    audience: str,
    subject: str,
    rendered: Rendered,
    sender: str,
    recipients: tuple[str, ...],
    now: datetime,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    set_recipients(msg, recipients)
    msg["Date"] = format_datetime(now)
    # Stable per summary: if a crash ever makes the worker send one twice, mail systems
    # that de-duplicate by Message-ID can drop the second copy.
    domain = sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<{key}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    msg[KEY_HEADER] = key
    msg[AUDIENCE_HEADER] = audience
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def set_recipients(msg: EmailMessage, recipients: tuple[str, ...]) -> None:
    del msg["To"]
    msg["To"] = ", ".join(recipients) if recipients else NO_RECIPIENTS


def recipients_of(msg: EmailMessage) -> list[str]:
    """The addresses a message goes to (none when it was built without recipients)."""
    to = msg.get_all("To", [])
    addresses = [a.addr_spec for header in to for a in header.addresses]
    return [a for a in addresses if a]
