"""A real SMTP server on loopback for the email tests (aiosmtpd), and what it received.

aiosmtpd's ``Controller(port=0)`` does not work (it connects to port 0 to check the server
is up), so a free port is found first: bind a socket to port 0, read the port, close it.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())


@dataclass
class Collector:
    """The handler: keeps every message it is given."""

    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw))
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    collector: Collector

    @property
    def messages(self) -> list[Received]:
        return self.collector.messages


@contextmanager
def smtp_server(
    port: int | None = None, collector: Collector | None = None, **kwargs: Any
) -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback (``kwargs`` go to aiosmtpd: TLS, authentication)."""
    collector = collector or Collector()
    port = port or free_port()
    controller = Controller(collector, hostname=HOST, port=port, **kwargs)
    controller.start()
    try:
        yield SmtpServer(port, collector)
    finally:
        controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 (and its key), made with the openssl tool if present."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def client_tls_context(cert: Path) -> ssl.SSLContext:
    """Trusts the test certificate only; hostname and certificate checks stay on."""
    return ssl.create_default_context(cafile=str(cert))


def password_checker(username: str, password: str, collector: Collector) -> Any:
    """An aiosmtpd authenticator accepting one username and password."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == username
            and data.password.decode() == password
        )
        if ok:
            collector.logins.append((username, mechanism))
        return AuthResult(success=ok)

    return check
