"""Configuration: one TOML file, the environment over it, one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.config import load_settings
from worker.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for var in list(os.environ):
        if var.startswith(("WORKER_", "REDCAP_API_")):
            monkeypatch.delenv(var)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_is_valid_and_points_at_the_dnk_study() -> None:
    settings = load_settings(REPO / "config.example.toml")
    assert settings.study.mapping == REPO / "mappings" / "nk_trial.toml"
    assert settings.study.rules == REPO / "rules" / "nk_trial"
    assert settings.redcap.verify_ssl is True
    assert settings.redcap.batch_size == 200
    assert settings.redcap.max_requests_per_second == 5.0


def test_environment_overrides_any_key_and_merges_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[redcap]\nurl = "https://a.example/api/"\nbatch_size = 50\n')
    monkeypatch.setenv("WORKER_REDCAP__BATCH_SIZE", "500")
    settings = load_settings(path)
    assert settings.redcap.batch_size == 500
    assert settings.redcap.url == "https://a.example/api/"


def test_redcap_api_variables_win_over_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[redcap]\nurl = "https://file.example/api/"\n')
    monkeypatch.setenv("WORKER_REDCAP__URL", "https://prefixed.example/api/")
    monkeypatch.setenv("REDCAP_API_URL", "https://env.example/api/")
    monkeypatch.setenv("REDCAP_API_TOKEN", "A" * 32)
    settings = load_settings(path)
    assert settings.redcap.url == "https://env.example/api/"
    assert settings.redcap.resolved_token().get_secret_value() == "A" * 32


def test_the_token_is_read_from_a_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "redcap_token"
    secret.write_text("B" * 32 + "\n", encoding="utf-8")
    monkeypatch.setenv("REDCAP_API_TOKEN_FILE", str(secret))
    settings = load_settings(write(tmp_path, ""))
    assert settings.redcap.resolved_token().get_secret_value() == "B" * 32


def test_the_token_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", "C" * 32)
    settings = load_settings(REPO / "config.example.toml")
    assert "C" * 32 not in repr(settings)
    assert "C" * 32 not in settings.model_dump_json()


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[study]\nmapping = "m.toml"\nrules = "r"\n')
    settings = load_settings(path)
    assert settings.study.mapping == tmp_path / "m.toml"
    assert settings.study.rules == tmp_path / "r"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[redcap]\nbatch_size = 0\n", "redcap.batch_size: Input should be greater than"),
        ("[redcap]\nbatch_size = 'many'\n", "redcap.batch_size: Input should be a valid integer"),
        ("[redcap]\nurll = 'x'\n", "redcap.urll: unknown key"),
        ("[study]\ntimezone = 'Mars/Olympus'\n", "study.timezone"),
        ("[check]\nfail_on = 'severe'\n", "check.fail_on"),
        ("[redcap\n", "is not valid TOML"),
        ("[queries]\ntarget = 'balloons'\n", "queries.target"),
        ("[queries]\ntarget = 'drw'\n", 'queries: Value error, target = "drw" needs drw_username'),
        ("[queries]\ndrw_prefix = 'a b'\n", "queries.drw_prefix"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml")


def test_a_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_REDCAP__TIMEOUT_S", "-1")
    with pytest.raises(ConfigError, match=r"redcap\.timeout_s"):
        load_settings(REPO / "config.example.toml")


def test_an_unreadable_token_file_is_a_config_error(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[redcap]\ntoken_file = "nope"\n'))
    with pytest.raises(ConfigError, match=r"redcap\.token_file"):
        settings.redcap.resolved_token()


def test_the_drw_target_takes_the_service_accounts_username(tmp_path: Path) -> None:
    text = "[queries]\ntarget = 'drw'\ndrw_username = 'dq-bot'\n"
    queries = load_settings(write(tmp_path, text)).queries
    assert (queries.target, queries.drw_username, queries.drw_prefix) == (
        "drw",
        "dq-bot",
        "vanderbilt_dataQuality",
    )
    assert load_settings(write(tmp_path, "")).queries.target == "instrument"


def test_alert_and_size_settings_have_their_documented_defaults_and_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = load_settings(REPO / "config.example.toml").email
    assert (email.max_items, email.alert_after_failures, email.data_manager) == (200, 3, [])
    assert email.study_name is None
    monkeypatch.setenv("WORKER_EMAIL__DATA_MANAGER", '["dm@example.org"]')
    monkeypatch.setenv("WORKER_EMAIL__STUDY_NAME", "NK-01")
    email = load_settings(REPO / "config.example.toml").email
    assert (email.data_manager, email.study_name) == (["dm@example.org"], "NK-01")
    with pytest.raises(ConfigError, match=r"email\.max_items"):
        load_settings(write(tmp_path, "[email]\nmax_items = 0\n"))
