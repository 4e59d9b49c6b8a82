"""Sending through the configured SMTP relay: the only network I/O of summaries.

STARTTLS (submission, port 587) or implicit TLS (port 465), both with certificate checks,
and a login when a username is set; plain SMTP only to a relay on this machine's loopback,
where nothing crosses a network. Every connection has a timeout: a dead relay must fail the
run's summaries, not hang the scheduled job.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from types import TracebackType

from worker.config import EmailSettings
from worker.errors import ConfigError
from worker.loopback import is_loopback


class SendError(Exception):
    """The relay could not be reached, refused us, or refused a message (one line)."""


def check_transport(email: EmailSettings) -> None:
    """Refuse settings that would send in the clear or fail to log in (one-line errors)."""
    host = email.smtp_host
    if host is None:
        return
    if email.security == "none" and not is_loopback(host):
        raise ConfigError(
            f'email.security = "none" sends in plain text and is allowed only to a loopback '
            f'SMTP host, not {host}: use "starttls" or "ssl"'
        )
    if email.username and email.resolved_password() is None:
        raise ConfigError(
            "email.username is set but there is no password: set SMTP_PASSWORD or "
            "SMTP_PASSWORD_FILE"
        )


def _reason(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ").strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SmtpSender:
    """One connection for all of a run's messages: ``with SmtpSender(cfg) as smtp: ...``."""

    def __init__(self, email: EmailSettings, *, context: ssl.SSLContext | None = None) -> None:
        check_transport(email)
        if email.smtp_host is None:
            raise ConfigError("email.smtp_host is not set: nowhere to send summaries")
        self.email = email
        self.host: str = email.smtp_host
        # Certificates are always checked; tests pass a context trusting their own CA.
        self.context = context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        email = self.email
        try:
            if email.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, email.smtp_port, timeout=email.timeout_s, context=self.context
                )
            else:
                smtp = smtplib.SMTP(self.host, email.smtp_port, timeout=email.timeout_s)
            self._smtp = smtp
            smtp.ehlo()
            if email.security == "starttls":
                smtp.starttls(context=self.context)
                smtp.ehlo()
            if email.username:
                password = email.resolved_password()
                assert password is not None  # check_transport made sure
                smtp.login(email.username, password.get_secret_value())
        except (OSError, smtplib.SMTPException) as exc:
            self._close()
            raise SendError(
                f"SMTP {self.host}:{email.smtp_port} ({email.security}): {_reason(exc)}"
            ) from None
        return self

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def send(self, msg: EmailMessage) -> dict[str, str]:
        """Send one message; returns the recipients the relay refused (the rest have it).

        A refused message leaves the connection usable for the next; a lost connection
        (``connected`` turns false) does not.
        """
        if self._smtp is None:
            raise SendError("not connected")
        try:
            refused = self._smtp.send_message(msg)
        except smtplib.SMTPServerDisconnected as exc:
            self._close()
            raise SendError(_reason(exc)) from None
        except smtplib.SMTPException as exc:  # the relay refused this message (an OSError too)
            raise SendError(_reason(exc)) from None
        except OSError as exc:  # the socket failed or timed out
            self._close()
            raise SendError(_reason(exc)) from None
        return {addr: _reason_code(reply) for addr, reply in refused.items()}

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _reason_code(reply: tuple[int, bytes]) -> str:
    code, text = reply
    return f"{code} {text.decode('utf-8', 'replace')}".strip()
