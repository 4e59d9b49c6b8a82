"""What a content handler gets (worker/sandbox/context.py): the project, the store, the parsed
request, the token user's access and a place for facts the request log keeps."""

from __future__ import annotations

from tests.support.projects import DEMO_PROJECT
from worker.sandbox.access import Access
from worker.sandbox.clock import FakeClock
from worker.sandbox.context import Context
from worker.sandbox.params import RequestParams
from worker.sandbox.project import load_project
from worker.sandbox.store import Store


def context(body: bytes) -> Context:
    project = load_project(DEMO_PROJECT)
    return Context(project, Store(project, FakeClock()), RequestParams.parse(body), Access(project))


def test_the_format_is_the_requests_as_redcap_reads_it() -> None:
    assert context(b"content=record&format=csv").fmt == "csv"
    assert context(b"content=record&format=json").fmt == "json"
    assert context(b"content=record").fmt == "xml"  # REDCap's default
    assert context(b"content=record&format=yaml").fmt == "xml"  # and what it does not know


def test_a_context_starts_with_no_import_rows_and_no_facts() -> None:
    ctx = context(b"content=record")
    assert ctx.rows is None
    assert ctx.facts == {}
