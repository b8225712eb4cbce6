"""Product entries read with the schema's rules inline: same model, same problems.

The loader builds a vendor's product entries in one pass when every entry is
plainly valid, and sends the file down the general path (schema walk, then
build) otherwise. These tests hold both ends: each valid form loads into the
exact ``Product`` the general path built, and each invalid form is still
reported with its place and message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_repository
from reconciler.config.model import (
    Direction,
    Mark,
    Mode,
    Product,
    Setting,
    SyncOverride,
)
from reconciler.errors import ConfigInvalid, ConfigProblem

STORE = """\
store: {name}
channel:
  type: magento
  endpoint: sandbox://{name}
inventory:
  direction: hub_to_channel
"""

VENDOR = "vendor: acme\nproducts:\n"
PATH = "vendors/acme.yaml"


def _repository(tmp_path: Path, entries: str) -> Path:
    (tmp_path / "stores").mkdir()
    (tmp_path / "vendors").mkdir()
    for name in ("eu", "us"):
        (tmp_path / "stores" / f"{name}.yaml").write_text(STORE.format(name=name))
    (tmp_path / PATH).write_text(VENDOR + entries)
    return tmp_path


def _at(line: int, column: int) -> Mark:
    return Mark(PATH, line, column)


VALID = [
    pytest.param("  A-1:\n", Product("A-1", _at(3, 3), SyncOverride(), {}), id="null"),
    pytest.param(
        "  A-1: {}\n", Product("A-1", _at(3, 3), SyncOverride(), {}), id="empty"
    ),
    pytest.param(
        "  A-1:\n    direction: channel_to_hub\n    mode: manual\n",
        Product(
            "A-1",
            _at(3, 3),
            SyncOverride(
                direction=Setting(Direction.CHANNEL_TO_HUB, _at(4, 16)),
                mode=Setting(Mode.MANUAL, _at(5, 11)),
            ),
            {},
        ),
        id="direction-and-mode",
    ),
    pytest.param(
        "  A-1: {interval: 90, manage_inventory: false}\n",
        Product(
            "A-1",
            _at(3, 3),
            SyncOverride(
                interval=Setting(90, _at(3, 19)),
                manage_inventory=Setting(False, _at(3, 41)),
            ),
            {},
        ),
        id="whole-seconds-and-false",
    ),
    pytest.param(
        "  A-1:\n    interval: 2h\n    stores: {}\n",
        Product("A-1", _at(3, 3), SyncOverride(interval=Setting(7200, _at(4, 15))), {}),
        id="text-interval-empty-stores",
    ),
    pytest.param(
        "  A-1: {interval: 168h}\n",
        Product(
            "A-1", _at(3, 3), SyncOverride(interval=Setting(604800, _at(3, 19))), {}
        ),
        id="interval-of-a-week-at-most",
    ),
    pytest.param(
        "  A-1: {interval: 1}\n",
        Product("A-1", _at(3, 3), SyncOverride(interval=Setting(1, _at(3, 19))), {}),
        id="interval-of-a-second-at-least",
    ),
    pytest.param(
        "  A-1:\n    stores:\n      eu:\n      us: {mode: automatic}\n",
        Product(
            "A-1",
            _at(3, 3),
            SyncOverride(),
            {
                "eu": SyncOverride(),
                "us": SyncOverride(mode=Setting(Mode.AUTOMATIC, _at(6, 18))),
            },
        ),
        id="store-overrides",
    ),
]


@pytest.mark.parametrize(("entries", "product"), VALID)
def test_a_plainly_valid_entry_loads_into_the_whole_product(
    tmp_path: Path, entries: str, product: Product
) -> None:
    repository = load_repository(_repository(tmp_path, entries))

    assert dict(repository.vendors["acme"].products) == {"A-1": product}


INVALID = [
    pytest.param(
        "  A-1: {direction: sideways}\n",
        (3, 20),
        "products.A-1.direction: `sideways` is not allowed; write one of "
        "hub_to_channel, channel_to_hub, none",
        id="direction-outside-choices",
    ),
    pytest.param(
        "  A-1: {interval: 0}\n",
        (3, 19),
        "products.A-1.interval: `0` is shorter than 1 second, the shortest "
        "interval allowed; write an interval as 30s, 5m, 1h or a whole number of "
        "seconds",
        id="interval-zero",
    ),
    pytest.param(
        "  A-1: {manage_inventory: 'false'}\n",
        (3, 27),
        "products.A-1.manage_inventory: `false` is text; write true or false",
        id="quoted-boolean",
    ),
    pytest.param(
        "  A-1: {stores: }\n",
        (3, 17),
        "products.A-1.stores is empty; write a mapping",
        id="stores-null",
    ),
    pytest.param(
        "  A-1:\n    stores:\n      eu: [manual]\n",
        (5, 11),
        "products.A-1.stores.eu: got a list; write a mapping or empty",
        id="store-override-list",
    ),
    pytest.param(
        "  A-1:\n    stores:\n      eu: {mod: manual}\n",
        (5, 12),
        "unknown key `mod` in products.A-1.stores.eu; did you mean `mode`? "
        "allowed keys: direction, interval, manage_inventory, mode",
        id="store-override-unknown-key",
    ),
    pytest.param(
        "  A-1: {interval: 1.0}\n",
        (3, 19),
        "products.A-1.interval: `1.0` is not a whole number; write an interval "
        "as 30s, 5m, 1h or a whole number of seconds",
        id="interval-whole-float",
    ),
    pytest.param(
        '  A-1: {interval: "15m\\n"}\n',
        (3, 19),
        "products.A-1.interval: `15m\\n` is not valid; write an interval as "
        "30s, 5m, 1h or a whole number of seconds",
        id="interval-text-with-newline",
    ),
    pytest.param(
        "  A-1: {interval: 99999999999h}\n",
        (3, 19),
        "products.A-1.interval: `99999999999h` is longer than 7 days (168h), the "
        "longest interval allowed; write an interval as 30s, 5m, 1h or a whole "
        "number of seconds",
        id="interval-text-over-a-week",
    ),
    pytest.param(
        "  A-1: {interval: 604801}\n",
        (3, 19),
        "products.A-1.interval: `604801` is longer than 7 days (168h), the "
        "longest interval allowed; write an interval as 30s, 5m, 1h or a whole "
        "number of seconds",
        id="interval-seconds-over-a-week",
    ),
    pytest.param(
        '  A-1: {}\n  "": {}\n',
        (4, 3),
        "products: a SKU must not be empty",
        id="empty-sku",
    ),
    pytest.param(
        '  A-1: {}\n  "  ": {}\n',
        (4, 3),
        "products: a SKU must not be only whitespace",
        id="whitespace-sku",
    ),
    pytest.param(
        '  A-1: {}\n  "A-2 ": {}\n',
        (4, 3),
        "products: SKU `A-2 ` has surrounding whitespace; write it as `A-2`",
        id="sku-with-trailing-space",
    ),
    pytest.param(
        '  "\\tA-2": {mode: manual}\n',
        (3, 3),
        "products: SKU `\\tA-2` has surrounding whitespace; write it as `A-2`",
        id="sku-with-leading-tab-escape",
    ),
    pytest.param(
        "  A-1: manual\n",
        (3, 8),
        "products.A-1: `manual` is text; write a mapping or empty",
        id="entry-is-text",
    ),
]


@pytest.mark.parametrize(("entries", "where", "message"), INVALID)
def test_an_entry_outside_the_plain_form_is_reported(
    tmp_path: Path, entries: str, where: tuple[int, int], message: str
) -> None:
    with pytest.raises(ConfigInvalid) as raised:
        load_repository(_repository(tmp_path, entries))

    assert raised.value.problems == (ConfigProblem(PATH, *where, message),)


def test_stores_named_by_plain_entries_are_checked_after_the_vendor_level(
    tmp_path: Path,
) -> None:
    entries = "  A-1:\n    stores: {mars: {mode: manual}}\n"
    text = VENDOR.replace(
        "products:\n", "inventory_feed:\n  sync:\n    stores: {venus: }\nproducts:\n"
    )
    root = _repository(tmp_path, entries)
    (root / PATH).write_text(text + entries)

    with pytest.raises(ConfigInvalid) as raised:
        load_repository(root)

    known = "known stores: eu, us"
    assert raised.value.problems == (
        ConfigProblem(
            PATH, 4, 14, f"vendor `acme` overrides unknown store `venus`; {known}"
        ),
        ConfigProblem(
            PATH, 7, 14, f"product `A-1` overrides unknown store `mars`; {known}"
        ),
    )
