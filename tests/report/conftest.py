"""The report's inputs: the demo study as the worker loads it, and its rows."""

from __future__ import annotations

import pytest


@pytest.fixture
def demo_rows(demo_sandbox) -> list[dict]:
    return demo_sandbox.rows()
