"""The emulators over HTTP on loopback, each store under its own prefix.

``http://127.0.0.1:PORT/NAME/...`` reaches store NAME's emulator at the
channel's real path below the prefix (``/admin/api/{version}/graphql.json``,
``/rest/{store_code}/V1/...``), so a store config with that endpoint uses the
same adapter code as against a real channel. Requests are converted to
``httpx.Request`` and answered by ``emulator.handle``, exactly as in-process.

Control endpoints, per store: ``POST /_control/NAME/faults`` (a JSON object
of ``Faults`` fields), ``GET /_control/NAME/requests`` (the request log,
each request with the ``status`` it was answered, null when unanswered),
``POST /_control/NAME/reset-log`` and ``GET /_control/NAME/stock``. A bad
control body (not JSON, an unknown field, a count that is not a whole number
from 0 to ``MAX_FAULT_COUNT``, a bad ``Content-Length``) is answered 400 with
a JSON ``message`` naming the field, and changes no fault. No exception
escapes a request: an unexpected one is logged once with its traceback and
answered 500 with a JSON error.

Transport faults fire as on a real network. A timeout is a server that does
not answer: the connection is held open, unanswered, until the client gives
up and closes it (its own read timeout, ``channel.timeout`` for an adapter),
so the client sees a real ``ReadTimeout`` after its own timeout, exactly as
in-process. ``hold_seconds`` (``HOLD_SECONDS`` unless given) caps the hold so
that a client that never gives up does not keep a handler thread forever, and
a shutdown ends every hold at once; either way the connection is then closed
unanswered. A dropped connection closes at once. The server binds 127.0.0.1
only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from reconciler.sandbox.base import EmulatorBase, Faults
from reconciler.sandbox.registry import save

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
HOLD_SECONDS = 120.0
"""The longest a timeout fault holds a connection whose client does not give up."""
HOLD_POLL_SECONDS = 0.1
"""How often a held connection looks for a shutdown; a client closing the
connection ends the hold at once."""
_READ_ONLY = frozenset({"GET", "HEAD"})
_FAULT_COUNTERS = ("server_errors", "timeouts", "dropped")
_FAULT_FIELDS = frozenset({*_FAULT_COUNTERS, "refusals", "concurrent_sales"})
MAX_FAULT_COUNT = 1_000_000
MAX_BODY_BYTES = 16 * 1024 * 1024


class BadRequest(ValueError):
    """A request the server answers 400 without touching any emulator."""


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server holding the served emulators by store name."""

    daemon_threads = True

    def __init__(
        self,
        emulators: Mapping[str, EmulatorBase],
        *,
        port: int = 0,
        host: str = LOOPBACK,
        state_dir: Path | None = None,
        hold_seconds: float = HOLD_SECONDS,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the sandbox serves on {LOOPBACK} only, not {host!r}")
        self.emulators = dict(emulators)
        self.state_dir = state_dir
        self.hold_seconds = hold_seconds
        self.stopping = threading.Event()
        super().__init__((host, port), _Handler)

    def shutdown(self) -> None:
        """Stop serving, and end every held connection now rather than at its cap."""
        self.stopping.set()
        super().shutdown()

    def server_close(self) -> None:
        self.stopping.set()
        super().server_close()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, store: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/{store}"

    def persist(self, store: str) -> None:
        if self.state_dir is not None:
            save(self.emulators[store], self.state_dir / store)


@contextlib.contextmanager
def serve_in_thread(
    emulators: Mapping[str, EmulatorBase],
    *,
    port: int = 0,
    state_dir: Path | None = None,
    hold_seconds: float = HOLD_SECONDS,
) -> Iterator[SandboxServer]:
    """Serve ``emulators`` on loopback in a background thread while in the block."""
    server = SandboxServer(
        emulators, port=port, state_dir=state_dir, hold_seconds=hold_seconds
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("event=sandbox.http line=%r", format % args)

    def _serve(self) -> None:
        """Answer one request; whatever goes wrong, the client gets a reply."""
        try:
            self._route()
        except BadRequest as error:
            self.close_connection = True
            self._reply(400, {"message": f"bad request: {error}"})
        except ConnectionError as error:
            log.debug("event=sandbox.request outcome=client_gone error=%s", error)
            self.close_connection = True
        except Exception:
            log.exception(
                "event=sandbox.request outcome=error method=%s path=%s",
                self.command,
                self.path.split("?", 1)[0],
            )
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._reply(500, {"message": "internal error in the sandbox server"})

    def _route(self) -> None:
        body = self._body()
        segments = self.path.split("?", 1)[0].split("/")
        if len(segments) > 2 and segments[1] == "_control":
            self._control(segments[2], "/".join(segments[3:]), body)
            return
        store = segments[1] if len(segments) > 1 else ""
        emulator = self.server.emulators.get(store)
        if emulator is None:
            self._reply(404, {"message": f"no sandbox store {store!r}"})
            return
        self._forward(store, emulator, body)

    def _body(self) -> bytes:
        length = _content_length(self.headers.get("Content-Length"))
        return self.rfile.read(length) if length else b""

    def _forward(self, store: str, emulator: EmulatorBase, body: bytes) -> None:
        below = self.path.removeprefix(f"/{store}").split("?", 1)[0] or "/"
        request = httpx.Request(
            self.command,
            f"http://{LOOPBACK}:{self.server.port}{self.path}",
            headers=[(k, v) for k, v in self.headers.items() if k.lower() != "host"],
            content=body,
        )
        try:
            response = emulator.handle(request, below)
        except httpx.TimeoutException:
            self._hold(store)
            return
        except httpx.TransportError:
            self._hang_up()
            return
        if self.command not in _READ_ONLY and response.status_code < 300:
            self.server.persist(store)
        self._send(response.status_code, response.content, response.headers)

    def _control(self, store: str, action: str, body: bytes) -> None:
        emulator = self.server.emulators.get(store)
        if emulator is None:
            self._reply(404, {"message": f"no sandbox store {store!r}"})
            return
        try:
            answer = _control(emulator, self.command, action, body)
        except LookupError as error:
            self._reply(404, {"message": str(error)})
            return
        except BadRequest as error:
            self._reply(400, {"message": f"bad control request: {error}"})
            return
        self._reply(200, answer)

    def _hold(self, store: str) -> None:
        """Answer nothing until the client gives up, the cap, or a shutdown."""
        started = time.monotonic()
        ended = _held_until(
            self.connection, self.server.hold_seconds, self.server.stopping
        )
        log.info(
            "event=sandbox.timeout store=%s ended=%s held=%.3f",
            store,
            ended,
            time.monotonic() - started,
        )
        self._hang_up()

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def _reply(self, status: int, payload: Any) -> None:
        content = json.dumps(payload).encode("utf-8")
        self._send(status, content, {"Content-Type": "application/json"})

    def _send(self, status: int, content: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name in ("Content-Type", "Retry-After"):
            if name in headers:
                self.send_header(name, headers[name])
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


def _held_until(
    connection: socket.socket, seconds: float, stopping: threading.Event
) -> str:
    """Hold ``connection`` unanswered; why the hold ended.

    ``client_closed`` when the connection turns readable: a client waiting
    for its answer sends nothing more, so that is its close (or reset).
    ``cap`` after ``seconds``, ``shutdown`` once ``stopping`` is set. Nothing
    is read from the connection, which is closed next in every case.
    """
    deadline = time.monotonic() + seconds
    while not stopping.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return "cap"
        wait = min(left, HOLD_POLL_SECONDS)
        readable, _, _ = select.select([connection], [], [], wait)
        if readable:
            return "client_closed"
    return "shutdown"


def _control(emulator: EmulatorBase, method: str, action: str, body: bytes) -> Any:
    """Answer one control request; ``LookupError`` for an unknown one."""
    if method == "POST" and action == "faults":
        _apply_faults(emulator.faults, _json_body(body))
        return _faults_json(emulator.faults)
    if method == "GET" and action == "requests":
        return [_request_json(asdict(request)) for request in emulator.requests]
    if method == "POST" and action == "reset-log":
        emulator.clear_log()
        return {"cleared": True}
    if method == "GET" and action == "stock":
        return _stock(emulator)
    raise LookupError(f"no control endpoint {method} {action!r}")


def _stock(emulator: EmulatorBase) -> dict[str, Any]:
    """SKU -> quantity: Magento's legacy qty, Shopify's at its default location."""
    stock = getattr(emulator, "stock", None)
    if callable(stock):
        return dict(stock())
    variants = getattr(emulator, "variants", None)
    location = getattr(emulator, "default_location", None)
    if variants is None:
        raise LookupError(f"{emulator.kind} emulator reports no stock")
    return {v.sku: v.levels.get(location) for v in variants.values() if v.sku}


def _content_length(header: str | None) -> int:
    """The body length a client announced, or ``BadRequest``."""
    if header is None or header.strip() == "":
        return 0

    text = header.strip()
    if not text.isdigit() or not text.isascii():
        raise BadRequest(f"Content-Length {header[:40]!r} is not a whole number")

    length = int(text)
    if length > MAX_BODY_BYTES:
        raise BadRequest(
            f"Content-Length {length} is over the limit of {MAX_BODY_BYTES} bytes"
        )
    return length


def _json_body(body: bytes) -> Any:
    """The JSON of a control body (``{}`` when empty), or ``BadRequest``."""
    if not body.strip():
        return {}

    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"body is not JSON: {error}") from error


def _apply_faults(faults: Faults, changes: Any) -> None:
    """Set the given ``Faults`` fields; any bad field changes nothing at all."""
    if not isinstance(changes, dict):
        raise BadRequest("faults must be a JSON object")

    unknown = sorted(set(changes) - _FAULT_FIELDS)
    if unknown:
        raise BadRequest(f"unknown fault fields {unknown}")

    counters = {
        name: _count(name, changes[name]) for name in _FAULT_COUNTERS if name in changes
    }
    refusals = _refusals(changes.get("refusals", {}))
    sales = _sales(changes.get("concurrent_sales", {}))

    for name, value in counters.items():
        setattr(faults, name, value)
    if "refusals" in changes:
        faults.refusals = refusals
    if "concurrent_sales" in changes:
        faults.concurrent_sales = sales


def _count(field: str, value: Any) -> int:
    """A whole number from 0 to ``MAX_FAULT_COUNT``, or ``BadRequest``.

    JSON ``true``, ``2.0`` and ``1e400`` (a float, infinite once parsed) are
    refused: a count is written as a plain integer.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(
            f"field {field}: {_shown(value)} is not a whole number; "
            f"give an integer from 0 to {MAX_FAULT_COUNT}"
        )
    if value < 0:
        raise BadRequest(f"field {field}: {value} is negative; give 0 or more")
    if value > MAX_FAULT_COUNT:
        raise BadRequest(
            f"field {field}: {_shown(value)} is too large; "
            f"the most is {MAX_FAULT_COUNT}"
        )
    return value


def _refusals(value: Any) -> dict[str, tuple[str, str]]:
    """SKU -> [code, message], both strings, or ``BadRequest``."""
    if not isinstance(value, dict):
        raise BadRequest("field refusals: give a JSON object of SKU -> [code, message]")

    refusals = {}
    for sku, pair in value.items():
        fits = isinstance(pair, list) and len(pair) == 2
        if not fits or not all(isinstance(part, str) for part in pair):
            raise BadRequest(
                f"field refusals.{sku}: give [code, message] as two strings"
            )
        refusals[sku] = (pair[0], pair[1])
    return refusals


def _sales(value: Any) -> dict[str, int]:
    """SKU -> units sold, each a count, or ``BadRequest``."""
    if not isinstance(value, dict):
        raise BadRequest("field concurrent_sales: give a JSON object of SKU -> units")
    return {
        sku: _count(f"concurrent_sales.{sku}", units) for sku, units in value.items()
    }


def _shown(value: Any) -> str:
    """A short rendering of a client's value for an error message."""
    if isinstance(value, int) and value.bit_length() > 64:
        return "a number beyond 64 bits"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _faults_json(faults: Faults) -> dict[str, Any]:
    return {
        **{name: getattr(faults, name) for name in _FAULT_COUNTERS},
        "refusals": {sku: list(pair) for sku, pair in faults.refusals.items()},
        "concurrent_sales": dict(faults.concurrent_sales),
    }


def _request_json(request: dict[str, Any]) -> dict[str, Any]:
    request["query"] = [list(pair) for pair in request["query"]]
    return request
