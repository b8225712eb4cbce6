"""The served sandbox's control endpoint answers every bad body with a 400.

Each test runs a real ``serve_in_thread`` server on 127.0.0.1 and talks to it
over HTTP (raw sockets where httpx would refuse to send the bad request).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import httpx
import pytest

from reconciler.sandbox.base import Faults
from reconciler.sandbox.magento import MagentoEmulator
from reconciler.sandbox.server import MAX_FAULT_COUNT, SandboxServer, serve_in_thread

BEFORE = Faults(
    server_errors=1,
    timeouts=0,
    dropped=2,
    refusals={"A-1": ("409", "held by an order")},
    concurrent_sales={"A-1": 3},
)


@pytest.fixture
def emulator() -> MagentoEmulator:
    """A Magento store with one product and some faults already switched on."""
    store = MagentoEmulator("eu")
    store.add_product("A-1", 5)
    store.faults = Faults(**asdict(BEFORE))
    return store


@pytest.fixture
def server(emulator: MagentoEmulator) -> Iterator[SandboxServer]:
    with serve_in_thread({"eu": emulator}) as served:
        yield served


def _post_faults(server: SandboxServer, body: bytes) -> httpx.Response:
    url = f"http://127.0.0.1:{server.port}/_control/eu/faults"
    headers = {"Content-Type": "application/json"}
    return httpx.post(url, content=body, headers=headers, timeout=5)


def _raw(server: SandboxServer, request: bytes) -> tuple[str, dict[str, Any]]:
    """Send ``request`` as is; the status line and JSON body of the reply."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk

    head, _, body = received.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("ascii")
    return status_line, json.loads(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            b'{"server_errors": 1e400}',
            "field server_errors: Infinity is not a whole number; "
            f"give an integer from 0 to {MAX_FAULT_COUNT}",
            id="overflowing-float",
        ),
        pytest.param(
            b'{"concurrent_sales": {"A-1": 1e400}}',
            "field concurrent_sales.A-1: Infinity is not a whole number; "
            f"give an integer from 0 to {MAX_FAULT_COUNT}",
            id="overflowing-sale",
        ),
        pytest.param(
            b'{"server_errors": -5}',
            "field server_errors: -5 is negative; give 0 or more",
            id="negative-counter",
        ),
        pytest.param(
            b'{"concurrent_sales": {"A-1": -1}}',
            "field concurrent_sales.A-1: -1 is negative; give 0 or more",
            id="negative-sale",
        ),
        pytest.param(
            b'{"timeouts": 1000001}',
            f"field timeouts: 1000001 is too large; the most is {MAX_FAULT_COUNT}",
            id="counter-over-limit",
        ),
        pytest.param(
            b'{"dropped": ' + b"9" * 400 + b"}",
            "field dropped: a number beyond 64 bits is too large; "
            f"the most is {MAX_FAULT_COUNT}",
            id="huge-integer",
        ),
        pytest.param(
            b'{"dropped": 2.5}',
            "field dropped: 2.5 is not a whole number; "
            f"give an integer from 0 to {MAX_FAULT_COUNT}",
            id="fraction",
        ),
        pytest.param(
            b'{"dropped": true}',
            "field dropped: true is not a whole number; "
            f"give an integer from 0 to {MAX_FAULT_COUNT}",
            id="boolean",
        ),
        pytest.param(
            b'{"dropped": "3"}',
            'field dropped: "3" is not a whole number; '
            f"give an integer from 0 to {MAX_FAULT_COUNT}",
            id="string-counter",
        ),
        pytest.param(
            b'{"concurrent_sales": [1, 2]}',
            "field concurrent_sales: give a JSON object of SKU -> units",
            id="sales-not-an-object",
        ),
        pytest.param(
            b'{"refusals": {"A-1": ["409"]}}',
            "field refusals.A-1: give [code, message] as two strings",
            id="refusal-without-message",
        ),
        pytest.param(
            b'{"refusals": {"A-1": [409, "sold out"]}}',
            "field refusals.A-1: give [code, message] as two strings",
            id="refusal-code-not-text",
        ),
        pytest.param(
            b'{"refusals": "all"}',
            "field refusals: give a JSON object of SKU -> [code, message]",
            id="refusals-not-an-object",
        ),
        pytest.param(
            b'{"dropped": 1, "meteor": 1}',
            "unknown fault fields ['meteor']",
            id="unknown-field",
        ),
        pytest.param(b"[1, 2]", "faults must be a JSON object", id="not-an-object"),
        pytest.param(
            b'{"dropped": ',
            "body is not JSON: Expecting value: line 1 column 13 (char 12)",
            id="truncated-json",
        ),
        pytest.param(
            b'{"dropped": "\xc3("}',
            "body is not JSON: 'utf-8' codec can't decode byte 0xc3 in position 13: "
            "invalid continuation byte",
            id="not-utf8",
        ),
    ],
)
def test_a_bad_faults_body_is_a_400_naming_the_field_and_changes_nothing(
    server: SandboxServer, emulator: MagentoEmulator, body: bytes, message: str
) -> None:
    response = _post_faults(server, body)

    assert (response.status_code, response.json()) == (
        400,
        {"message": f"bad control request: {message}"},
    )
    assert emulator.faults == BEFORE


def test_a_later_field_that_is_bad_keeps_the_earlier_good_ones_unset(
    server: SandboxServer, emulator: MagentoEmulator
) -> None:
    response = _post_faults(server, b'{"server_errors": 4, "timeouts": -1}')

    assert response.status_code == 400
    assert emulator.faults == BEFORE


def test_good_fields_are_set_and_echoed(
    server: SandboxServer, emulator: MagentoEmulator
) -> None:
    body = {
        "server_errors": 0,
        "timeouts": MAX_FAULT_COUNT,
        "refusals": {"B-2": ["400", "no such source"]},
        "concurrent_sales": {"A-1": 0},
    }

    response = _post_faults(server, json.dumps(body).encode())

    assert (response.status_code, response.json()) == (
        200,
        {
            "server_errors": 0,
            "timeouts": MAX_FAULT_COUNT,
            "dropped": 2,
            "refusals": {"B-2": ["400", "no such source"]},
            "concurrent_sales": {"A-1": 0},
        },
    )
    assert emulator.faults == Faults(
        server_errors=0,
        timeouts=MAX_FAULT_COUNT,
        dropped=2,
        refusals={"B-2": ("400", "no such source")},
        concurrent_sales={"A-1": 0},
    )


@pytest.mark.parametrize(
    ("length", "message"),
    [
        pytest.param("abc", "Content-Length 'abc' is not a whole number", id="word"),
        pytest.param("-4", "Content-Length '-4' is not a whole number", id="negative"),
        pytest.param(
            "1.5", "Content-Length '1.5' is not a whole number", id="fraction"
        ),
        pytest.param(
            "99999999999",
            "Content-Length 99999999999 is over the limit of 16777216 bytes",
            id="too-large",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/_control/eu/faults", "/eu/rest/all/V1/products"])
def test_a_bad_content_length_is_a_400(
    server: SandboxServer,
    emulator: MagentoEmulator,
    path: str,
    length: str,
    message: str,
) -> None:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Length: {length}\r\n\r\n{{}}"
    ).encode("ascii")

    status_line, body = _raw(server, request)

    assert (status_line, body) == (
        "HTTP/1.1 400 Bad Request",
        {"message": f"bad request: {message}"},
    )
    assert emulator.faults == BEFORE
    assert emulator.requests == []


class _BrokenStore(MagentoEmulator):
    """A store whose every channel request fails inside the emulator."""

    def route(self, request: httpx.Request, path: str) -> httpx.Response:
        raise RuntimeError(f"emulator bug at {path}")


def test_an_unexpected_error_is_a_500_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="reconciler.sandbox.server")

    with serve_in_thread({"eu": _BrokenStore("eu")}) as served:
        url = f"http://127.0.0.1:{served.port}/eu/rest/all/V1/products"
        response = httpx.get(url, timeout=5)
        after = httpx.get(f"http://127.0.0.1:{served.port}/_control/eu/faults")

    assert (response.status_code, response.json()) == (
        500,
        {"message": "internal error in the sandbox server"},
    )
    assert after.status_code == 404
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "event=sandbox.request outcome=error method=GET path=/eu/rest/all/V1/products"
    ]
    assert errors[0].exc_info is not None
    assert str(errors[0].exc_info[1]) == "emulator bug at /rest/all/V1/products"
