"""A REDCap client from the ``[redcap]`` settings (worker/connect.py): the settings reach the
client, and what is missing is said in one line before anything is sent."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from worker.config import RedcapSettings
from worker.connect import make_client
from worker.errors import ConfigError

TOKEN = "0123456789ABCDEF0123456789ABCDEF"


def test_the_client_takes_the_url_batch_size_and_concurrency_of_the_settings() -> None:
    settings = RedcapSettings(
        url="https://redcap.example.org/api/",
        token=SecretStr(TOKEN),
        batch_size=50,
        max_concurrent_requests=2,
    )
    with make_client(settings) as client:
        assert client.url == "https://redcap.example.org/api/"
        assert client.batch_size == 50
        assert client.max_concurrent_requests == 2
        assert client.requests_made == 0


def test_no_url_is_a_config_error_that_points_at_the_setting_and_the_sandbox() -> None:
    with pytest.raises(ConfigError, match=r"redcap\.url is not set.*--sandbox"):
        make_client(RedcapSettings(url="", token=SecretStr(TOKEN)))


def test_no_token_is_a_config_error_that_names_the_variables() -> None:
    settings = RedcapSettings(url="https://redcap.example.org/api/", token=None, token_file=None)
    with pytest.raises(ConfigError, match="REDCAP_API_TOKEN"):
        make_client(settings)
