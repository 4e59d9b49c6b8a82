"""I/O edge for REDCap's Data Resolution Workflow: the Data Quality API module's two pages.

``export`` answers every DRW status of the project (or of some records) with its
resolutions; ``import`` appends resolutions, creating a status where none exists, skipping
one whose ``ts`` and ``username`` equal an existing one's, and answers the new resolution
IDs. Both go through the client's transport: rate limit, timeouts, retries and redaction.
Imports are retried like idempotent writes: every resolution carries the timestamp the
worker chose for it, so a repeat is skipped by the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from worker.core.drw import DrwShapeError, DrwStatus, parse_export
from worker.core.schema import ProjectSchema
from worker.errors import RedcapRefused
from worker.redcap_client.client import RedcapClient
from worker.redcap_client.failures import RedcapRequestRefused, UnexpectedResponse

DEFAULT_PREFIX = "vanderbilt_dataQuality"
# The module's 403 when the project has neither the DRW nor the field comment log on.
DRW_OFF_HINT = "does not have data quality enabled"


def _export_shape(result: Any) -> None:
    if result != [] and not isinstance(result, dict):
        raise UnexpectedResponse("DRW export: expected a JSON object keyed by status ID")


def _import_shape(result: Any) -> None:
    if not isinstance(result, list) or not all(isinstance(i, int | str) for i in result):
        raise UnexpectedResponse("DRW import: expected a JSON array of resolution IDs")


def module_prefixes(info: dict[str, Any]) -> list[str]:
    """The external modules enabled on the project (project info ``external_modules``)."""
    return [p.strip() for p in str(info.get("external_modules") or "").split(",") if p.strip()]


class DrwApi:
    """The module's pages for one project."""

    def __init__(self, client: RedcapClient, schema: ProjectSchema, prefix: str) -> None:
        self.client = client
        self.schema = schema
        self.prefix = prefix
        if schema.project_id is None:
            raise RedcapRefused(
                f"REDCap at {client.url} did not say the project ID, which the "
                "Data Quality API module's pages need"
            )
        self.project_id = schema.project_id

    def not_enabled_message(self) -> str:
        return (
            f"the Data Quality API module ({self.prefix}) is not enabled on REDCap project "
            f"{self.project_id}: ask the REDCap administrator to enable it, or set "
            'queries.target = "instrument"'
        )

    def require_enabled(self) -> None:
        """Raise ``RedcapRefused`` unless the project info lists the module."""
        if self.prefix not in module_prefixes(self.client.project_info()):
            raise RedcapRefused(self.not_enabled_message())

    def export(self, records: Sequence[str] | None = None) -> list[DrwStatus]:
        """Every DRW status (of ``records`` only, if given, in batches)."""
        if records is None:
            return self._export({})
        statuses: list[DrwStatus] = []
        size = self.client.batch_size
        for start in range(0, len(records), size):
            chunk = records[start : start + size]
            statuses += self._export({f"record[{i}]": r for i, r in enumerate(chunk)})
        return statuses

    def _export(self, fields: dict[str, Any]) -> list[DrwStatus]:
        try:
            answer = self.client.call_module_page(
                self.prefix,
                "export",
                self.project_id,
                fields,
                what="export DRW statuses",
                write=False,
                shape=_export_shape,
            )
        except RedcapRequestRefused:
            # Most often the module is not enabled on the project: say so if that is it.
            self.require_enabled()
            raise
        try:
            return parse_export(answer, classic=not self.schema.is_longitudinal)
        except DrwShapeError as exc:
            raise RedcapRefused(f"the DRW export is not the module's shape: {exc}") from None

    def import_statuses(self, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Append the resolutions in ``rows`` (the module's import format); new IDs back."""
        data = list(rows)
        try:
            answer = self.client.call_module_page(
                self.prefix,
                "import",
                self.project_id,
                {"data": json.dumps(data, separators=(",", ":"))},
                what="import DRW resolutions",
                write=True,
                shape=_import_shape,
            )
        except RedcapRequestRefused as exc:
            if DRW_OFF_HINT in exc.redcap_message:
                raise RedcapRefused(
                    f"REDCap refused to import DRW resolutions: project {self.project_id} does "
                    "not have the Data Resolution Workflow enabled (REDCap's words: "
                    f"{exc.redcap_message.strip()}); ask the REDCap administrator to turn it on "
                    "(Project Setup, Additional customizations)"
                ) from None
            raise
        return [str(i) for i in answer]
