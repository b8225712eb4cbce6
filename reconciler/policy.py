"""Effective sync policy of every (store, SKU), with the provenance of each value.

Each setting (direction, mode, interval, manage_inventory) resolves on its own,
most specific level first: product+store, product, vendor+store, vendor, the
store's defaults, then the built-in value. The winner keeps its level and the
``Mark`` of the YAML node that set it, so ``reconcile explain`` can say why.

The planner asks for a policy about 300,000 times per pass (100,000 SKUs over
three stores), while the config names only a few thousand products. So the
values of SKUs without product overrides are resolved once per distinct
(store, vendor) and shared; only products with overrides resolve one by one,
and each of those once. Both caches fill lazily: resolution is pure, and the
repository never changes under a ``Policy``.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

from reconciler.config import read_repository
from reconciler.config.loader import SETTINGS_FILE, Loaded
from reconciler.config.model import (
    Direction,
    Mark,
    Mode,
    Product,
    Repository,
    Setting,
    StoreConfig,
    SyncOverride,
    strict_record,
)
from reconciler.errors import ConfigInvalid, ConfigProblem

T = TypeVar("T")

log = logging.getLogger(__name__)


class Level(enum.StrEnum):
    """Where a setting was decided, most specific first."""

    PRODUCT_STORE = "product+store"
    PRODUCT = "product"
    VENDOR_STORE = "vendor+store"
    VENDOR = "vendor"
    STORE = "store"
    DEFAULTS = "defaults"  # reconciler.yaml's defaults, which every store takes
    BUILT_IN = "built-in"
    HUB = "hub"


_RANK = {level: rank for rank, level in enumerate(Level)}


@strict_record()
class Decided(NamedTuple, Generic[T]):
    """A resolved setting, the level that won and the mark it was written at.

    ``mark`` is ``None`` for the built-in and hub levels, which no file sets.
    """

    value: T
    level: Level
    mark: Mark | None

    @property
    def source(self) -> str:
        """``path:line (level)``, or the bare level when no file decided."""
        if self.mark is None:
            return str(self.level)
        return f"{self.mark} ({self.level})"


BUILT_IN_DIRECTION = Decided(Direction.NONE, Level.BUILT_IN, None)
BUILT_IN_MODE = Decided(Mode.AUTOMATIC, Level.BUILT_IN, None)
BUILT_IN_INTERVAL = Decided(300, Level.BUILT_IN, None)


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """How one SKU is synced on one store.

    ``manage_inventory`` is ``None`` when no level sets it: the hub record
    decides then.
    """

    store: str
    sku: str
    vendor: str | None
    direction: Decided[Direction]
    mode: Decided[Mode]
    interval: Decided[int]
    manage_inventory: Decided[bool] | None


class Resolved(NamedTuple):
    """The four decided settings, shared by the SKUs that resolve alike."""

    direction: Decided[Direction]
    mode: Decided[Mode]
    interval: Decided[int]
    manage_inventory: Decided[bool] | None


_Layers = Sequence[tuple[Level, SyncOverride | None]]


class _ProductLevel(NamedTuple):
    """A product's own settings for all stores, decided once per SKU."""

    direction: Decided[Direction] | None
    mode: Decided[Mode] | None
    interval: Decided[int] | None
    manage_inventory: Decided[bool] | None


class Policy:
    """Resolves effective policies over one validated config repository."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self._vendor_of = repository.vendor_of
        self._overrides = dict(_products_with_overrides(repository))
        self._shared: dict[tuple[str, str | None], Resolved] = {}
        self._product_levels: dict[str, _ProductLevel] = {}
        self._products: dict[tuple[str, str], EffectivePolicy] = {}
        self._vendor_masters: dict[str | None, frozenset[str]] = {}

    @property
    def overridden(self) -> frozenset[str]:
        """The SKUs whose product entry overrides at least one setting."""
        return frozenset(self._overrides)

    def vendor_of(self, sku: str) -> str | None:
        """The vendor whose file lists ``sku``, or ``None`` when none does."""
        return self._vendor_of.get(sku)

    def sync_intervals(self, store: str) -> frozenset[int]:
        """The intervals (seconds) on which some SKU of ``store`` syncs
        automatically: its vendors' and products' as well as its own."""
        resolved: list[Resolved | EffectivePolicy] = [
            self.resolved_for_vendor(store, vendor)
            for vendor in (None, *self.repository.vendors)
        ]
        resolved += [self.for_sku(store, sku) for sku in self._overrides]
        return frozenset(
            each.interval.value for each in resolved if syncs_automatically(each)
        )

    def stores(self) -> list[StoreConfig]:
        """Every configured store, in the repository's order."""
        return list(self.repository.stores.values())

    def for_sku(
        self, store: str, sku: str, vendor: str | None = None
    ) -> EffectivePolicy:
        """The effective policy of ``sku`` on ``store``.

        ``vendor`` is the SKU's vendor as known elsewhere (the hub record);
        a vendor file that lists the SKU wins over it. An unknown ``store``
        raises ``KeyError``.
        """
        listed = self._vendor_of.get(sku)
        if listed is not None:
            vendor = listed
            if sku in self._overrides:
                cached = self._products.get((store, sku))
                return cached or self._product_policy(store, sku, listed)

        shared = self._shared.get((store, vendor)) or self._resolve_shared(
            store, vendor
        )
        return EffectivePolicy(store, sku, vendor, *shared)

    def resolve_all(self) -> int:
        """Resolve every distinct combination now; returns how many there were.

        A combination is a (store, vendor) pair, no vendor included, whose
        result every SKU of that vendor without product overrides shares, or
        a product with overrides, whose own level is decided once for all
        stores. ``for_sku`` afterwards only looks these up and puts the
        ``EffectivePolicy`` of one (store, SKU) together.
        """
        vendors: list[str | None] = [None, *self.repository.vendors]
        for store in self.repository.stores:
            for vendor in vendors:
                self.resolved_for_vendor(store, vendor)
        for sku in self._overrides:
            self._product_level(sku)
        return len(self._shared) + len(self._product_levels)

    def resolved_for_vendor(self, store: str, vendor: str | None) -> Resolved:
        """The settings every SKU of ``vendor`` without product overrides gets."""
        return self._shared.get((store, vendor)) or self._resolve_shared(store, vendor)

    def product_direction(self, store: str, sku: str) -> Decided[Direction]:
        """The direction alone of a listed SKU with overrides (the master check)."""
        product = self._overrides[sku]
        here = product.stores.get(store)
        if here is not None and here.direction is not None:
            return Decided(
                here.direction.value, Level.PRODUCT_STORE, here.direction.mark
            )
        general = self._product_level(sku).direction
        vendor = self._vendor_of[sku]
        return general or self.resolved_for_vendor(store, vendor).direction

    def vendor_masters(self, vendor: str | None) -> frozenset[str]:
        """The stores that resolve ``vendor``'s unlisted SKUs channel_to_hub."""
        masters = self._vendor_masters.get(vendor)
        if masters is None:
            masters = frozenset(
                store
                for store in self.repository.stores
                if self.resolved_for_vendor(store, vendor).direction.value
                is Direction.CHANNEL_TO_HUB
            )
            self._vendor_masters[vendor] = masters
        return masters

    def _resolve_shared(self, store: str, vendor: str | None) -> Resolved:
        resolved = _resolve(self._vendor_layers(store, vendor))
        self._shared[(store, vendor)] = resolved
        return resolved

    def _product_level(self, sku: str) -> _ProductLevel:
        level = self._product_levels.get(sku)
        if level is None:
            general = self._overrides[sku].override
            level = _new(
                _ProductLevel,
                [
                    None
                    if s is None
                    else _new(Decided, (s.value, Level.PRODUCT, s.mark))
                    for s in general
                ],
            )
            self._product_levels[sku] = level
        return level

    def _product_policy(self, store: str, sku: str, vendor: str) -> EffectivePolicy:
        """Product+store over the product's own level over the vendor's result."""
        base = self.resolved_for_vendor(store, vendor)
        general = self._product_level(sku)
        here = self._overrides[sku].stores.get(store) or _UNSET

        policy = EffectivePolicy(
            store,
            sku,
            vendor,
            _at(here.direction, Level.PRODUCT_STORE)
            or general.direction
            or base.direction,
            _at(here.mode, Level.PRODUCT_STORE) or general.mode or base.mode,
            _at(here.interval, Level.PRODUCT_STORE)
            or general.interval
            or base.interval,
            _at(here.manage_inventory, Level.PRODUCT_STORE)
            or general.manage_inventory
            or base.manage_inventory,
        )
        self._products[(store, sku)] = policy
        return policy

    def _vendor_layers(self, store: str, vendor: str | None) -> _Layers:
        """The vendor+store, vendor and store levels, most specific first."""
        store_config = self.repository.stores[store]
        config = self.repository.vendors.get(vendor) if vendor else None
        if config is None:
            return [(Level.STORE, store_config.defaults)]
        return [
            (Level.VENDOR_STORE, config.stores.get(store)),
            (Level.VENDOR, config.override),
            (Level.STORE, store_config.defaults),
        ]


_UNSET = SyncOverride()


_new = tuple.__new__
"""Builds a ``NamedTuple`` from its fields in one C call, half the cost of its
``__new__``; ``resolve_all`` builds one per setting of 10,000 products."""


def _at(setting: Setting[T] | None, level: Level) -> Decided[T] | None:
    if setting is None:
        return None
    return _new(Decided, (setting.value, level, setting.mark))


def _products_with_overrides(repository: Repository) -> Iterable[tuple[str, Product]]:
    for vendor in repository.vendors.values():
        for sku, product in vendor.products.items():
            if not product.override.is_empty() or product.stores:
                yield sku, product


def _resolve(layers: _Layers) -> Resolved:
    return Resolved(
        _decide(layers, lambda o: o.direction) or BUILT_IN_DIRECTION,
        _decide(layers, lambda o: o.mode) or BUILT_IN_MODE,
        _decide(layers, lambda o: o.interval) or BUILT_IN_INTERVAL,
        _decide(layers, lambda o: o.manage_inventory),
    )


def _decide(
    layers: _Layers, pick: Callable[[SyncOverride], Setting[T] | None]
) -> Decided[T] | None:
    """The first level, most specific first, that sets the picked setting."""
    for level, override in layers:
        if override is None:
            continue
        setting = pick(override)
        if setting is not None:
            if level is Level.STORE and setting.mark.path == SETTINGS_FILE:
                level = Level.DEFAULTS
            return Decided(setting.value, level, setting.mark)
    return None


# --- two masters ---------------------------------------------------------------


def load_policy(root: str | Path) -> Policy:
    """Load and validate the config repository at ``root``, then its policies.

    Raises ``ConfigInvalid`` carrying every problem: the loader's and every
    two-masters conflict, in one run. The conflicts are looked for among the
    files that passed their own checks, and stand-ins of the files that
    failed: their store or vendor name and their valid ``direction`` settings
    (``Loaded.stand_ins``, ``Loaded.vendor_stand_ins``). A setting that is
    itself a problem is left out, which can hide a conflict it would take
    part in but never makes one up.
    """
    loaded = read_repository(root)
    policy = Policy(loaded.repository)
    problems = [*loaded.problems, *_conflicts(_with_stand_ins(policy, loaded))]
    if problems:
        raise ConfigInvalid(problems)
    return policy


def _with_stand_ins(policy: Policy, loaded: Loaded) -> Policy:
    """The policy to look for two masters in: with the stand-ins of the store
    and vendor files that failed their own checks, when there are some."""
    if not (loaded.stand_ins or loaded.vendor_stand_ins):
        return policy
    repository = loaded.repository
    stores = dict(repository.stores)
    stores.update((store.name, store) for store in loaded.stand_ins)
    vendors = dict(repository.vendors)
    vendor_of = dict(repository.vendor_of)
    for vendor in loaded.vendor_stand_ins:
        vendors[vendor.name] = vendor
        vendor_of.update(dict.fromkeys(vendor.products, vendor.name))
    return Policy(
        dataclasses.replace(
            repository, stores=stores, vendors=vendors, vendor_of=vendor_of
        )
    )


def master_conflicts(repo: Repository) -> list[ConfigProblem]:
    """Every combination of levels that leaves two stores master of one SKU.

    Checked for SKUs of no listed vendor (store defaults alone), for each
    vendor's unlisted SKUs, and for each product with overrides. A conflict is
    reported once, by the level that causes it: a vendor only when a vendor
    level makes one of the masters, a product only when its own override
    does; otherwise the broader report already covers its SKUs.
    """
    return _conflicts(Policy(repo))


def _conflicts(policy: Policy) -> list[ConfigProblem]:
    repo = policy.repository
    problems: list[ConfigProblem] = []

    unlisted = _vendor_masters(policy, None)
    if len(unlisted) >= 2:
        problems.append(_conflict(_unlisted_subject(policy), unlisted))

    for vendor in repo.vendors:
        masters = _vendor_masters(policy, vendor)
        if _caused_by(masters, {Level.VENDOR, Level.VENDOR_STORE}):
            subject = f"the SKUs of vendor {vendor} that set no direction themselves"
            problems.append(_conflict(subject, masters))

    for sku in sorted(_setting_direction(policy.repository)):
        masters = _product_masters(policy, sku)
        if _caused_by(masters, {Level.PRODUCT, Level.PRODUCT_STORE}):
            problems.append(_conflict(f"SKU {sku}", masters))

    log.debug("event=policy.master_check conflicts=%d", len(problems))
    return problems


_Masters = dict[str, Decided[Direction]]


def _unlisted_subject(policy: Policy) -> str:
    """The store defaults' conflict, naming the vendors that inherit it: those
    that leave two masters without a vendor level making either of them."""
    heirs = [
        vendor
        for vendor in sorted(policy.repository.vendors)
        if len(masters := _vendor_masters(policy, vendor)) >= 2
        and not _caused_by(masters, {Level.VENDOR, Level.VENDOR_STORE})
    ]
    subject = "SKUs of no listed vendor"
    if len(heirs) == 1:
        return f"{subject} and of vendor {heirs[0]} (it sets no direction of its own)"
    if heirs:
        names = ", ".join(heirs)
        return f"{subject} and of vendors {names} (they set no direction of their own)"
    return subject


def _vendor_masters(policy: Policy, vendor: str | None) -> _Masters:
    return _only_masters(
        {
            store: policy.resolved_for_vendor(store, vendor).direction
            for store in policy.repository.stores
        }
    )


def _product_masters(policy: Policy, sku: str) -> _Masters:
    if _master_count(policy, sku) < 2:
        return {}  # the common case, told without building any Decided
    return _only_masters(
        {
            store: policy.product_direction(store, sku)
            for store in policy.repository.stores
        }
    )


def _master_count(policy: Policy, sku: str) -> int:
    """How many stores resolve ``sku`` channel_to_hub (``product_direction``'s
    values, without their provenance).

    Starts from the stores the product's own level or its vendor's results
    make master, then applies only the stores the product names itself.
    """
    product = policy._overrides[sku]
    general = product.override.direction
    if general is None:
        masters = set(policy.vendor_masters(policy.vendor_of(sku)))
    elif general.value is Direction.CHANNEL_TO_HUB:
        masters = set(policy.repository.stores)
    else:
        masters = set()
    for store, here in product.stores.items():
        if here.direction is None or store not in policy.repository.stores:
            continue
        if here.direction.value is Direction.CHANNEL_TO_HUB:
            masters.add(store)
        else:
            masters.discard(store)
    return len(masters)


def _setting_direction(repo: Repository) -> Iterable[str]:
    """The SKUs whose own overrides set a direction; only these can cause."""
    for vendor in repo.vendors.values():
        for sku, product in vendor.products.items():
            if product.override.direction is not None or _sets_store_direction(product):
                yield sku


def _sets_store_direction(product: Product) -> bool:
    stores = product.stores
    return bool(stores) and any(o.direction for o in stores.values())


def _only_masters(directions: _Masters) -> _Masters:
    return {
        store: decided
        for store, decided in directions.items()
        if decided.value is Direction.CHANNEL_TO_HUB
    }


def _caused_by(masters: _Masters, levels: set[Level]) -> bool:
    if len(masters) < 2:
        return False
    return any(decided.level in levels for decided in masters.values())


def _conflict(subject: str, masters: _Masters) -> ConfigProblem:
    """One problem, placed at the most specific mark that made a master."""
    names = sorted(masters)
    reasons = ", ".join(f"{name} by {masters[name].source}" for name in names)
    message = (
        f"two masters for {subject}: stores {_and(names)} each resolve direction "
        f"channel_to_hub ({reasons}); leave at most one store channel_to_hub"
    )
    marked = [(_RANK[d.level], d.mark) for d in masters.values() if d.mark]
    _, where = min(marked)
    return ConfigProblem(where.path, where.line, where.column, message)


def _and(names: Sequence[str]) -> str:
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def syncs_automatically(settings: Resolved | EffectivePolicy) -> bool:
    """Whether ordinary passes (and the daemon) sync items so resolved."""
    return (
        settings.mode.value is Mode.AUTOMATIC
        and settings.direction.value is not Direction.NONE
    )
