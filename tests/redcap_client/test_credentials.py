"""URL and token are checked before PyCap sees them, and the token never shows."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from tests.support.redcap_client import TOKEN, URL
from worker.errors import ConfigError
from worker.redcap_client import RedcapClient
from worker.redcap_client.credentials import check_token, check_url


def exception_texts(exc: BaseException) -> list[str]:
    """Everything of an exception a log or traceback could show."""
    texts = [str(exc), repr(exc), *map(repr, exc.args)]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            texts += exception_texts(linked)
    return texts


@pytest.mark.parametrize(
    "url",
    [
        "https://redcap.example.org/api/",
        "http://127.0.0.1:8080/redcap/api/",
        "  https://redcap.example.org/api/\n",
    ],
)
def test_accepts_api_urls(url: str) -> None:
    assert check_url(url) == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "redcap.example.org/api/",
        "ftp://redcap.example.org/api/",
        "https://redcap.example.org/",
        "https://redcap.example.org/api",
        "https://redcap.example.org/api/?x=1",
        "https:///api/",
    ],
)
def test_rejects_other_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        check_url(url)


def test_url_message_hides_credentials_in_the_url() -> None:
    with pytest.raises(ConfigError) as info:
        check_url("https://alice:hunter2@redcap.example.org/")
    assert "hunter2" not in str(info.value)
    assert "redcap.example.org" in str(info.value)


def test_accepts_32_letters_and_digits_as_str_or_secretstr() -> None:
    assert check_token(TOKEN) == TOKEN
    assert check_token(SecretStr(TOKEN)) == TOKEN
    assert check_token(f"  {TOKEN}\n") == TOKEN  # secrets files end with a newline


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (TOKEN[:31], "got 31 characters"),
        (TOKEN + "A", "got 33 characters"),
        (TOKEN * 2, "super API token"),
        (TOKEN[:31] + "-", "not letters or digits"),
        ("", "missing"),
    ],
)
def test_bad_token_raises_config_error_without_the_token(token: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        RedcapClient(URL, token)
    assert says in str(info.value)
    if token:
        assert token[:16] not in " ".join(exception_texts(info.value))
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_bad_secretstr_token_is_not_revealed() -> None:
    secret = SecretStr("x" * 31 + "!")
    with pytest.raises(ConfigError) as info:
        RedcapClient(URL, secret)
    assert "xxxxxxxx" not in " ".join(exception_texts(info.value))


def test_pycap_would_leak_the_token_so_we_check_first() -> None:
    """Why the checks exist: PyCap 2.7.0's own assertion message contains the token."""
    import redcap

    short = "LEAKME" * 5
    with pytest.raises(AssertionError) as info:
        redcap.Project(URL, short)
    assert short in str(info.value)
    with pytest.raises(ConfigError) as ours:
        RedcapClient(URL, short)
    assert short not in " ".join(exception_texts(ours.value))


def test_repr_and_str_of_the_client_hide_the_token() -> None:
    client = RedcapClient(URL, SecretStr(TOKEN))
    for text in (repr(client), str(client), repr(client._project), repr(client._transport)):
        assert TOKEN not in text
    assert URL in repr(client)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"batch_size": 0}, "batch size"),
        ({"max_requests_per_second": 0}, "per second"),
        ({"timeout": (5.0, 0)}, "timeout"),
        ({"timeout": (5.0,)}, "timeout"),
    ],
)
def test_other_settings_are_checked(kwargs: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        RedcapClient(URL, TOKEN, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    ["http://redcap.example.org/api/", "http://10.0.0.5/api/", "http://[2001:db8::1]:8080/api/"],
)
def test_plain_http_to_another_host_is_refused_in_one_line(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RedcapClient(url, TOKEN)
    message = str(caught.value)
    assert "plain http" in message
    assert "https://" in message
    assert "allow_insecure_http" in message
    assert "\n" not in message
    assert caught.value.exit_code == 2
    assert TOKEN not in message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/api/", "http://localhost/api/", "http://[::1]:9/api/"]
)
def test_plain_http_to_loopback_is_allowed_without_a_warning(url: str) -> None:
    with capture_logs() as logs:
        RedcapClient(url, TOKEN)
    assert logs == []


def test_allow_insecure_http_lets_a_test_server_through_with_a_warning() -> None:
    with capture_logs() as logs:
        RedcapClient("http://redcap.example.org/api/", TOKEN, allow_insecure_http=True)
    assert [e["event"] for e in logs] == ["redcap URL is plain http: the token travels unencrypted"]
    assert TOKEN not in repr(logs)
