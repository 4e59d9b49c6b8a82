"""The worker's benchmark: ``python -m bench`` (``--help`` for the options).

It byte-compiles the worker and the studies' rules first, as installing the package does,
so no measured run compiles them from source. It starts the REDCap sandbox (``python -m
worker sandbox demo --participants N``) in its own process on loopback and, interleaving the
measurements round by round so that machine drift hits each of them alike:

- times a bare batched PyCap export of every record (record IDs first, then batches of the
  worker's batch size, under the worker's request-rate ceiling): the floor;
- times ``python -m worker check`` end to end, as a user runs it (a subprocess), and records
  its peak memory (and, against a second sandbox, its peak memory at N/10);
- changes 1 % of the records through the API, times an incremental ``sync`` and counts its
  export requests and exported records in the sandbox's request log; then changes them
  again and times a full ``sync`` for comparison;
- computes, from the sandbox's request log, the highest number of requests that arrived in
  any one-second window.

Then, each on fresh sandboxes: a slow server (``--latency-ms``, default 500 ms a request, at
5,000 participants), where it times a sequential bare export, ``check`` and the first full
``sync`` (every finding a new query); and peak memory of one ``check`` at 50,000
participants and one at 5,000. Every sandbox's request log is judged against the ceiling,
per second and per minute.

It prints a table of medians over the rounds, the other scenarios' figures, every target
with its figure and verdict, and the machine it ran on. ``--quick`` is the smoke run CI uses
(every scenario small, one round, no targets judged).
Only the standard library, the worker and PyCap are needed.
"""
