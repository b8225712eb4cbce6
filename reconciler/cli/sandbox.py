"""``reconcile sandbox serve``: the channel emulators on loopback."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, cast
from urllib.parse import urlsplit

import click

from reconciler.cli import EXIT_ERROR, config_option, main, state_option
from reconciler.config.model import StoreConfig
from reconciler.errors import ChannelConfigError, ConfigInvalid
from reconciler.policy import Policy, load_policy
from reconciler.runner import state_dir_of
from reconciler.sandbox.base import EmulatorBase
from reconciler.sandbox.magento import NO_QTY_TYPES, MagentoEmulator
from reconciler.sandbox.registry import (
    EMULATORS,
    open_emulator,
    open_store_emulator,
    sandbox_name,
    sandbox_session,
)
from reconciler.sandbox.server import LOOPBACK, SandboxServer, serve_in_thread
from reconciler.sandbox.shopify import ShopifyEmulator

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """One ``--store NAME=KIND:SEED.csv``."""

    name: str
    kind: str
    seed: Path


def parse_store(text: str) -> StoreSpec:
    """``NAME=KIND:SEED.csv``; ``click.BadParameter`` says what is wrong."""
    name, equals, rest = text.partition("=")
    kind, colon, seed = rest.partition(":")
    if not (equals and colon and name and seed):
        raise click.BadParameter(f"{text!r}: expected NAME=KIND:SEED.csv")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise click.BadParameter(f"{text!r}: store name {name!r} is not a URL segment")
    if kind not in EMULATORS:
        raise click.BadParameter(f"{text!r}: kind {kind!r} is not {sorted(EMULATORS)}")
    return StoreSpec(name, kind, Path(seed))


NO_SANDBOX = "none (no store of this config has a sandbox:// endpoint)"


@main.group()
def sandbox() -> None:
    """The channel emulators."""


@sandbox.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True)
@click.option(
    "--store",
    "stores",
    multiple=True,
    required=True,
    help="NAME=KIND:SEED.csv, KIND being magento or shopify; repeatable.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".reconciler/sandbox-served"),
    show_default=True,
)
@click.option("--host", default=LOOPBACK, show_default=True, help="Loopback only.")
@click.option(
    "--token",
    metavar="VALUE",
    help="Answer 401 to any request without this token (prefer --token-env).",
)
@click.option(
    "--token-env",
    metavar="VAR",
    help="Like --token, with the token read from environment variable VAR.",
)
def serve(
    port: int,
    stores: tuple[str, ...],
    state_dir: Path,
    host: str,
    token: str | None,
    token_env: str | None,
) -> None:
    """Serve emulators on loopback until stopped; prints the port first.

    \b
    Tokens: with --token or --token-env every store checks the token as its
    channel does (Magento "Authorization: Bearer TOKEN", Shopify
    "X-Shopify-Access-Token: TOKEN") and answers 401 without it; without
    either, any request is accepted, and the startup line on stderr says so.

    \b
    Control endpoints, per store NAME (JSON in and out):
      POST /_control/NAME/faults      change the faults of the next requests,
                                      any subset of these fields:
        {"server_errors": N,          answer the next N requests 503
         "timeouts": N,               answer nothing until the client gives
                                      up (at most 120 s), then close
         "dropped": N,                close the connection at once
         "refusals": {"SKU": ["CODE", "MESSAGE"]},
                                      refuse writes of SKU (permanent)
         "concurrent_sales": {"SKU": UNITS}}
                                      sell UNITS just before SKU's next write
        counts are whole numbers from 0 to 1000000; the answer is the faults
        now in force; a bad body is a 400 naming the field, changing nothing
      GET  /_control/NAME/requests    the request log: [{"method", "path",
                                      "query": [[k, v]], "body", "status"}],
                                      status null when a fault left it
                                      unanswered
      POST /_control/NAME/reset-log   empty the request log
      GET  /_control/NAME/stock       {"SKU": quantity}
    """
    if host != LOOPBACK:
        raise click.BadParameter(f"serves on {LOOPBACK} only", param_hint="--host")
    required = _served_token(token, token_env)
    specs = [parse_store(text) for text in stores]
    emulators = {spec.name: _open(spec, state_dir) for spec in specs}
    for emulator in emulators.values():
        if isinstance(emulator, MagentoEmulator | ShopifyEmulator):
            emulator.token = required
    stop = threading.Event()
    _on_signals(stop)
    with serve_in_thread(emulators, port=port, state_dir=state_dir) as server:
        _announce(server, specs)
        _announce_token(required, token_env)
        stop.wait()
    click.echo("sandbox: stopped", err=True)


def _served_token(token: str | None, token_env: str | None) -> str | None:
    """The token the served stores require, from --token or --token-env."""
    if token is not None and token_env is not None:
        raise click.UsageError("give --token or --token-env, not both")
    if token is not None and not token.strip():
        raise click.BadParameter("the token is empty", param_hint="--token")
    if token_env is None:
        return token
    value = os.environ.get(token_env, "")
    if not value.strip():
        raise click.BadParameter(
            f"environment variable {token_env} is unset or empty",
            param_hint="--token-env",
        )
    return value


def _announce_token(required: str | None, token_env: str | None) -> None:
    """Say on stderr whether requests need a token (never the token itself)."""
    if required is None:
        click.echo(
            "sandbox: no token required: every request is accepted "
            "(--token or --token-env to check one)",
            err=True,
        )
        return
    source = f"${token_env}" if token_env else "--token"
    click.echo(f"sandbox: requests need the token of {source}", err=True)


def _open(spec: StoreSpec, state_dir: Path) -> EmulatorBase:
    try:
        return open_emulator(spec.kind, spec.name, state_dir / spec.name, spec.seed)
    except FileNotFoundError:
        click.echo(f"sandbox: store {spec.name}: seed {spec.seed} not found", err=True)
        raise SystemExit(EXIT_ERROR) from None


def _announce(server: SandboxServer, specs: list[StoreSpec]) -> None:
    click.echo(str(server.port))
    for spec in specs:
        click.echo(f"{spec.name} ({spec.kind}): {server.url(spec.name)}")


def _on_signals(stop: threading.Event) -> None:
    """SIGINT and SIGTERM only set the stop flag; the server then shuts down."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@sandbox.command()
@click.argument("store")
@click.argument("sku")
@click.argument("units", type=click.IntRange(min=1))
@config_option
@state_option
def sell(
    store: str, sku: str, units: int, config_dir: str, state_url: str | None
) -> None:
    """Sell UNITS of SKU on the embedded STORE, as a shopper would.

    Only for stores whose endpoint is sandbox://NAME: it lowers the emulated
    channel's quantity, which the next pass sees as drift (or, on a master
    store, as a change for the hub to take). Like the shop, it refuses to sell
    more than is in stock unless the item takes backorders, and sells only
    stock-keeping (simple, tracked) items.
    """
    policy = _policy(config_dir)
    config = policy.repository.stores.get(store)
    if config is None or sandbox_name(config.channel.endpoint) is None:
        known = sorted(
            name
            for name, each in policy.repository.stores.items()
            if sandbox_name(each.channel.endpoint) is not None
        )
        listed = ", ".join(known) or NO_SANDBOX
        served = "" if config is None else _served_hint(config)
        _fail(f"{store!r} is not a sandbox store{served}; sandbox stores: {listed}")

    state_dir = state_dir_of(state_url or policy.repository.settings.state_url)
    root = Path(config_dir)
    try:
        # A sale the shop refuses is refused before anything is locked or
        # written; the sale itself is made again on the latest saved state.
        _sell(
            open_store_emulator(config, config_root=root, state_dir=state_dir),
            config,
            sku,
            units,
        )
        with sandbox_session(config, config_root=root, state_dir=state_dir) as shop:
            stock = _sell(shop, config, sku, units)
    except ChannelConfigError as error:
        _fail(str(error))

    after = stock.quantity - units
    click.echo(f"{store}: sold {units} of {sku}; quantity {stock.quantity} -> {after}")


def _sell(emulator: EmulatorBase, config: StoreConfig, sku: str, units: int) -> Stock:
    """Lower the SKU's stock by ``units``, as the shop would allow; the stock
    before the sale."""
    stock = _stock(emulator, config, sku)
    if units > stock.quantity and stock.no_oversell is not None:
        _fail(
            f"store {config.name}: cannot sell {units} of {sku!r}; "
            f"{stock.quantity} in stock and {stock.no_oversell}"
        )

    _set_quantity(emulator, config, sku, stock.quantity - units)
    return stock


def _served_hint(config: StoreConfig) -> str:
    """How to sell on a store reached over HTTP: through its own API, or, on
    a served emulator, with a ``concurrent_sales`` fault."""
    endpoint = config.channel.endpoint.rstrip("/")
    url = urlsplit(endpoint)
    name = url.path.strip("/") or "NAME"
    control = f"{url.scheme}://{url.netloc}/_control/{name}/faults"
    return (
        f" (it is reached at {endpoint}: change its stock through the channel's "
        "own API, or, when that is `reconcile sandbox serve`, arm a fault: POST "
        f'{control} {{"concurrent_sales": {{"SKU": UNITS}}}})'
    )


@dataclass(frozen=True, slots=True)
class Stock:
    """What a sale may take: the quantity, and why it may not go below it
    (``None`` when the item takes backorders, so a sale may oversell)."""

    quantity: int
    no_oversell: str | None


def _stock(emulator: EmulatorBase, config: StoreConfig, sku: str) -> Stock:
    """The SKU's sellable stock where the store's adapter reads it, or a clear
    error for an item a shopper cannot buy from stock."""
    if isinstance(emulator, ShopifyEmulator):
        return _shop_stock(emulator, config, sku)
    return _magento_stock(cast(MagentoEmulator, emulator), config, sku)


def _magento_stock(shop: MagentoEmulator, config: StoreConfig, sku: str) -> Stock:
    item = shop.items.get(sku.casefold())
    if item is None:
        _fail(f"store {config.name}: no item with SKU {sku!r}")
    if item.type_id in NO_QTY_TYPES:
        _fail(
            f"store {config.name}: {sku!r} is a {item.type_id} product, which keeps "
            "no stock of its own; sell one of its simple products"
        )
    if not shop.managed(item):
        _fail(
            f"store {config.name}: {sku!r} does not manage stock; no quantity to sell"
        )
    return Stock(int(item.qty), "the emulated store takes no backorders")


def _shop_stock(shop: ShopifyEmulator, config: StoreConfig, sku: str) -> Stock:
    found = [variant for variant in shop.variants.values() if variant.sku == sku]
    if not found:
        _fail(f"store {config.name}: no item with SKU {sku!r}")
    if len(found) > 1:
        _fail(
            f"store {config.name}: {len(found)} items have SKU {sku!r}; "
            "cannot tell which"
        )
    if not found[0].tracked:
        _fail(f"store {config.name}: {sku!r} is not tracked; no quantity to sell")
    quantity = shop.quantity(sku, _location(shop, config))
    if quantity is None:
        _fail(f"store {config.name}: SKU {sku!r} is not stocked at its location")
    if found[0].policy == "CONTINUE":
        return Stock(quantity, None)
    return Stock(quantity, "its inventory policy is DENY (no overselling)")


def _set_quantity(
    emulator: EmulatorBase, config: StoreConfig, sku: str, quantity: int
) -> None:
    if isinstance(emulator, ShopifyEmulator):
        emulator.set_quantity(sku, quantity, _location(emulator, config))
    else:
        cast(Any, emulator).set_quantity(sku, quantity)


def _location(shop: ShopifyEmulator, config: StoreConfig) -> str | None:
    """The store's location when the shop has one by that name, else the
    shop's default (a ``gid://`` location or an unknown name: the adapter
    reports those on the next pass; a sale must not invent a location)."""
    name = getattr(config.channel, "location", None)
    return name if name in shop.locations.values() else None


def _policy(config_dir: str) -> Policy:
    try:
        return load_policy(config_dir)
    except ConfigInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _fail(str(invalid))


def _fail(message: str) -> NoReturn:
    click.echo(f"reconcile sandbox: {message}", err=True)
    sys.exit(EXIT_ERROR)
