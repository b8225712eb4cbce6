"""Embedded emulators: one per sandbox store, kept on disk between runs.

A store whose endpoint is ``sandbox://NAME`` talks to an emulator in this
process. Its state lives in ``<state_dir>/sandbox/<store>/``: loaded from there
when present, otherwise seeded from the store's ``seed`` export CSV, and saved
(atomically, by the emulator) after every request that changed it, so that
applied changes persist between runs. Seeding alone writes nothing: seeding is
deterministic, so a dry run on a fresh checkout leaves no file behind.

Several processes may use one store's sandbox at once (a daemon's pass, a
``reconcile sandbox sell``, another pass): each request, and each sale, runs
under an exclusive lock on ``<store>.lock`` beside the store's folder, and a
process whose saved state was replaced by another one loads it again before
it answers. So a sale made during a pass is neither lost nor hidden: the
pass's next request sees it, as a real shop's would.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
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
    if (directory / f"{kind}.json").is_file():  # a stray file alone is no state
        return load_saved(kind, name, directory)
    if seed is None or not seed.is_file():
        raise FileNotFoundError(seed)
    cls = cast(Any, emulator_class(kind))
    emulator, problems = cls.from_export(name, seed, **EMBEDDED_OPTIONS.get(kind, {}))
    for problem in problems:
        log.warning(
            "event=sandbox.seed_skipped store=%s file=%s line=%d reason=%r",
            name,
            seed,
            problem.line,
            problem.reason,
        )
    return cast(EmulatorBase, emulator)


def load_saved(kind: str, name: str, directory: Path) -> EmulatorBase:
    """The emulator saved in ``directory``, with the embedded settings."""
    cls = cast(Any, emulator_class(kind))
    options = EMBEDDED_OPTIONS.get(kind, {})
    return cast(EmulatorBase, cls.load(name, directory, **options))


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


StateKey = tuple[int, int, int]
"""A saved state file's inode, modification time and size: new on each save."""


def state_key(emulator: EmulatorBase, directory: Path) -> StateKey | None:
    """The identity of the emulator's saved state file, or None if unsaved."""
    try:
        stat = (directory / f"{emulator.kind}.json").stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


@contextmanager
def sandbox_lock(directory: Path) -> Iterator[None]:
    """Hold the store's sandbox for one request or one sale (blocking)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with directory.with_name(directory.name + ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SyncedSandbox:
    """An embedded emulator kept in step with its saved state on disk."""

    def __init__(self, emulator: EmulatorBase, directory: Path) -> None:
        self.emulator = emulator
        self.directory = directory
        self.known = state_key(emulator, directory)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer on the latest saved state; save what the request changed."""
        if self.known is None and not self.directory.is_dir():
            return self._unsaved(request)
        with sandbox_lock(self.directory):
            self._catch_up()
            response = self.emulator.handle(request)
            self._save_if_changed(request, response)
        return response

    def _unsaved(self, request: httpx.Request) -> httpx.Response:
        """Nothing saved yet: answer from the seed without a lock, so a dry
        run leaves no file. A change is saved under the lock; if another
        process saved first, the request is answered again on its state."""
        response = self.emulator.handle(request)
        if not self._changed(request, response):
            return response
        with sandbox_lock(self.directory):
            if state_key(self.emulator, self.directory) is not None:
                self._catch_up()
                del self.emulator.requests[-1]
                response = self.emulator.handle(request)
            self._save_if_changed(request, response)
        return response

    def _changed(self, request: httpx.Request, response: httpx.Response) -> bool:
        changed = getattr(self.emulator, "dirty", request.method not in _READ_ONLY)
        return bool(changed) and response.status_code < 300

    def _save_if_changed(
        self, request: httpx.Request, response: httpx.Response
    ) -> None:
        """Called with the lock held."""
        if self._changed(request, response):
            save(self.emulator, self.directory)
            self.known = state_key(self.emulator, self.directory)

    def _catch_up(self) -> None:
        """Load the saved state again if another process replaced it (called
        with the lock held); this process's request log and faults carry over."""
        now = state_key(self.emulator, self.directory)
        if now is None or now == self.known:
            return
        loaded = load_saved(self.emulator.kind, self.emulator.name, self.directory)
        loaded.requests = self.emulator.requests
        loaded.faults = self.emulator.faults
        log.info(
            "event=sandbox.reloaded store=%s reason=saved_by_another_process",
            self.emulator.name,
        )
        self.emulator = loaded
        self.known = now


def persisting_transport(
    emulator: EmulatorBase, directory: Path
) -> httpx.MockTransport:
    """An in-process transport that saves the emulator after each change."""
    return httpx.MockTransport(SyncedSandbox(emulator, directory).handle)


def store_transport(
    store: StoreConfig, *, config_root: Path, state_dir: Path
) -> httpx.MockTransport:
    """The transport of a ``sandbox://`` store, persisting under ``state_dir``."""
    emulator = open_store_emulator(store, config_root=config_root, state_dir=state_dir)
    return persisting_transport(emulator, state_dir / "sandbox" / store.name)


@contextmanager
def sandbox_session(
    store: StoreConfig, *, config_root: Path, state_dir: Path
) -> Iterator[EmulatorBase]:
    """The store's embedded emulator, loaded and saved under its lock: a
    change made here (a sale) lands between two requests of any pass."""
    directory = state_dir / "sandbox" / store.name
    with sandbox_lock(directory):
        emulator = open_store_emulator(
            store, config_root=config_root, state_dir=state_dir
        )
        yield emulator
        save(emulator, directory)
