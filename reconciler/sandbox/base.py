"""What every channel emulator shares: the request log, faults, the transport.

An emulator is a plain object with a ``handle(request) -> response`` method
over httpx's request and response types. The same object serves two ways:
in-process behind ``httpx.MockTransport`` (``sandbox://NAME`` endpoints) and
over HTTP on loopback (``reconcile sandbox serve``). Adapters cannot tell the
difference, which is the point.
"""

from __future__ import annotations

import abc
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as the emulator received it, for tests to assert on.

    ``path`` is below the store's prefix (the channel's real path); ``body``
    is the parsed JSON body, or ``None``. ``status`` is the status the
    emulator answered with, ``None`` while it answers and for a request a
    transport fault left unanswered (timed out or dropped); it takes no part
    in equality, so a test asserting what was sent need not restate it.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any
    status: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SeedProblem:
    """A row of an export file that was not seeded, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Faults:
    """Faults to inject, switched on per test or by the control endpoint.

    Counters apply to the next N requests (or, for ``concurrent_sales``, the
    next write touching the SKU) and count down as they fire.
    """

    server_errors: int = 0  # answer 503
    timeouts: int = 0  # raise a read timeout
    dropped: int = 0  # drop the connection without an answer
    refusals: dict[str, tuple[str, str]] = field(default_factory=dict)
    """SKU -> (code, message): the channel refuses writes of this item."""
    concurrent_sales: dict[str, int] = field(default_factory=dict)
    """SKU -> units sold just before the next write of it lands."""

    def take_transport_fault(self) -> str | None:
        """The fault that fires on this request, if any, counting it down."""
        for name in ("dropped", "timeouts", "server_errors"):
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return name
        return None


class EmulatorBase(abc.ABC):
    """Request log, faults and locking shared by the emulators.

    Subclasses implement ``route(request, path)`` for the channel's real paths;
    ``handle`` logs the request, fires transport faults, and serialises
    access so the served mode can take concurrent connections.
    """

    kind: str = ""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests: list[ReceivedRequest] = []
        self.faults = Faults()
        self._lock = threading.RLock()

    def handle(self, request: httpx.Request, path: str | None = None) -> httpx.Response:
        path = path if path is not None else request.url.path
        with self._lock:
            index = len(self.requests)
            self.requests.append(_received(request, path))
            response = self._fault_or_route(request, path)
            self.requests[index] = replace(
                self.requests[index], status=response.status_code
            )
            return response

    def _fault_or_route(self, request: httpx.Request, path: str) -> httpx.Response:
        """A transport fault (raised, or a 503) or the route's answer; called
        with the lock held."""
        fault = self.faults.take_transport_fault()
        if fault == "dropped":
            raise httpx.RemoteProtocolError(
                "sandbox: connection dropped", request=request
            )
        if fault == "timeouts":
            raise httpx.ReadTimeout("sandbox: read timed out", request=request)
        if fault == "server_errors":
            return httpx.Response(503, json={"message": "Service Unavailable"})
        return self.route(request, path)

    @abc.abstractmethod
    def route(self, request: httpx.Request, path: str) -> httpx.Response:
        """Answer one request at the channel's real ``path``."""

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()


def _received(request: httpx.Request, path: str) -> ReceivedRequest:
    body: Any = None
    content = request.content
    if content:
        try:
            body = json.loads(content)
        except ValueError:
            body = content.decode("utf-8", "replace")
    return ReceivedRequest(
        method=request.method,
        path=path,
        query=tuple(request.url.params.multi_items()),
        body=body,
    )


def transport_for(emulator: EmulatorBase) -> httpx.MockTransport:
    """An httpx transport that hands every request to the emulator in-process."""
    handler: Callable[[httpx.Request], httpx.Response] = emulator.handle
    return httpx.MockTransport(handler)
