"""A REDCap-compatible sandbox API server for demos and end-to-end tests.

It serves one project, loaded from a folder of REDCap's own API exports, a REDCap project
XML file or a data dictionary CSV, on
``http://127.0.0.1:PORT/api/`` with REDCap 15.7's request and answer formats, so PyCap and
the worker talk to it exactly as to REDCap. It shares no code with the worker's schema,
mapping, logic or checks: it stands in for REDCap, and a misunderstanding in one must not
hide in the other. See :class:`Sandbox` for the in-process API.
"""

from worker.sandbox.clock import Clock, FakeClock, SystemClock
from worker.sandbox.errors import ApiError
from worker.sandbox.faults import Faults
from worker.sandbox.reqlog import RequestEntry, RequestLog
from worker.sandbox.sandbox import DEFAULT_PROJECT_DIR, DEMO_TOKEN, Sandbox

__all__ = [
    "DEFAULT_PROJECT_DIR",
    "DEMO_TOKEN",
    "ApiError",
    "Clock",
    "FakeClock",
    "Faults",
    "RequestEntry",
    "RequestLog",
    "Sandbox",
    "SystemClock",
]
