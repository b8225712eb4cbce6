"""The validated config repository as typed, immutable values.

The loader builds these from the YAML files once every file has passed its
schema and the cross-file checks; code above the config layer reads only these
types, never raw YAML. Every setting keeps the ``Mark`` of the YAML node it came
from, so that ``reconcile explain`` can say where a value was decided.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, NamedTuple, TypeVar

T = TypeVar("T")
R = TypeVar("R", bound=tuple[Any, ...])


def strict_record(*, ordered: bool = False) -> Callable[[type[R]], type[R]]:
    """Give a ``NamedTuple`` the comparisons of a frozen dataclass.

    A large repository loads tens of thousands of marks, settings and
    overrides; a tuple is created in about half the time of a frozen slots
    dataclass. A bare tuple would also equal any tuple of the same items and
    sort against it, so this keeps the dataclass rules: equal only to an
    instance of the very same class, hashed by its fields, and ordered by its
    fields only when ``ordered`` (otherwise ``<`` raises ``TypeError``).
    """

    def strict(cls: type[R]) -> type[R]:
        methods: dict[str, Any] = {
            "__eq__": _equal,
            "__ne__": _not_equal,
            "__hash__": tuple.__hash__,
        }
        methods.update((name, _ordering(name, ordered)) for name in _SYMBOLS)
        for name, method in methods.items():
            setattr(cls, name, method)
        return cls

    return strict


def _equal(self: tuple[Any, ...], other: object) -> bool:
    """Not ``NotImplemented`` for another class: a plain tuple would answer."""
    return other.__class__ is self.__class__ and tuple.__eq__(self, other)


def _not_equal(self: tuple[Any, ...], other: object) -> bool:
    return other.__class__ is not self.__class__ or tuple.__ne__(self, other)


_SYMBOLS = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">="}


def _ordering(name: str, ordered: bool) -> Callable[[tuple[Any, ...], object], bool]:
    """A comparison by fields, or a ``TypeError`` as a dataclass raises one.

    It raises also for another class, since a plain tuple on the other side
    would otherwise answer it.
    """
    compare: Callable[[tuple[Any, ...], object], bool] = getattr(tuple, name)

    def ordering(self: tuple[Any, ...], other: object) -> bool:
        if not ordered or other.__class__ is not self.__class__:
            raise TypeError(
                f"'{_SYMBOLS[name]}' not supported between instances of "
                f"'{self.__class__.__name__}' and '{other.__class__.__name__}'"
            )
        return compare(self, other)

    ordering.__name__ = name
    return ordering


@strict_record(ordered=True)
class Mark(NamedTuple):
    """A place in the config repository: path relative to the root, 1-based."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@strict_record()
class Setting(NamedTuple, Generic[T]):
    """A configured value and where it was written."""

    value: T
    mark: Mark


class Direction(enum.StrEnum):
    """Which side is master of a (store, SKU) stock figure."""

    HUB_TO_CHANNEL = "hub_to_channel"
    CHANNEL_TO_HUB = "channel_to_hub"
    NONE = "none"


class Mode(enum.StrEnum):
    """Whether ordinary passes sync an item, or only runs that name it."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class NegativeStock(enum.StrEnum):
    """What a hub-master push does with a negative hub quantity (oversold)."""

    PUSH_ZERO = "push_zero"
    PUSH_AS_IS = "push_as_is"


@strict_record()
class SyncOverride(NamedTuple):
    """The settings one level may set; ``None`` means "not set at this level".

    ``interval`` is in seconds.
    """

    direction: Setting[Direction] | None = None
    mode: Setting[Mode] | None = None
    interval: Setting[int] | None = None
    manage_inventory: Setting[bool] | None = None

    def is_empty(self) -> bool:
        return (
            self.direction is None
            and self.mode is None
            and self.interval is None
            and self.manage_inventory is None
        )


_NOTHING_SET = SyncOverride()


DEFAULT_CHANNEL_TIMEOUT = 30
"""Seconds a channel request may wait for its answer unless the store says."""


@dataclass(frozen=True, slots=True)
class ShopifyChannel:
    """A Shopify shop and one of its locations.

    ``endpoint`` is the base URL requests go to: ``https://{shop}`` for a real
    shop, ``sandbox://NAME`` for the embedded emulator, or
    ``http://127.0.0.1:PORT/NAME`` for a served one. The GraphQL path
    ``/admin/api/{api_version}/graphql.json`` is appended below it. ``seed``
    (sandbox endpoints only) is the export CSV the emulator starts from, a
    path relative to the config root. ``timeout`` is how many seconds a
    request may wait for its answer before it counts as timed out.
    """

    endpoint: str
    api_version: str
    location: str
    token_env: str | None
    activate_unstocked: bool = False
    seed: str | None = None
    type: Literal["shopify"] = "shopify"
    timeout: int = DEFAULT_CHANNEL_TIMEOUT
    token_mark: Mark | None = field(default=None, compare=False)
    """Where ``${VAR}`` is written, for warnings; left out of comparisons."""


@dataclass(frozen=True, slots=True)
class MagentoChannel:
    """A Magento 2 / Adobe Commerce instance, legacy stock or one MSI source.

    ``endpoint`` is the base URL below which ``/rest/{store_code}/V1/...``
    lives. ``source`` set means MSI source items; ``None`` means legacy stock
    items. ``manage_stock_default`` is the instance's configured default, which
    ``use_config_manage_stock = true`` resolves to. ``seed`` and ``timeout``
    as for Shopify.
    ``bulk`` writes legacy stock items through the asynchronous bulk endpoint
    (it needs Magento's queue consumer running) instead of one PUT per SKU.
    ``recheck`` re-reads each write batch just before writing and reports the
    items that moved since the plan's read as stale, for the executor to
    re-plan (Magento has no compare-and-set).
    """

    endpoint: str
    store_code: str
    source: str | None
    token_env: str | None
    manage_stock_default: bool = True
    seed: str | None = None
    type: Literal["magento"] = "magento"
    bulk: bool = False
    recheck: bool = False
    timeout: int = DEFAULT_CHANNEL_TIMEOUT
    token_mark: Mark | None = field(default=None, compare=False)
    """Where ``${VAR}`` is written, for warnings; left out of comparisons."""


Channel = ShopifyChannel | MagentoChannel


@dataclass(frozen=True, slots=True)
class Guard:
    """Per-run safety limits of a store, as fractions of its managed SKUs.

    The marks say where each limit is written (a store's file or
    ``reconciler.yaml``); ``None`` when it is the built-in default.
    """

    max_zeroed: float = 0.05
    max_changed: float = 0.50
    zeroed_mark: Mark | None = field(default=None, compare=False)
    changed_mark: Mark | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """One ``stores/<name>.yaml``.

    ``defaults`` holds the store-level settings; the loader fills direction,
    mode and interval (from the file, or from ``reconciler.yaml`` defaults),
    so they are never ``None`` here. ``manage_inventory`` may stay ``None``.
    """

    name: str
    mark: Mark
    channel: Channel
    defaults: SyncOverride
    guard: Guard = Guard()
    suspended: bool = False
    negative_stock: NegativeStock = NegativeStock.PUSH_ZERO
    suspended_mark: Mark | None = field(default=None, compare=False)
    """Where ``suspended`` is written, for warnings; left out of comparisons."""

    @property
    def casefold_skus(self) -> bool:
        """Whether the channel matches SKUs case-insensitively (Magento does)."""
        return isinstance(self.channel, MagentoChannel)


@dataclass(frozen=True, slots=True)
class Product:
    """A product listed under a vendor, with its own overrides."""

    sku: str
    mark: Mark
    override: SyncOverride = _NOTHING_SET
    stores: Mapping[str, SyncOverride] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InventoryFeed:
    """Where a vendor's stock feed comes from and which columns it uses."""

    source: str
    sku_column: str = "sku"
    quantity_column: str = "quantity"


@dataclass(frozen=True, slots=True)
class VendorConfig:
    """One ``vendors/<name>.yaml``."""

    name: str
    mark: Mark
    feed: InventoryFeed | None = None
    override: SyncOverride = _NOTHING_SET
    stores: Mapping[str, SyncOverride] = field(default_factory=dict)
    products: Mapping[str, Product] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settings:
    """``reconciler.yaml``: engine-wide settings; every key is optional."""

    state_url: str = "sqlite:///.reconciler/state.db"
    default_direction: Direction = Direction.NONE
    default_mode: Mode = Mode.AUTOMATIC
    default_interval: int = 300
    guard: Guard = Guard()
    mark: Mark | None = None


@dataclass(frozen=True, slots=True)
class Repository:
    """A whole validated config repository.

    ``vendor_of`` maps every SKU listed under a vendor to that vendor.
    """

    root: str
    settings: Settings
    stores: Mapping[str, StoreConfig]
    vendors: Mapping[str, VendorConfig]
    vendor_of: Mapping[str, str]
