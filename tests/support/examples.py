"""How many examples a hypothesis property runs: what the test asks for in a full run (CI,
``./run tests``), and the same share of it in the fast loop, whose profile
(``--hypothesis-profile=fast``, tests/conftest.py) asks for fewer than hypothesis's 100."""

from __future__ import annotations

from typing import Any

from hypothesis import settings

FULL_RUN = 100  # hypothesis's own default, which the full run keeps


def examples(full: int, **more: Any) -> settings:
    """Settings for ``full`` examples in a full run and proportionally fewer in the fast
    loop (read when the test module is imported, after pytest has loaded the profile)."""
    share = settings.default.max_examples / FULL_RUN
    return settings(max_examples=max(1, round(full * share)), deadline=None, **more)
