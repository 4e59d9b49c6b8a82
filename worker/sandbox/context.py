"""What a content handler gets: the project, the store, the parsed request, and a place to
note facts for the request log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from worker.sandbox.access import Access
from worker.sandbox.params import RequestParams
from worker.sandbox.project import ProjectDef
from worker.sandbox.responses import Response
from worker.sandbox.store import Store


@dataclass
class Context:
    project: ProjectDef
    store: Store
    params: RequestParams
    access: Access
    rows: list[dict[str, str]] | None = None  # a JSON import payload, decoded once up front
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def fmt(self) -> str:
        return self.params.format()


Handler = Callable[[Context], Response]
