"""Configuration: one TOML file, every key overridable from the environment.

Precedence, highest first: ``REDCAP_API_URL`` / ``REDCAP_API_TOKEN`` / ``REDCAP_API_TOKEN_FILE``
and ``SMTP_PASSWORD`` / ``SMTP_PASSWORD_FILE``;
``WORKER_<SECTION>__<KEY>`` variables (e.g. ``WORKER_REDCAP__BATCH_SIZE=500``); the TOML file;
the defaults below. Relative paths in the file resolve against the file's folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from worker.errors import ConfigError
from worker.tomlfile import read_toml

DEFAULT_CONFIG_PATH = Path("config.toml")
ENV_PREFIX = "WORKER_"


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}") from None
    return value


class RedcapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    url: str | None = Field(None, description="API URL, ending in /api/ (or REDCAP_API_URL)")
    token: SecretStr | None = Field(None, description="API token (use REDCAP_API_TOKEN instead)")
    token_file: Path | None = Field(None, description="file holding the token (Docker secret)")
    verify_ssl: bool = True
    # Plain http:// to a host other than loopback is refused (the token would travel in
    # clear) unless this is set: for test servers only.
    allow_insecure_http: bool = False
    connect_timeout_s: float = Field(5.0, gt=0)
    timeout_s: float = Field(120.0, gt=0)
    batch_size: int = Field(200, ge=1, le=10_000)
    max_requests_per_second: float = Field(5.0, gt=0, le=50)
    # Requests in flight at once (export and import batches, the structure's exports); 1: one
    # after another.
    max_concurrent_requests: int = Field(3, ge=1, le=16)
    # REDCap reads dateRangeBegin in its server's local time.
    server_timezone: str = "UTC"

    _known_server_timezone = field_validator("server_timezone")(_check_timezone)
    retry_attempts: int = Field(5, ge=1, le=20)
    retry_base_delay_s: float = Field(0.5, ge=0)
    retry_max_delay_s: float = Field(30.0, ge=0)

    def resolved_token(self) -> SecretStr | None:
        """The token, from the setting or else from ``token_file`` (read at use, stripped)."""
        if self.token is not None:
            return self.token
        if self.token_file is None:
            return None
        try:
            text = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"redcap.token_file: cannot read {self.token_file}: {exc.strerror}"
            ) from None
        return SecretStr(text)


class EmailSettings(BaseModel):
    """Deviation summaries by email. With no ``smtp_host`` they are written as ``.eml`` files
    in the state folder's outbox instead of being sent."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    # starttls (port 587), ssl (implicit TLS, port 465), or none (plain; loopback relays only).
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    sender: str = "redcap-worker@localhost"
    timeout_s: float = Field(30.0, gt=0)
    # Critical deviations go out at once; the rest wait for the digest on this schedule.
    digest: Literal["every_run", "daily", "weekly"] = "daily"
    # Recipients per severity of the deviations a message carries.
    critical: list[str] = []
    major: list[str] = []
    minor: list[str] = []
    # The data manager: told once per quarantine when a check stops running because the
    # project no longer has a field, form or event it reads, and when scheduled syncs keep
    # failing (and when they recover).
    data_manager: list[str] = []
    # Per data access group (unique group name): a site's own recipients for its records.
    sites: dict[str, list[str]] = {}
    # Field values in emails are off: record IDs, events, fields, checks and day counts only.
    include_values: bool = False
    # REDCap's base URL for links into data entry (default: the API URL without "api/").
    redcap_base_url: str | None = None
    # The study's name in subjects (default: REDCap's project title). Every relay and inbox
    # list shows subjects: a neutral short name (a protocol number) says less than a title.
    study_name: str | None = None
    # Each list in a summary shows at most this many rows; beyond it, counts per check come
    # first and the lists point to the study report (a relay refuses mail over ~10 MB).
    max_items: int = Field(200, ge=1, le=10_000)
    # Where the study report is published, for the pointer in long summaries (optional).
    report_url: str | None = None
    # After this many failed scheduled runs in a row, one alert to data_manager (0: never).
    alert_after_failures: int = Field(3, ge=0)

    def resolved_password(self) -> SecretStr | None:
        if self.password is not None:
            return self.password
        if self.password_file is None:
            return None
        try:
            return SecretStr(self.password_file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(
                f"email.password_file: cannot read {self.password_file}: {exc.strerror}"
            ) from None


class ScheduleSettings(BaseModel):
    """What ``run`` schedules: a full sync by cron, an incremental one on an interval."""

    model_config = ConfigDict(extra="forbid")

    full_sync_cron: str = Field("0 2 * * *", description="crontab fields, in `timezone`")
    incremental_interval_minutes: float = Field(60.0, gt=0)
    # Incremental syncs ask for records changed since the last successful sync minus this.
    incremental_overlap_minutes: float = Field(10.0, ge=0)
    # Incremental syncs reuse the project structure a sync read at most this long ago (0:
    # always read it); full syncs always read it afresh.
    incremental_structure_max_age_hours: float = Field(24.0, ge=0)
    misfire_grace_s: int = Field(900, ge=1)
    timezone: str = "UTC"
    # `health` fails when the last successful run is older than this.
    max_age_hours: float = Field(26.0, gt=0)

    _known_timezone = field_validator("timezone")(_check_timezone)


class StudySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mapping: Path | None = Field(None, description="the study's mapping file")
    rules: Path | None = Field(None, description="the study's rules folder")
    demo: Path | None = Field(
        None, description="the demo project folder the sandbox serves (--sandbox, `sandbox`)"
    )
    timezone: str = Field("UTC", description="the study's timezone, for 'today'")

    _known_timezone = field_validator("timezone")(_check_timezone)


class CheckSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_on: Literal["critical", "major", "minor"] = "minor"
    # A check that errs on more than this share of the participants it tried makes the run
    # "degraded", not "ok" (run history, health, digest).
    max_error_share: float = Field(0.05, ge=0, le=1)


class QueriesSettings(BaseModel):
    """Where ``sync`` writes its queries: the mapping's query instrument, or REDCap's Data
    Resolution Workflow through the Data Quality API module."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["instrument", "drw"] = "instrument"
    # The Data Quality API module's prefix on this REDCap (its pages' ?prefix=).
    drw_prefix: str = Field("vanderbilt_dataQuality", min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    # The service account's REDCap username: the worker's resolutions are written as it, and
    # only resolutions by it count as the worker's. Required for target = "drw".
    drw_username: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _drw_needs_username(self) -> QueriesSettings:
        if self.target == "drw" and not self.drw_username:
            raise ValueError('target = "drw" needs drw_username (the service account)')
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,
    )

    redcap: RedcapSettings = RedcapSettings()
    study: StudySettings = StudySettings()
    check: CheckSettings = CheckSettings()
    email: EmailSettings = EmailSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    queries: QueriesSettings = QueriesSettings()
    state_dir: Path = Field(Path("state"), description="the worker's state folder")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file arrives as init kwargs; the environment must beat it.
        return (_RedcapApiEnv(settings_cls), env_settings, init_settings)


class _RedcapApiEnv(PydanticBaseSettingsSource):
    """The conventional unprefixed REDCAP_API_* and SMTP_PASSWORD(_FILE) variables."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        redcap: dict[str, Any] = {}
        for var, key in (
            ("REDCAP_API_URL", "url"),
            ("REDCAP_API_TOKEN", "token"),
            ("REDCAP_API_TOKEN_FILE", "token_file"),
        ):
            if os.environ.get(var):
                redcap[key] = os.environ[var]
        email = {}
        for var, key in (("SMTP_PASSWORD", "password"), ("SMTP_PASSWORD_FILE", "password_file")):
            if os.environ.get(var):
                email[key] = os.environ[var]
        found: dict[str, Any] = {}
        if redcap:
            found["redcap"] = redcap
        if email:
            found["email"] = email
        return found


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make the file's relative paths relative to the file, not to the working directory."""
    for section, key in (
        ("study", "mapping"),
        ("study", "rules"),
        ("study", "demo"),
        ("redcap", "token_file"),
        ("email", "password_file"),
    ):
        value = data.get(section, {}).get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            data[section][key] = str(base / value)
    state_dir = data.get("state_dir")
    if isinstance(state_dir, str) and not Path(state_dir).is_absolute():
        data["state_dir"] = str(base / state_dir)


def load_settings(path: Path | None = None) -> Settings:
    """Load the config file (``config.toml`` by default) and the environment.

    An explicitly named file must exist; the default one may be absent (environment only).
    Every problem is a ``ConfigError`` naming the key, in one line.
    """
    explicit = path is not None
    path = path if path is not None else DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    if path.exists():
        data = read_toml(path, "config file", ConfigError)
        _resolve_paths(data, path.resolve().parent)
    elif explicit:
        raise ConfigError(f"config file not found: {path}")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, path)) from None
    except SettingsError:
        # pydantic-settings reads a list or table from the environment as JSON only.
        raise ConfigError(_bad_environment_value()) from None


def _bad_environment_value() -> str:
    """Which ``WORKER_`` variable holds a list or table that is not JSON, in one line."""
    for name, value in sorted(os.environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        kind = _collection_kind(name[len(ENV_PREFIX) :].lower().split("__"))
        if kind is None:
            continue
        try:
            json.loads(value)
        except ValueError:
            example = '["a@example.org"]' if kind is list else '{"site_a": ["a@example.org"]}'
            return (
                f"environment variable {name}: a {'list' if kind is list else 'table'} is "
                f"written as JSON, e.g. {name}='{example}'"
            )
    return "a WORKER_ environment variable holding a list or table is not JSON"


def _collection_kind(keys: list[str]) -> type | None:
    """``list`` or ``dict`` if the setting these keys name (``["email", "critical"]``) is a
    list or a table, else None."""
    model: Any = Settings
    annotation: Any = None
    for key in keys:
        fields = getattr(model, "model_fields", None)
        if fields is None or key not in fields:
            return None
        annotation = model = fields[key].annotation
    kind = get_origin(annotation) or annotation
    return kind if kind in (list, dict) else None


def _one_line(exc: ValidationError, path: Path) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    key = ".".join(str(p) for p in first["loc"])
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"config {path}: {key}: {message}{more}"
