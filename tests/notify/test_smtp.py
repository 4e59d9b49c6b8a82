"""Sending: TLS settings enforced, a timeout always, real servers on loopback."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.support.notify import email_settings
from tests.support.smtpd import (
    Collector,
    client_tls_context,
    free_port,
    password_checker,
    self_signed_certificate,
    server_tls_context,
    smtp_server,
)
from worker.errors import ConfigError
from worker.notify import smtp as smtp_module
from worker.notify.smtp import SendError, SmtpSender, check_transport


def message(to: str = "pi@example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "[REDCap worker] test"
    msg["From"] = "worker@example.org"
    msg["To"] = to
    msg.set_content("hello")
    return msg


def test_plain_smtp_to_a_non_loopback_host_is_a_one_line_config_error() -> None:
    settings = email_settings(smtp_host="smtp.example.org", security="none")
    with pytest.raises(ConfigError) as caught:
        check_transport(settings)
    assert "\n" not in str(caught.value)
    assert "email.security" in str(caught.value)
    assert "smtp.example.org" in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_plain_smtp_to_loopback_is_allowed(host: str) -> None:
    assert check_transport(email_settings(smtp_host=host, security="none")) is None


def test_a_username_without_any_password_is_a_config_error() -> None:
    settings = email_settings(smtp_host="smtp.example.org", security="ssl", username="w")
    with pytest.raises(ConfigError, match="SMTP_PASSWORD"):
        check_transport(settings)


def test_the_password_may_come_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret\n")
    settings = email_settings(
        smtp_host="smtp.example.org", security="ssl", username="w", password_file=secret
    )
    check_transport(settings)
    password = settings.resolved_password()
    assert password is not None
    assert password.get_secret_value() == "s3cret"


def test_a_message_reaches_a_plain_loopback_server(smtpd) -> None:
    settings = email_settings(smtp_host="127.0.0.1", smtp_port=smtpd.port)
    with SmtpSender(settings) as sender:
        refused = sender.send(message())
    assert refused == {}
    [received] = smtpd.messages
    assert received.rcpt_tos == ["pi@example.org"]
    assert received.subject == "[REDCap worker] test"


def test_an_unreachable_server_is_a_send_error_naming_host_and_port() -> None:
    port = free_port()  # nothing listens there
    settings = email_settings(smtp_host="127.0.0.1", smtp_port=port)
    with pytest.raises(SendError, match=f"127.0.0.1:{port}"), SmtpSender(settings):
        pass


@pytest.mark.e2e
def test_starttls_with_login_against_a_real_tls_server(tmp_path: Path) -> None:
    made = self_signed_certificate(tmp_path)
    if made is None:
        pytest.skip("the openssl tool is not installed")
    cert, key = made
    collector = Collector()
    with smtp_server(
        collector=collector,
        tls_context=server_tls_context(cert, key),
        require_starttls=True,
        authenticator=password_checker("worker", "s3cret", collector),
        auth_require_tls=True,
    ) as server:
        settings = email_settings(
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            security="starttls",
            username="worker",
            password="s3cret",
        )
        with SmtpSender(settings, context=client_tls_context(cert)) as sender:
            sender.send(message())
    assert len(server.messages) == 1
    assert [user for user, _ in collector.logins] == ["worker"]


@pytest.mark.e2e
def test_starttls_refuses_a_certificate_it_does_not_trust(tmp_path: Path) -> None:
    made = self_signed_certificate(tmp_path)
    if made is None:
        pytest.skip("the openssl tool is not installed")
    cert, key = made
    with smtp_server(tls_context=server_tls_context(cert, key)) as server:
        settings = email_settings(smtp_host="127.0.0.1", smtp_port=server.port, security="starttls")
        # The default context: the system's CAs, which do not include the test certificate.
        with pytest.raises(SendError, match="CERTIFICATE_VERIFY_FAILED"), SmtpSender(settings):
            pass
    assert server.messages == []


class FakeSMTP:
    """Records how smtplib was called, for the settings no loopback server can play."""

    calls: list[tuple[str, Any]]

    def __init__(self, host: str, port: int, **kwargs: Any) -> None:
        FakeSMTP.calls = [("connect", (type(self).__name__, host, port, kwargs))]

    def ehlo(self) -> None:
        FakeSMTP.calls.append(("ehlo", None))

    def starttls(self, *, context: Any) -> None:
        FakeSMTP.calls.append(("starttls", context))

    def login(self, user: str, password: str) -> None:
        FakeSMTP.calls.append(("login", (user, password)))

    def send_message(self, msg: EmailMessage) -> dict:
        FakeSMTP.calls.append(("send", msg["To"]))
        return {}

    def quit(self) -> None:
        FakeSMTP.calls.append(("quit", None))


class FakeSMTP_SSL(FakeSMTP):
    pass


@pytest.fixture
def fake_smtplib(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    monkeypatch.setattr(smtp_module.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(smtp_module.smtplib, "SMTP_SSL", FakeSMTP_SSL)
    return FakeSMTP


def test_implicit_tls_connects_with_a_verifying_context_and_a_timeout(fake_smtplib) -> None:
    settings = email_settings(
        smtp_host="smtp.example.org",
        smtp_port=465,
        security="ssl",
        username="worker",
        password="s3cret",
        timeout_s=7.5,
    )
    with SmtpSender(settings) as sender:
        sender.send(message())
    kind, host, port, kwargs = fake_smtplib.calls[0][1]
    assert (kind, host, port) == ("FakeSMTP_SSL", "smtp.example.org", 465)
    assert kwargs["timeout"] == 7.5
    assert kwargs["context"].verify_mode.name == "CERT_REQUIRED"
    assert kwargs["context"].check_hostname
    assert ("login", ("worker", "s3cret")) in fake_smtplib.calls
    assert fake_smtplib.calls[-1] == ("quit", None)


def test_starttls_upgrades_before_logging_in_and_always_has_a_timeout(fake_smtplib) -> None:
    settings = email_settings(
        smtp_host="smtp.example.org", security="starttls", username="w", password="p"
    )
    with SmtpSender(settings) as sender:
        sender.send(message())
    names = [name for name, _ in fake_smtplib.calls]
    assert names.index("starttls") < names.index("login") < names.index("send")
    _, (_, _, _, kwargs) = fake_smtplib.calls[0]
    assert kwargs["timeout"] == settings.timeout_s


def test_a_refused_message_leaves_the_connection_usable(smtpd, monkeypatch) -> None:
    settings = email_settings(smtp_host="127.0.0.1", smtp_port=smtpd.port)
    with SmtpSender(settings) as sender:
        real = sender._smtp
        assert real is not None

        def refuse(msg: EmailMessage) -> dict:
            raise smtplib.SMTPDataError(554, b"rejected")

        monkeypatch.setattr(real, "send_message", refuse)
        with pytest.raises(SendError, match="554"):
            sender.send(message())
        assert sender.connected
