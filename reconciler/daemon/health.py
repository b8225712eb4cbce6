"""The daemon's HTTP endpoints on one loopback port.

- ``/metrics``: Prometheus text format;
- ``/healthz``: 200 while the daemon's loop keeps turning, else 503 with
  how long it has been stuck;
- ``/readyz``: 200 when the config is valid and the state store answers,
  else 503 with the reason;
- ``/status``: JSON, every store's status (see ``reconciler.daemon.status``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reconciler.daemon.metrics import DaemonMetrics

log = logging.getLogger(__name__)

Readiness = Callable[[], str | None]
"""The reason the daemon is not ready, or None when it is."""


class HealthServer:
    """Serves the endpoints from a thread until ``close``."""

    def __init__(
        self,
        metrics: DaemonMetrics,
        status: Callable[[], dict[str, Any]],
        readiness: Readiness,
        *,
        liveness: Readiness = lambda: None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        handler = _handler_class(metrics, status, readiness, liveness)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="daemon-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_class(
    metrics: DaemonMetrics,
    status: Callable[[], dict[str, Any]],
    readiness: Readiness,
    liveness: Readiness,
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, metrics.exposition(), "text/plain; version=0.0.4")
            elif path == "/healthz":
                self._live()
            elif path == "/readyz":
                self._ready()
            elif path == "/status":
                body = json.dumps(status(), indent=2).encode() + b"\n"
                self._send(200, body, "application/json")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _live(self) -> None:
            reason = liveness()
            if reason is None:
                self._send(200, b"ok\n", "text/plain")
            else:
                self._send(503, f"not live: {reason}\n".encode(), "text/plain")

        def _ready(self) -> None:
            reason = readiness()
            if reason is None:
                self._send(200, b"ready\n", "text/plain")
            else:
                self._send(503, f"not ready: {reason}\n".encode(), "text/plain")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("event=daemon.http request=%r", format % args)

    return Handler
