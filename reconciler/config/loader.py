"""Load a whole config repository into the typed model, or refuse it whole.

Steps: read and parse every file strictly (yamlload), validate each against
its schema (schema), build the model from the files that passed, run the
cross-file checks (checks). Any problem anywhere raises ``ConfigInvalid`` with
every problem of every file, and nothing is returned: the repository is loaded
whole or not at all.

``read_repository`` gives the same problems and, beside them, the model of
the files that passed, for a layer above that checks more across files (two
masters for one SKU, in the policy) and reports those in the same run.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler.config.checks import SANDBOX, StoreRef, cross_file_problems
from reconciler.config.model import (
    DEFAULT_CHANNEL_TIMEOUT,
    Channel,
    Direction,
    Guard,
    InventoryFeed,
    MagentoChannel,
    Mark,
    Mode,
    NegativeStock,
    Product,
    Repository,
    Setting,
    Settings,
    ShopifyChannel,
    StoreConfig,
    SyncOverride,
    VendorConfig,
)
from reconciler.config.schema import (
    MAX_INTERVAL,
    MIN_INTERVAL,
    FileKind,
    interval_seconds,
    text_fix,
    timeout_seconds,
    validate_file,
)
from reconciler.config.yamlload import (
    LIBYAML,
    Position,
    YamlFile,
    YamlMap,
    parse_yaml,
)
from reconciler.errors import ConfigInvalid, ConfigProblem

log = logging.getLogger(__name__)

SETTINGS_FILE = "reconciler.yaml"
DEFAULT_API_VERSION = "2025-01"
DEFAULT_STORE_CODE = "all"


def load_repository(root: str | os.PathLike[str]) -> Repository:
    """The validated repository under ``root``; raises ``ConfigInvalid``."""
    loaded = read_repository(root)
    if loaded.problems:
        raise ConfigInvalid(loaded.problems)
    return loaded.repository


@dataclass(frozen=True, slots=True)
class Loaded:
    """One load's findings: every problem, and the repository of the files
    that passed their own checks (the whole repository when there is none).

    A repository with problems is for further cross-file checks only, never
    to act on: a file that failed is missing from it.
    """

    repository: Repository
    problems: tuple[ConfigProblem, ...]
    stand_ins: tuple[StoreConfig, ...] = ()
    """A store of each store file that failed its own checks but names its
    store and a valid direction (or takes the default one): enough to look
    for two masters among, with the rest of the file yet to be fixed."""
    vendor_stand_ins: tuple[VendorConfig, ...] = ()
    """The same for each vendor file that failed: its name and the valid
    ``direction`` settings of its levels, for products no passing file lists."""


def read_repository(root: str | os.PathLike[str]) -> Loaded:
    """Every problem of the repository under ``root``, beside its model."""
    folder = Path(root)
    if not folder.is_dir():
        reason = _link_problem(folder) or "config folder not found; pass --config"
        problem = ConfigProblem(str(root), 0, 0, reason)
        return Loaded(_Loading(folder).repository(), (problem,))
    if not LIBYAML:
        log.warning("event=config.slow_parser reason=libyaml_missing")

    loading = _Loading(folder)
    with _collector_paused():
        loading.run()
    repository = loading.repository()
    if loading.problems:
        log.info(
            "event=config.invalid root=%s problems=%d", root, len(loading.problems)
        )
    else:
        log.info(
            "event=config.loaded root=%s stores=%d vendors=%d products=%d",
            folder,
            len(repository.stores),
            len(repository.vendors),
            len(repository.vendor_of),
        )
    return Loaded(
        repository,
        tuple(loading.problems),
        tuple(loading.stand_ins()),
        tuple(loading.vendor_stand_ins(repository)),
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a repository loads.

    A load allocates a few hundred thousand nodes, mappings and marks that all
    stay alive until it ends and form no reference cycles, so every collection
    the allocations trigger walks them for nothing: about a quarter of the
    load time on 10,000 products. The collector's previous state comes back
    afterwards, also when the load raises.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_interval(value: int | str) -> int:
    """``30s``, ``5m``, ``1h`` or a whole number, as seconds.

    Only for a value the schema passed; anything else is a ``ValueError``.
    """
    return _seconds(interval_seconds(value), value, "an interval")


def parse_timeout(value: int | str) -> int:
    """A channel timeout (``10s``, ``2m`` or a whole number) as seconds.

    Only for a value the schema passed; anything else is a ``ValueError``.
    """
    return _seconds(timeout_seconds(value), value, "a timeout")


def _inside(root: Path, relative: str) -> bool:
    """Whether ``relative`` names a path inside ``root`` (links resolved)."""
    return (root / relative).resolve().is_relative_to(root.resolve())


def _seconds(seconds: int | None, value: int | str, what: str) -> int:
    if seconds is None:
        raise ValueError(f"not {what} the schema allows: {value!r}")
    return seconds


def parse_share(value: float | str) -> float:
    """``5%`` or a number between 0 and 1, as a fraction."""
    if isinstance(value, str):
        return float(value.removesuffix("%")) / 100
    return float(value)


@dataclass
class _Loading:
    """One load of one repository: the parsed files and what was built."""

    root: Path
    problems: list[ConfigProblem] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    defaults: SyncOverride = field(default_factory=SyncOverride)
    stores: list[StoreConfig] = field(default_factory=list)
    vendors: list[VendorConfig] = field(default_factory=list)
    refs: list[StoreRef] = field(default_factory=list)
    store_files: set[str] = field(default_factory=set)
    known_stores: set[str] = field(default_factory=set)
    misplaced: set[str] = field(default_factory=set)
    failed_stores: list[YamlFile] = field(default_factory=list)
    failed_vendors: list[YamlFile] = field(default_factory=list)

    def run(self) -> None:
        self.refuse_settings_variants()
        settings = self.read(SETTINGS_FILE, "reconciler")
        if settings is not None:
            self.build_settings(settings)

        store_paths = self.files("stores")
        if not store_paths:
            self.no_stores()
        for path in store_paths:
            document = self.read(path, "store")
            if document is not None:
                self.stores.append(self.build_store(document))
            if path not in self.misplaced:
                self.store_files.add(Path(path).stem)

        self.known_stores = {*self.store_files, *(s.name for s in self.stores)}
        for path in self.files("vendors"):
            vendor = self.read_vendor(path)
            if vendor is not None:
                self.vendors.append(vendor)

        self.problems += cross_file_problems(
            self.stores, self.vendors, self.refs, self.store_files
        )

    def no_stores(self) -> None:
        """A repository without a store is a wrong folder more often than an
        empty config (``--config .``, ``--config config/stores``): say so,
        unless the stores folder already has a problem of its own."""
        if any(problem.path.startswith("stores") for problem in self.problems):
            return
        if (self.root / "stores").is_dir():
            reason = "no store file (stores/*.yaml); a config needs at least one store"
            self.problems.append(ConfigProblem("stores", 0, 0, reason))
            return
        reason = "no stores/ folder; is this the config repository?"
        self.problems.append(ConfigProblem(str(self.root), 0, 0, reason))

    def files(self, folder: str) -> list[str]:
        """The ``.yaml`` files of a folder.

        A YAML file the loader would not read (``.yml``, ``.YAML``, or one
        in a subfolder) is refused, not skipped: skipped, its settings would
        silently not apply. Hidden files and folders are never refused (a
        hidden ``.yaml`` file is read, as any other).
        """
        directory = self.root / folder
        if not directory.is_dir():
            reason = _link_problem(directory)
            if reason is not None:
                self.refuse(folder, reason)
            return []
        paths = []
        for entry in self.listing(folder, directory):
            name = entry.name
            if name.endswith(".yaml"):
                paths.append(f"{folder}/{name}")
            elif name.startswith("."):
                continue
            elif entry.is_dir():
                self.refuse_subfolder(folder, entry)
            elif _yaml_named(name):
                self.refuse(f"{folder}/{name}", _rename(directory, name))
        return paths

    def refuse_subfolder(self, folder: str, subfolder: Path) -> None:
        """Each YAML file under ``subfolder``, which the loader does not read."""
        directory = self.root / folder
        for inside, names in _visible_files(subfolder):
            for name in names:
                if not _yaml_named(name):
                    continue
                path = (inside / name).relative_to(self.root).as_posix()
                target = f"{folder}/{_yaml_stem(name)}.yaml"
                if _taken(directory / f"{_yaml_stem(name)}.yaml", inside / name):
                    reason = (
                        f"subfolders are not read, and {target} exists already; "
                        "merge the two files"
                    )
                else:
                    reason = f"subfolders are not read; move it to {target}"
                self.refuse(path, reason)

    def refuse_settings_variants(self) -> None:
        """``reconciler.yml`` and other spellings, which the loader does not
        read, and folders named like ``stores/`` or ``vendors/`` but not so
        (``store/``, ``Vendors/``) that hold YAML files."""
        for entry in self.listing(str(self.root), self.root):
            name = entry.name
            if entry.is_dir():
                self.refuse_folder_variant(entry)
            elif name != SETTINGS_FILE and name.lower() in _SETTINGS_NAMES:
                self.refuse(name, _rename(self.root, name, SETTINGS_FILE))
            elif _yaml_like(name) and not name.startswith("."):
                self.refuse_stray_file(entry)

    def refuse_stray_file(self, path: Path) -> None:
        """A store or vendor file beside ``reconciler.yaml``, where it is not
        read; other YAML files there are not the config's and stay alone."""
        if not (self.root / "stores").is_dir():
            return  # the wrong folder, most likely: ``no_stores`` says so
        kind = _top_level_kind(path)
        if kind is None:
            return
        folder = "stores" if kind == "store" else "vendors"
        target = f"{folder}/{_yaml_stem(path.name)}.yaml"
        self.refuse(
            path.name,
            f"a {kind} file is read only in {folder}/; move it to {target}",
        )

    def refuse_folder_variant(self, folder: Path) -> None:
        meant = _FOLDER_VARIANTS.get(folder.name.lower())
        if meant is None or folder.name == meant:
            return
        if not any(
            _yaml_like(entry.name) for entry in self.listing(folder.name, folder)
        ):
            return
        if (self.root / meant).exists():
            reason = f"folder not read: only {meant}/ is; move its files into {meant}/"
        else:
            reason = f"folder not read: only {meant}/ is; rename it to {meant}/"
        self.refuse(f"{folder.name}/", reason)

    def listing(self, path: str, directory: Path) -> list[Path]:
        """The entries of a folder, sorted; none when it cannot be listed."""
        try:
            return sorted(directory.iterdir())
        except OSError as error:
            self.refuse(path, _unreadable(error))
            return []

    def refuse(self, path: str, reason: str) -> None:
        """A problem of a whole file or folder."""
        self.problems.append(ConfigProblem(path, 0, 0, reason))

    def read(self, path: str, kind: FileKind) -> YamlFile | None:
        """The parsed, schema-valid file, or None (its problems recorded)."""
        document = self.parse(path, kind)
        if document is None or self.refuse_misplaced(document, kind):
            return None

        if _checkable(document):
            validate_file(document, kind)
        return self.accepted(document, kind)

    def read_vendor(self, path: str) -> VendorConfig | None:
        """A vendor file, its product entries checked while they are built.

        Checking 10,000 product entries against the schema and then reading
        them again costs more than reading them once with the schema's rules
        inline. When every entry is in that plainly valid form, the schema
        check leaves ``products`` aside; otherwise the file takes the general
        path, whose checks report every problem.
        """
        document = self.parse(path, "vendor")
        if document is None or self.refuse_misplaced(document, "vendor"):
            return None

        plain = None
        if not document.problems:
            plain = _PlainProducts.read(document, self.known_stores)
        if _checkable(document):
            apart = "products" if plain is not None else None
            validate_file(document, "vendor", checked_apart=apart)
        if self.accepted(document, "vendor") is None:
            return None
        return self.build_vendor(document, plain)

    def parse(self, path: str, kind: FileKind) -> YamlFile | None:
        """The file parsed (its problems inside), or None when it is unreadable."""
        location = self.root / path
        if kind == "reconciler" and not location.is_symlink() and not location.exists():
            return None
        try:
            data = location.read_bytes()
        except OSError as error:
            reason = _link_problem(location) or _unreadable(error)
            self.problems.append(ConfigProblem(path, 0, 0, reason))
            return None
        return parse_yaml(data, path)

    def refuse_misplaced(self, document: YamlFile, kind: FileKind) -> bool:
        """Whether the file is of the other kind: a vendor file in stores/ or
        a store file in vendors/.

        Such a file gets one problem that says where it belongs, beside the
        problems of its reading, rather than every way it breaks the schema
        of the folder it is in.
        """
        other = _OTHER_KIND.get(kind)
        root = document.root
        if other is None or not isinstance(root, YamlMap):
            return False
        if other not in root or kind in root:
            return False
        name = PurePosixPath(document.path).name
        document.problem(
            root.key_mark(other),
            f"this looks like a {other} file (it has `{other}:`); "
            f"move it to {other}s/{name}",
        )
        self.problems += document.problems
        self.misplaced.add(document.path)
        return True

    def accepted(self, document: YamlFile, kind: FileKind) -> YamlFile | None:
        """The validated file, or None once its problems are recorded."""
        _refuse_ambiguous(document, kind)
        if kind == "store" and not document.problems:
            self.check_channel(document)
        self.problems += document.problems
        if kind == "store" and document.problems:
            self.failed_stores.append(document)
        if kind == "vendor" and document.problems:
            self.failed_vendors.append(document)
        return None if document.problems else document

    def stand_ins(self) -> list[StoreConfig]:
        """Stores of the store files that failed, as far as the two-masters
        check needs them: a name and a direction (see ``Loaded``)."""
        known = {store.name for store in self.stores}
        found = []
        for document in self.failed_stores:
            stand_in = self.stand_in(document)
            if stand_in is not None and stand_in.name not in known:
                known.add(stand_in.name)
                found.append(stand_in)
        return found

    def vendor_stand_ins(self, repository: Repository) -> list[VendorConfig]:
        """Vendors of the vendor files that failed, as far as the two-masters
        check needs them: valid directions, on SKUs no passing file lists."""
        known = set(repository.vendors)
        listed = set(repository.vendor_of)
        found = []
        for document in self.failed_vendors:
            stand_in = self.vendor_stand_in(document, listed)
            if stand_in is not None and stand_in.name not in known:
                known.add(stand_in.name)
                listed.update(stand_in.products)
                found.append(stand_in)
        return found

    def vendor_stand_in(
        self, document: YamlFile, listed: set[str]
    ) -> VendorConfig | None:
        root = document.root
        name = root.get("vendor") if isinstance(root, YamlMap) else None
        if not isinstance(name, str) or not name.strip():
            return None
        sync = _submap(_submap(root, "inventory_feed"), "sync")
        products = {
            sku: Product(
                sku,
                self.mark(document, entries.key_mark(sku)),
                self.direction_only(document, _submap(entries, sku)),
                self.directions_by_store(document, _submap(entries, sku)),
            )
            for entries in [_submap(root, "products")]
            for sku in entries
            if isinstance(sku, str) and sku not in listed
        }
        return VendorConfig(
            name=name,
            mark=self.mark(document, root.value_mark("vendor")),
            override=self.direction_only(document, sync),
            stores=self.directions_by_store(document, sync),
            products=products,
        )

    def directions_by_store(
        self, document: YamlFile, level: YamlMap
    ) -> dict[str, SyncOverride]:
        stores = _submap(level, "stores")
        return {
            store: self.direction_only(document, _submap(stores, store))
            for store in stores
            if isinstance(store, str)
        }

    def direction_only(self, document: YamlFile, level: YamlMap) -> SyncOverride:
        """The level's ``direction`` when it is valid; nothing else of it."""
        value = level.get("direction")
        if not isinstance(value, str) or value not in _DIRECTIONS:
            return _UNSET
        mark = self.mark(document, level.value_mark("direction"))
        return SyncOverride(direction=Setting(_DIRECTIONS[value], mark))

    def stand_in(self, document: YamlFile) -> StoreConfig | None:
        root = document.root
        if not isinstance(root, YamlMap):
            return None
        name = root.get("store")
        inventory = root.get("inventory")
        if not isinstance(name, str) or not name.strip():
            return None
        direction = self.defaults.direction
        if isinstance(inventory, YamlMap) and "direction" in inventory:
            value = inventory.get("direction")
            if not isinstance(value, str) or value not in _DIRECTIONS:
                return None  # its direction is one of the problems
            mark = self.mark(document, inventory.value_mark("direction"))
            direction = Setting(_DIRECTIONS[value], mark)
        if direction is None:
            return None
        return StoreConfig(
            name=name,
            mark=self.mark(document, root.value_mark("store")),
            channel=_STAND_IN_CHANNEL,
            defaults=SyncOverride(direction=direction),
        )

    def check_channel(self, document: YamlFile) -> None:
        """A seed belongs to a sandbox endpoint and must exist."""
        channel: YamlMap = document.root["channel"]
        seed = channel.get("seed")
        if seed is None:
            return
        where = channel.value_mark("seed")
        if not str(channel.get("endpoint", "")).startswith(SANDBOX):
            document.problem(
                where, "channel.seed: only a sandbox:// endpoint has a seed"
            )
        elif not _inside(self.root, seed):
            document.problem(
                where,
                f"channel.seed: `{seed}` is outside the config folder; keep the "
                f"export inside it (the daemon reads a snapshot of the folder)",
            )
        elif not (self.root / seed).is_file():
            document.problem(
                where, f"channel.seed: no file `{seed}` under the config folder"
            )

    def mark(self, document: YamlFile, where: tuple[int, int]) -> Mark:
        return Mark(document.path, where[0], where[1])

    def guard(
        self, document: YamlFile, section: YamlMap | None, fallback: Guard
    ) -> Guard:
        """The section's limits, each with its mark; unset ones from ``fallback``."""
        if not section:
            return fallback
        zeroed, changed = "max_zeroed", "max_changed"
        return Guard(
            max_zeroed=parse_share(section.get(zeroed, fallback.max_zeroed)),
            max_changed=parse_share(section.get(changed, fallback.max_changed)),
            zeroed_mark=(
                self.mark(document, section.value_mark(zeroed))
                if zeroed in section
                else fallback.zeroed_mark
            ),
            changed_mark=(
                self.mark(document, section.value_mark(changed))
                if changed in section
                else fallback.changed_mark
            ),
        )

    def token_mark(self, document: YamlFile) -> Mark | None:
        channel: YamlMap = document.root["channel"]
        if "token" not in channel:
            return None
        return self.mark(document, channel.value_mark("token"))

    def build_settings(self, document: YamlFile) -> None:
        root: YamlMap = (
            document.root if document.root is not None else YamlMap.empty((1, 1))
        )
        defaults = root.get("defaults") or YamlMap.empty(root.mark)
        self.defaults = _override(document, defaults)
        self.settings = Settings(
            state_url=root.get("state", Settings().state_url),
            default_direction=Direction(defaults.get("direction", Direction.NONE)),
            default_mode=Mode(defaults.get("mode", Mode.AUTOMATIC)),
            default_interval=parse_interval(defaults.get("interval", 300)),
            guard=self.guard(document, root.get("guard"), Guard()),
            mark=self.mark(document, root.mark),
        )

    def build_store(self, document: YamlFile) -> StoreConfig:
        root: YamlMap = document.root
        inventory = root.get("inventory") or YamlMap.empty(root.mark)
        own = _override(document, inventory)
        return StoreConfig(
            name=root["store"],
            mark=self.mark(document, root.value_mark("store")),
            channel=_channel(root["channel"], self.token_mark(document)),
            defaults=SyncOverride(
                direction=own.direction or self.defaults.direction,
                mode=own.mode or self.defaults.mode,
                interval=own.interval or self.defaults.interval,
                manage_inventory=own.manage_inventory,
            ),
            guard=self.guard(document, root.get("guard"), self.settings.guard),
            suspended=root.get("suspended", False),
            suspended_mark=(
                self.mark(document, root.value_mark("suspended"))
                if "suspended" in root
                else None
            ),
            negative_stock=NegativeStock(
                inventory.get("negative_stock", NegativeStock.PUSH_ZERO)
            ),
        )

    def build_vendor(
        self, document: YamlFile, plain: _PlainProducts | None = None
    ) -> VendorConfig:
        root: YamlMap = document.root
        name: str = root["vendor"]
        feed = root.get("inventory_feed") or YamlMap.empty(root.mark)
        sync = feed.get("sync") or YamlMap.empty(feed.mark)
        stores = self.per_store(document, sync, f"vendor `{name}`")
        if plain is None:
            products = self.products(
                document, root.get("products") or YamlMap.empty(root.mark)
            )
        else:
            products = plain.products
            self.refs += plain.refs
        return VendorConfig(
            name=name,
            mark=self.mark(document, root.value_mark("vendor")),
            feed=_feed(feed),
            override=_override(document, sync),
            stores=stores,
            products=products,
        )

    def products(self, document: YamlFile, products: YamlMap) -> dict[str, Product]:
        built = {}
        path = document.path
        nodes = products.nodes
        for sku, body in products.items():
            start = nodes[sku][0].start_mark
            mark = Mark(path, start.line + 1, start.column + 1)
            if not body:
                built[sku] = Product(sku, mark, _UNSET, {})
                continue
            stores = body.get("stores")
            built[sku] = Product(
                sku,
                mark,
                _override(document, body),
                self.per_store(document, body, f"product `{sku}`") if stores else {},
            )
        return built

    def per_store(
        self, document: YamlFile, level: YamlMap, owner: str
    ) -> dict[str, SyncOverride]:
        """The ``stores:`` overrides of a level, remembering each store named."""
        stores: YamlMap | None = level.get("stores")
        if not stores:
            return {}
        for name in stores:
            if name in self.known_stores:
                continue  # only an unknown store is ever reported
            mark = self.mark(document, stores.key_mark(name))
            self.refs.append(StoreRef(name, mark, owner))
        return {
            name: _override(document, body or YamlMap.empty(stores.key_mark(name)))
            for name, body in stores.items()
        }

    def repository(self) -> Repository:
        vendor_of = {
            sku: vendor.name for vendor in self.vendors for sku in vendor.products
        }
        return Repository(
            root=str(self.root),
            settings=self.settings,
            stores={store.name: store for store in self.stores},
            vendors={vendor.name: vendor for vendor in self.vendors},
            vendor_of=vendor_of,
        )


def _submap(level: YamlMap, key: str) -> YamlMap:
    """``level[key]`` when it is a mapping, else an empty one."""
    value = level.get(key)
    return value if isinstance(value, YamlMap) else YamlMap.empty(level.mark)


_STAND_IN_CHANNEL = ShopifyChannel("stand-in://failed-store-file", "", "", None)
"""The channel of a stand-in store, which nothing reads: stand-ins only take
part in the two-masters check."""


_FOLDER_VARIANTS = {
    "stores": "stores",
    "store": "stores",
    "vendors": "vendors",
    "vendor": "vendors",
}
"""Folder names, case folded, that mean the config's ``stores/`` or ``vendors/``."""


_TOP_LEVEL_KIND = re.compile(r"^(store|vendor):", re.MULTILINE)


def _top_level_kind(path: Path) -> str | None:
    """``store`` or ``vendor`` when the file's top level names one, else None."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = _TOP_LEVEL_KIND.search(text)
    return found.group(1) if found else None


def _yaml_like(name: str) -> bool:
    return name.lower().endswith((".yaml", ".yml"))


def _link_problem(path: Path) -> str | None:
    """Why a symbolic link cannot be followed, or None when it can (or is none).

    Without this, a link loop or a link to nothing reads as a missing file or
    folder, or is skipped as an absent ``reconciler.yaml``.
    """
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except OSError as error:
        if error.errno == errno.ENOENT:
            target = path.readlink()
            return f"cannot be read: symbolic link to `{target}`, which is missing"
        return _unreadable(error)
    return None


_OTHER_KIND: dict[FileKind, FileKind] = {"store": "vendor", "vendor": "store"}
"""The kind a file in stores/ or vendors/ may have been meant as."""

_YAML_SUFFIXES = (".yaml", ".yml")
_SETTINGS_NAMES = frozenset(f"reconciler{suffix}" for suffix in _YAML_SUFFIXES)


def _yaml_named(name: str) -> bool:
    """Whether a file name ends in ``.yaml`` or ``.yml``, in any case."""
    return name.lower().endswith(_YAML_SUFFIXES)


def _yaml_stem(name: str) -> str:
    return name.rpartition(".")[0]


def _rename(directory: Path, name: str, target: str = "") -> str:
    """Why a YAML file is not read under ``name``, and which name it needs."""
    target = target or f"{_yaml_stem(name)}.yaml"
    if name.endswith(".yaml"):
        why = f"file names are case-sensitive and only {target} is read"
    else:
        why = "only .yaml files are read"
    if _taken(directory / target, directory / name):
        return f"{why}, and {target} exists already; merge the two files"
    return f"{why}; rename it to {target}"


def _taken(target: Path, source: Path) -> bool:
    """Whether another file than ``source`` already has the name ``target``
    (on a case-insensitive file system the two may be one file)."""
    try:
        return target.exists() and not target.samefile(source)
    except OSError:
        return False


def _visible_files(folder: Path) -> Iterator[tuple[Path, list[str]]]:
    """Each folder under ``folder`` (itself included) with its file names,
    hidden files and folders left out.

    Links to folders are not followed, and a ``folder`` that is a link is
    looked into alone: a link may lead anywhere, as far as ``/``.
    """
    linked = folder.is_symlink()
    for inside, folders, names in os.walk(folder):
        folders[:] = [] if linked else sorted(n for n in folders if n[0] != ".")
        yield Path(inside), sorted(n for n in names if not n.startswith("."))


def _unreadable(error: OSError) -> str:
    """The reason an ``OSError`` gives, without the absolute path it names."""
    if error.errno == errno.ELOOP:
        return "cannot be read: symbolic link loop"
    return f"cannot be read: {error.strerror or error}"


def _checkable(document: YamlFile) -> bool:
    """Whether a file's schema check can say more than its reading did.

    A file read with problems (a duplicate key, a refused key or tag) is
    still checked, so that one run tells every problem; one whose reading
    gave nothing (a syntax error, tabs, an alias bomb) is not.
    """
    return document.root is not None or not document.problems


def _refuse_ambiguous(document: YamlFile, kind: FileKind) -> None:
    """A plain scalar other YAML readers take for a non-string is refused.

    Schema errors already explain the ones they caught. The rest are names,
    SKUs and other text written plain, which get the generic fix (quote it),
    or values the schema did not reach (under a misspelt key), which get the
    fix their key's schema gives, when quoting would not do.
    """
    reported = {(problem.line, problem.column) for problem in document.problems}
    left = {where for where in document.ambiguous if where not in reported}
    keys = _keys_of_values(document.root, left) if left else {}
    for where in sorted(left):
        scalar = document.ambiguous[where]
        key = keys.get(where)
        fix = None if key is None else text_fix(kind, key, scalar.text)
        fix = fix or f'quote it ("{scalar.text}") if you mean the text'
        document.problem(where, f"{scalar.describe()}; {fix}")


def _keys_of_values(root: Any, wanted: set[Position]) -> dict[Position, str]:
    """The key each text at a ``wanted`` position is the value of."""
    found: dict[Position, str] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, YamlMap):
            for key, value in node.items():
                if not isinstance(value, str):
                    pending.append(value)
                elif (where := node.value_mark(key)) in wanted:
                    found[where] = key
        elif isinstance(node, list):
            pending.extend(node)
    return found


_UNSET = SyncOverride()
_DIRECTIONS = {direction.value: direction for direction in Direction}
_MODES = {mode.value: mode for mode in Mode}
_READERS: dict[str, Callable[[Any], Any]] = {
    "direction": _DIRECTIONS.__getitem__,
    "mode": _MODES.__getitem__,
    "interval": parse_interval,
    "manage_inventory": bool,
}


def _override(document: YamlFile, level: YamlMap) -> SyncOverride:
    """The settings a level sets, each with the mark of its value.

    Walks the level's own keys once (a product sets one or two settings)
    rather than asking for each of the four; enum members come from a table,
    as ``Direction(text)`` costs a microsecond and there are thousands.
    """
    if not level:
        return _UNSET
    found: dict[str, Setting[Any]] = {}
    path, nodes = document.path, level.nodes
    for key, value in level.items():
        read = _READERS.get(key)
        if read is not None:
            start = nodes[key][1].start_mark
            mark = Mark(path, start.line + 1, start.column + 1)
            found[key] = Setting(read(value), mark)
    return SyncOverride(**found) if found else _UNSET


_interval_text = lru_cache(maxsize=256)(interval_seconds)
"""Seconds of ``30s``-style text; a file repeats a few such texts."""


def _plain_interval(value: Any) -> int | None:
    """Seconds of a whole number or ``30s``-style text the schema allows."""
    if value.__class__ is int:
        return int(value) if MIN_INTERVAL <= value <= MAX_INTERVAL else None
    return _interval_text(value) if value.__class__ is str else None


_PLAIN_READERS: dict[str, tuple[int, Callable[[Any], Any]]] = {
    "direction": (
        0,
        lambda value: _DIRECTIONS.get(value) if value.__class__ is str else None,
    ),
    "mode": (1, lambda value: _MODES.get(value) if value.__class__ is str else None),
    "interval": (2, _plain_interval),
    "manage_inventory": (
        3,
        lambda value: value if value.__class__ is bool else None,
    ),
}
"""Each setting's place in ``SyncOverride`` and its reader, which gives the
typed value, or None for a value outside the plain form."""

_new = tuple.__new__
"""Builds a ``NamedTuple`` from its fields in one C call: half the cost of
its ``__new__``, in a loop that builds about 50,000 of them."""


def _plain_override(path: str, level: YamlMap, skip: str = "") -> SyncOverride | None:
    """``_override`` of a level whose keys and values the schema allows.

    None for any other level (an unknown key, a value of the wrong type or
    outside its choices), which the general path then reports. ``skip`` is a
    key the caller reads itself.
    """
    found: list[Setting[Any] | None] | None = None
    nodes = level.nodes
    for key, value in level.items():
        place_and_reader = _PLAIN_READERS.get(key)
        if place_and_reader is None:
            if key == skip:
                continue
            return None
        place, read = place_and_reader
        typed = read(value)
        if typed is None:
            return None

        start = nodes[key][1].start_mark
        mark = _new(Mark, (path, start.line + 1, start.column + 1))
        found = found or [None, None, None, None]
        found[place] = _new(Setting, (typed, mark))
    return _UNSET if found is None else _new(SyncOverride, found)


@dataclass
class _PlainProducts:
    """A vendor's product entries, read with the rules of the product schema.

    The same ``Product`` values the general path builds, and the same store
    references in the same order; the general path stays the one that
    explains problems.
    """

    path: str
    known_stores: set[str]
    products: dict[str, Product] = field(default_factory=dict)
    refs: list[StoreRef] = field(default_factory=list)

    @classmethod
    def read(cls, document: YamlFile, known_stores: set[str]) -> _PlainProducts | None:
        """Every entry built, or None when any entry is not plainly valid."""
        root = document.root
        if root.__class__ is not YamlMap or "products" not in root:
            return None
        entries = root["products"]
        if entries.__class__ is not YamlMap:
            return None

        reader = cls(document.path, known_stores)
        for sku, body in entries.items():
            start = entries.nodes[sku][0].start_mark
            mark = Mark(reader.path, start.line + 1, start.column + 1)
            product = reader.product(sku, mark, body) if _plain_sku(sku) else None
            if product is None:
                return None
            reader.products[sku] = product
        return reader

    def product(self, sku: str, mark: Mark, body: Any) -> Product | None:
        if body is None:
            return Product(sku, mark, _UNSET, {})
        if body.__class__ is not YamlMap:
            return None
        override = _plain_override(self.path, body, skip="stores")
        if override is None:
            return None

        if "stores" not in body:
            return Product(sku, mark, override, {})
        per_store = self.per_store(body["stores"], f"product `{sku}`")
        return None if per_store is None else Product(sku, mark, override, per_store)

    def per_store(self, stores: Any, owner: str) -> dict[str, SyncOverride] | None:
        """The ``stores:`` overrides of a product, noting each unknown store."""
        if stores.__class__ is not YamlMap:
            return None
        built: dict[str, SyncOverride] = {}
        for name, body in stores.items():
            if name not in self.known_stores:
                start = stores.nodes[name][0].start_mark
                mark = Mark(self.path, start.line + 1, start.column + 1)
                self.refs.append(StoreRef(name, mark, owner))
            if body is None:
                built[name] = _UNSET
            elif body.__class__ is YamlMap:
                override = _plain_override(self.path, body)
                if override is None:
                    return None
                built[name] = override
            else:
                return None
        return built


def _plain_sku(sku: str) -> bool:
    """Not empty, and no surrounding whitespace (the schema's ``propertyNames``)."""
    return bool(sku) and not sku[0].isspace() and not sku[-1].isspace()


def _token_env(channel: YamlMap) -> str | None:
    token: str | None = channel.get("token")
    return token[2:-1] if token else None


def _channel(channel: YamlMap, token_mark: Mark | None) -> Channel:
    if channel["type"] == "shopify":
        shop = channel.get("shop")
        return ShopifyChannel(
            endpoint=f"https://{shop}" if shop else channel["endpoint"],
            api_version=channel.get("api_version", DEFAULT_API_VERSION),
            location=channel["location"],
            token_env=_token_env(channel),
            activate_unstocked=channel.get("activate_unstocked", False),
            seed=channel.get("seed"),
            timeout=_timeout(channel),
            token_mark=token_mark,
        )
    base_url = channel.get("base_url")
    return MagentoChannel(
        endpoint=base_url.rstrip("/") if base_url else channel["endpoint"],
        store_code=channel.get("store_code", DEFAULT_STORE_CODE),
        source=channel.get("source"),
        token_env=_token_env(channel),
        manage_stock_default=channel.get("manage_stock_default", True),
        seed=channel.get("seed"),
        bulk=channel.get("bulk", False),
        recheck=channel.get("recheck", False),
        timeout=_timeout(channel),
        token_mark=token_mark,
    )


def _timeout(channel: YamlMap) -> int:
    return parse_timeout(channel.get("timeout", DEFAULT_CHANNEL_TIMEOUT))


def _feed(feed: YamlMap) -> InventoryFeed | None:
    if "source" not in feed:
        return None
    columns = feed.get("columns") or {}
    return InventoryFeed(
        source=feed["source"],
        sku_column=columns.get("sku", "sku"),
        quantity_column=columns.get("quantity", "quantity"),
    )
