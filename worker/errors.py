"""The worker's user-facing errors. Each carries the exit code the CLI returns for it and a
one-line message that is safe to print (never the token, never a record value)."""

from __future__ import annotations


class WorkerError(Exception):
    """Base class: an error the user can act on, reported in one line without a traceback."""

    exit_code = 1

    def __str__(self) -> str:
        return " ".join(super().__str__().split())  # one line, always


class ConfigError(WorkerError):
    """Bad configuration or usage: exit 2."""

    exit_code = 2


class MappingError(ConfigError):
    """A mapping or rules file names a field, form or event the project lacks, or is malformed."""


class RedcapError(WorkerError):
    """REDCap could not be reached, or refused the request: exit 3."""

    exit_code = 3


class RedcapUnreachable(RedcapError):
    """Transport failure after retries: connection refused, timeout, 5xx, unparseable bodies."""


class RedcapRefused(RedcapError):
    """REDCap answered with its own error message (bad token, missing rights, unknown field)."""


class SyncBusy(WorkerError):
    """Another sync holds the state folder (a scheduled run, a manual one): exit 5."""

    exit_code = 5


class ExportRightsMissing(RedcapError):
    """The API token's user cannot export fields the worker must read back: exit 3."""


class WritesInterrupted(RedcapError):
    """REDCap refused a write for a reason no other request escapes (a ban, lost rights):
    the run stopped there, exit 3. Not a ``RedcapRefused``: nothing retries it."""


class StopRequested(Exception):
    """A stop was asked for (SIGTERM, SIGINT) and the work ended at a safe point: nothing half
    written, the next run completes it. Not a failure: the CLI exits 0."""
