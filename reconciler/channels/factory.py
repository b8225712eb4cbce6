"""Build a store's channel adapter from its config.

The one place that turns a ``StoreConfig`` into an ``httpx.Client`` and an
adapter. ``sandbox://NAME`` endpoints get the embedded emulator behind an
in-process transport (the made-up host below never reaches a network);
``http(s)://`` endpoints are real URLs, a served sandbox on loopback included.
Both clients wait at most the store's ``channel.timeout`` for an answer.
Tokens come from the environment variable the config names and never appear
in a message or a log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from reconciler.channels.base import ChannelAdapter
from reconciler.channels.magento import MagentoAdapter
from reconciler.clock import Clock, SystemClock
from reconciler.config.model import MagentoChannel, StoreConfig
from reconciler.errors import ChannelConfigError
from reconciler.sandbox.registry import sandbox_name, store_transport

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10.0
"""The longest a connection may take to open, within the store's timeout."""
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def open_adapter(
    store: StoreConfig,
    *,
    config_root: Path,
    state_dir: Path = Path(".reconciler"),
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> ChannelAdapter:
    """The adapter of ``store``; raises ``ChannelConfigError`` when it cannot work."""
    environment = os.environ if env is None else env
    endpoint = store.channel.endpoint
    token = _token(store, environment)
    if sandbox_name(endpoint) is not None:
        client = _sandbox_client(store, config_root, state_dir)
    else:
        client = httpx.Client(base_url=_real_url(store), timeout=_timeout(store))
    log.info(
        "event=channel.open store=%s type=%s endpoint=%s timeout=%d",
        store.name,
        store.channel.type,
        endpoint,
        store.channel.timeout,
    )
    return _adapter(store, client, token, clock or SystemClock())


def _adapter(
    store: StoreConfig, client: httpx.Client, token: str | None, clock: Clock
) -> ChannelAdapter:
    channel = store.channel
    if isinstance(channel, MagentoChannel):
        return MagentoAdapter(store.name, channel, client, token=token, clock=clock)
    from reconciler.channels.shopify import ShopifyAdapter

    return ShopifyAdapter(store.name, channel, client, token=token, clock=clock)


def _sandbox_client(
    store: StoreConfig, config_root: Path, state_dir: Path
) -> httpx.Client:
    transport = store_transport(store, config_root=config_root, state_dir=state_dir)
    base_url = f"http://{store.name}.sandbox.invalid"
    return httpx.Client(base_url=base_url, transport=transport, timeout=_timeout(store))


def _timeout(store: StoreConfig) -> httpx.Timeout:
    """Read, write and pool waits of ``channel.timeout``; connect at most 10 s."""
    seconds = float(store.channel.timeout)
    return httpx.Timeout(seconds, connect=min(CONNECT_SECONDS, seconds))


def _real_url(store: StoreConfig) -> str:
    endpoint = store.channel.endpoint
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelConfigError(
            f"{_where(store)}: store {store.name}: channel endpoint {endpoint!r} "
            "is neither sandbox://NAME nor an http(s) URL"
        )
    return endpoint.rstrip("/")


def _token(store: StoreConfig, env: Mapping[str, str]) -> str | None:
    """The store's token; only sandboxes (embedded or on loopback) may go without."""
    variable = store.channel.token_env
    if variable is not None and env.get(variable):
        return env[variable]
    if _is_sandbox(store.channel.endpoint):
        return None
    if variable is None:
        raise ChannelConfigError(
            f"{_where(store)}: store {store.name}: channel.token is required "
            "for a real endpoint (token: ${VARIABLE})"
        )
    raise ChannelConfigError(
        f"{_where(store)}: store {store.name}: environment variable {variable} "
        "holding its token is not set"
    )


def _is_sandbox(endpoint: str) -> bool:
    if sandbox_name(endpoint) is not None:
        return True
    return urlsplit(endpoint).hostname in LOOPBACK


def _where(store: StoreConfig) -> str:
    return f"{store.mark.path}:{store.mark.line}"
