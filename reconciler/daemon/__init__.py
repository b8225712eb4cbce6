"""The reconcile daemon: every store passed on its own interval, for ever.

The pieces, each in its own module:

- ``scheduler``: per-store due times and the failure backoff, held as data;
- ``reload``: notices a changed config repository, validates it, and keeps the
  last good one (as a private snapshot the passes read) when a new one fails;
- ``leases``: which replica works on which store (PostgreSQL lease table), or
  the single-daemon lock of a SQLite state file;
- ``metrics`` and ``health``: Prometheus metrics and the HTTP endpoints;
- ``status``: the per-store status shown by ``/status`` and ``reconcile status``;
- ``logs``: structured log events with the store and run bound per pass;
- ``service``: the loop that ties them together and stops cleanly.
"""
