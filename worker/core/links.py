"""Links into REDCap's data entry pages, so a summary's or report's reader opens the form in
one click.

REDCap's form URL is ``<base>/redcap_v<version>/DataEntry/index.php?pid=..&id=..&event_id=..
&page=<form>`` (``&instance=<n>`` on repeating rows). The version, project ID and event IDs
come from the project's own API exports (read once per run by ``client.schema()``).
"""

from __future__ import annotations

from urllib.parse import quote_plus

from worker.core.schema import ProjectSchema


def redcap_base_url(base: str | None, api_url: str | None) -> str | None:
    """``base`` (``email.redcap_base_url``), or else the API URL without its ``api/``
    ending."""
    if base:
        return base.rstrip("/")
    api = (api_url or "").rstrip("/")
    if not api:
        return None
    return api.removesuffix("/api") if api.endswith("/api") else api


class DataEntryLinks:
    """Builds form URLs for one project; ``None`` when the project lacks what a URL needs."""

    def __init__(self, base: str | None, schema: ProjectSchema | None) -> None:
        self.base = base
        self.schema = schema

    def form(
        self, record: str, event: str | None, form: str | None, instance: int | None
    ) -> str | None:
        schema = self.schema
        if not (self.base and schema and schema.redcap_version and form):
            return None
        if schema.project_id is None:
            return None
        # What urlencode writes (numbers need no quoting), without its checks of each
        # argument: a first digest links every one of thousands of queries.
        query = f"pid={schema.project_id}&id={quote_plus(record)}"
        if event:
            found = schema.event(event)
            if found is None or found.event_id is None:
                # A wrong event_id would open the wrong form: better no link than that.
                return None
            query += f"&event_id={found.event_id}"
        query += f"&page={quote_plus(form)}"
        if instance is not None:
            query += f"&instance={instance}"
        return f"{self.base}/redcap_v{schema.redcap_version}/DataEntry/index.php?{query}"
