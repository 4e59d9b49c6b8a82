"""REDCap sync and validation worker.

I/O lives at the edges (``redcap_client``, ``sandbox``, ``cli``); ``core`` is pure:
schema, value typing, REDCap logic, mapping and checks, all testable without a network.
"""

__version__ = "0.1.0"
