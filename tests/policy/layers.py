"""One SKU whose settings are set at any chosen levels, each with its own mark.

Shared by the precedence table and the property test: ``build`` places a
``SyncOverride`` at each named level of store ``shop``, vendor ``acme`` and
product ``MH01-XS-Black``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.config.model import Repository, SyncOverride
from reconciler.policy import Level

from .builders import UNSET, product, repository, store, vendor

SKU = "MH01-XS-Black"
STORE = "shop"
OTHER = "other"
VENDOR = "acme"
VENDOR_FILE = "vendors/acme.yaml"

# The line each level's settings start at in its file.
LINES = {
    Level.PRODUCT_STORE: 40,
    Level.PRODUCT: 30,
    Level.VENDOR_STORE: 20,
    Level.VENDOR: 10,
    Level.STORE: 10,
}


def path_of(level: Level) -> str:
    return f"stores/{STORE}.yaml" if level is Level.STORE else VENDOR_FILE


def build(
    levels: Mapping[Level, SyncOverride],
    elsewhere: SyncOverride = UNSET,
) -> Repository:
    """The repository; ``elsewhere`` is set for store ``other`` at both store levels."""
    shop = store(STORE, None, mode=None, interval=None)
    if Level.STORE in levels:
        shop = replace(shop, defaults=levels[Level.STORE])

    item = product(
        SKU,
        LINES[Level.PRODUCT],
        levels.get(Level.PRODUCT, UNSET),
        _per_store(levels.get(Level.PRODUCT_STORE), elsewhere),
    )
    acme = vendor(
        VENDOR,
        levels.get(Level.VENDOR, UNSET),
        _per_store(levels.get(Level.VENDOR_STORE), elsewhere),
        [item],
    )
    return repository([shop, store(OTHER)], [acme])


def _per_store(
    here: SyncOverride | None, elsewhere: SyncOverride
) -> dict[str, SyncOverride]:
    stores = {} if elsewhere.is_empty() else {OTHER: elsewhere}
    if here is not None:
        stores[STORE] = here
    return stores
