"""What the library gets of the settings (worker/session.py): a sync and the summaries each
take their own sections and values, so no library call reads the whole settings."""

from __future__ import annotations

from pathlib import Path

from worker.config import (
    CheckSettings,
    EmailSettings,
    QueriesSettings,
    RedcapSettings,
    ScheduleSettings,
    Settings,
    StudySettings,
)
from worker.session import summary_options, sync_options


def configured(tmp_path: Path) -> Settings:
    return Settings(
        redcap=RedcapSettings(url="https://redcap.example.org/api/", server_timezone="Asia/Tokyo"),
        study=StudySettings(mapping=Path("mappings/nk_trial.toml")),
        check=CheckSettings(max_error_share=0.2),
        email=EmailSettings(sender="dq@example.org"),
        schedule=ScheduleSettings(timezone="Europe/Berlin"),
        queries=QueriesSettings(target="drw", drw_username="dq_service"),
        state_dir=tmp_path,
    )


def test_a_sync_gets_the_study_its_query_target_state_folder_server_clock_and_limit(
    tmp_path: Path,
) -> None:
    settings = configured(tmp_path)
    options = sync_options(settings)
    assert options.study == settings.study
    assert options.queries.target == "drw"
    assert options.state_dir == tmp_path
    assert options.server_timezone == "Asia/Tokyo"
    assert options.max_error_share == 0.2


def test_the_summaries_get_the_email_section_the_api_url_and_the_schedules_timezone(
    tmp_path: Path,
) -> None:
    options = summary_options(configured(tmp_path))
    assert options.email.sender == "dq@example.org"
    assert options.redcap_url == "https://redcap.example.org/api/"
    assert options.timezone == "Europe/Berlin"
