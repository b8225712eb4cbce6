"""Embedded emulators: one per sandbox store, kept on disk between runs.

A store whose endpoint is ``sandbox://NAME`` talks to an emulator in this
process. Its state lives in ``<state_dir>/sandbox/<store>/``: loaded from there
when present, otherwise seeded from the store's ``seed`` export CSV, and saved
(atomically, by the emulator) after every request that changed it, so that
applied changes persist between runs. Seeding alone writes nothing: seeding is
deterministic, so a dry run on a fresh checkout leaves no file behind.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

import httpx

from reconciler.config.model import StoreConfig
from reconciler.errors import ChannelConfigError
from reconciler.sandbox.base import EmulatorBase, SeedProblem

log = logging.getLogger(__name__)

SANDBOX_SCHEME = "sandbox://"
EMULATORS = {
    "magento": "reconciler.sandbox.magento:MagentoEmulator",
    "shopify": "reconciler.sandbox.shopify:ShopifyEmulator",
}
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
EMBEDDED_OPTIONS: dict[str, dict[str, Any]] = {
    "shopify": {"maximum": 20_000.0, "restore_rate": 1_000.0},
}
"""Emulator settings of embedded sandboxes, by channel kind.

An embedded Shopify shop has a Plus shop's restore rate (1,000 points per
second on Shopify's current rate-limit page) and a 20,000-point bucket, so a
quick start does not wait minutes on a standard shop's 50 points per second;
single queries stay capped at 1,000 points. Tests that exercise throttling
build their emulators with the standard figures.
"""


class PersistentEmulator(Protocol):
    """What the registry needs of an emulator class."""

    @classmethod
    def from_export(
        cls, name: str, csv_path: Path
    ) -> tuple[EmulatorBase, list[SeedProblem]]: ...

    @classmethod
    def load(cls, name: str, directory: Path) -> EmulatorBase: ...


def emulator_class(kind: str) -> PersistentEmulator:
    """The emulator class of a channel kind (``magento``, ``shopify``)."""
    if kind not in EMULATORS:
        raise ValueError(
            f"unknown channel kind {kind!r}; use one of {sorted(EMULATORS)}"
        )
    module, _, name = EMULATORS[kind].partition(":")
    return cast(PersistentEmulator, getattr(importlib.import_module(module), name))


def sandbox_name(endpoint: str) -> str | None:
    """``NAME`` of a ``sandbox://NAME`` endpoint, else ``None``."""
    if not endpoint.startswith(SANDBOX_SCHEME):
        return None
    return endpoint.removeprefix(SANDBOX_SCHEME).strip("/")


def open_emulator(
    kind: str, name: str, directory: Path, seed: Path | None
) -> EmulatorBase:
    """The emulator saved in ``directory``, or a new one seeded from ``seed``."""
    cls = cast(Any, emulator_class(kind))
    options = EMBEDDED_OPTIONS.get(kind, {})
    if directory.is_dir() and any(directory.iterdir()):
        return cast(EmulatorBase, cls.load(name, directory, **options))
    if seed is None or not seed.is_file():
        raise FileNotFoundError(seed)
    emulator, problems = cls.from_export(name, seed, **options)
    for problem in problems:
        log.warning(
            "event=sandbox.seed_skipped store=%s file=%s line=%d reason=%r",
            name,
            seed,
            problem.line,
            problem.reason,
        )
    return cast(EmulatorBase, emulator)


def open_store_emulator(
    store: StoreConfig, *, config_root: Path, state_dir: Path
) -> EmulatorBase:
    """The embedded emulator behind a ``sandbox://`` store."""
    channel = store.channel
    name = sandbox_name(channel.endpoint) or store.name
    directory = state_dir / "sandbox" / store.name
    seed = config_root / channel.seed if channel.seed else None
    try:
        return open_emulator(channel.type, name, directory, seed)
    except FileNotFoundError:
        where = f"{store.mark.path}:{store.mark.line}"
        raise ChannelConfigError(
            f"{where}: store {store.name}: channel.seed "
            f"{channel.seed or '(not set)'} is needed to start its sandbox and "
            f"no such file is in {config_root}"
        ) from None


def save(emulator: EmulatorBase, directory: Path) -> None:
    cast(Any, emulator).save(directory)


def persisting_transport(
    emulator: EmulatorBase, directory: Path
) -> httpx.MockTransport:
    """An in-process transport that saves the emulator after each change."""

    def handle(request: httpx.Request) -> httpx.Response:
        response = emulator.handle(request)
        changed = getattr(emulator, "dirty", request.method not in _READ_ONLY)
        if changed and response.status_code < 300:
            save(emulator, directory)
        return response

    handler: Callable[[httpx.Request], httpx.Response] = handle
    return httpx.MockTransport(handler)


def store_transport(
    store: StoreConfig, *, config_root: Path, state_dir: Path
) -> httpx.MockTransport:
    """The transport of a ``sandbox://`` store, persisting under ``state_dir``."""
    emulator = open_store_emulator(store, config_root=config_root, state_dir=state_dir)
    return persisting_transport(emulator, state_dir / "sandbox" / store.name)
