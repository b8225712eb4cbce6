"""``channel.timeout`` of both channel types: whole seconds, 30 s when unset."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_repository
from reconciler.errors import ConfigInvalid

SHOPIFY = """\
store: shop
channel:
  type: shopify
  endpoint: sandbox://shop
  location: Main
"""

MAGENTO = """\
store: shop
channel:
  type: magento
  endpoint: sandbox://shop
"""

STORES = {"shopify": SHOPIFY, "magento": MAGENTO}
TIMEOUT_LINE = {"shopify": 6, "magento": 5}
KINDS = pytest.mark.parametrize("kind", sorted(STORES))
FIX = "write a timeout as 10s, 2m or a whole number of seconds, from 1s to 10m"


def _load_timeout(root: Path, kind: str, written: str | None) -> int:
    text = STORES[kind] + ("" if written is None else f"  timeout: {written}\n")
    (root / "stores").mkdir()
    (root / "stores" / "shop.yaml").write_text(text, encoding="utf-8")
    return load_repository(root).stores["shop"].channel.timeout


@KINDS
@pytest.mark.parametrize(
    ("written", "seconds"),
    [("10s", 10), ("2m", 120), ("45", 45), ("1s", 1), ("10m", 600), ("600", 600)],
    ids=lambda value: str(value),
)
def test_a_timeout_is_read_as_seconds(
    tmp_path: Path, kind: str, written: str, seconds: int
) -> None:
    assert _load_timeout(tmp_path, kind, written) == seconds


@KINDS
def test_an_unset_timeout_is_thirty_seconds(tmp_path: Path, kind: str) -> None:
    assert _load_timeout(tmp_path, kind, None) == 30


@KINDS
@pytest.mark.parametrize(
    ("written", "fault"),
    [
        ("0s", "`0s` is shorter than 1 second, the shortest timeout allowed"),
        ("0", "`0` is shorter than 1 second, the shortest timeout allowed"),
        ("1d", "`1d` is not valid"),
        ("-3", "`-3` is shorter than 1 second, the shortest timeout allowed"),
        ("fast", "`fast` is not valid"),
        ("2.5", "`2.5` is not a whole number"),
        ("30.0", "`30.0` is not a whole number"),
        ("11m", "`11m` is longer than 10 minutes (10m), the longest timeout allowed"),
        ("601", "`601` is longer than 10 minutes (10m), the longest timeout allowed"),
    ],
    ids=lambda value: str(value),
)
def test_a_bad_timeout_is_refused_at_its_file_and_line(
    tmp_path: Path, kind: str, written: str, fault: str
) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        _load_timeout(tmp_path, kind, written)

    line = TIMEOUT_LINE[kind]
    assert [str(problem) for problem in refused.value.problems] == [
        f"stores/shop.yaml:{line}:12: channel.timeout: {fault}; {FIX}"
    ]
