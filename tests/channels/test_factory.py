"""The channel factory: sandbox stores persist on disk; tokens come from env."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.channels.base import DesiredChange, ItemOutcome, Outcome
from reconciler.channels.factory import open_adapter
from reconciler.channels.magento import MagentoAdapter
from reconciler.clock import FakeClock
from reconciler.config.model import MagentoChannel, Mark, StoreConfig, SyncOverride
from reconciler.errors import ChannelConfigError

SEED = "sku,product_type,qty,is_in_stock,manage_stock,use_config_manage_stock\n"


def magento_store(
    endpoint: str, *, token_env: str | None = None, timeout: int = 30
) -> StoreConfig:
    channel = MagentoChannel(
        endpoint=endpoint,
        store_code="all",
        source=None,
        token_env=token_env,
        seed="fixtures/eu.csv",
        timeout=timeout,
    )
    mark = Mark("stores/magento-eu.yaml", 1, 1)
    return StoreConfig("magento-eu", mark, channel, SyncOverride())


@pytest.fixture
def config_root(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    (root / "fixtures").mkdir(parents=True)
    rows = "A-1,simple,5,1,1,0\nB-2,simple,0,0,1,0\n"
    (root / "fixtures" / "eu.csv").write_text(SEED + rows, encoding="utf-8")
    return root


def test_sandbox_changes_persist_between_two_adapters(
    config_root: Path, tmp_path: Path
) -> None:
    store = magento_store("sandbox://magento-eu")
    state_dir = tmp_path / "state"

    first = open_adapter(store, config_root=config_root, state_dir=state_dir, env={})
    outcomes = first.write([DesiredChange("A-1", "A-1", True, 2, True, 5)])
    first.close()
    second = open_adapter(store, config_root=config_root, state_dir=state_dir, env={})
    item = second.read(["a-1"]).get("A-1")

    assert isinstance(first, MagentoAdapter)
    assert outcomes == [ItemOutcome("A-1", Outcome.APPLIED, quantity_after=2)]
    assert item is not None and item.quantity == 2
    assert sorted(p.name for p in (state_dir / "sandbox" / "magento-eu").iterdir()) == [
        "magento.json"
    ]


def test_seeding_and_reading_a_sandbox_write_nothing(
    config_root: Path, tmp_path: Path
) -> None:
    store = magento_store("sandbox://magento-eu")
    state_dir = tmp_path / "state"

    adapter = open_adapter(store, config_root=config_root, state_dir=state_dir)
    snapshot = adapter.read()

    assert snapshot.items
    assert not state_dir.exists()


def test_missing_seed_names_the_store_and_file(tmp_path: Path) -> None:
    store = magento_store("sandbox://magento-eu")

    with pytest.raises(ChannelConfigError) as raised:
        open_adapter(store, config_root=tmp_path, state_dir=tmp_path / "state")

    assert str(raised.value) == (
        "stores/magento-eu.yaml:1: store magento-eu: channel.seed fixtures/eu.csv is "
        f"needed to start its sandbox and no such file is in {tmp_path}"
    )


def test_missing_token_variable_names_store_and_variable(tmp_path: Path) -> None:
    store = magento_store("https://shop.example.eu", token_env="MAGENTO_EU_TOKEN")

    with pytest.raises(ChannelConfigError) as raised:
        open_adapter(store, config_root=tmp_path, env={"OTHER": "secret-value"})

    assert str(raised.value) == (
        "stores/magento-eu.yaml:1: store magento-eu: environment variable "
        "MAGENTO_EU_TOKEN holding its token is not set"
    )


def test_real_endpoint_needs_a_token_reference(tmp_path: Path) -> None:
    store = magento_store("https://shop.example.eu")

    with pytest.raises(ChannelConfigError, match=r"channel.token is required"):
        open_adapter(store, config_root=tmp_path, env={})


def test_real_endpoint_with_its_token_builds_without_connecting(tmp_path: Path) -> None:
    store = magento_store("https://shop.example.eu/", token_env="MAGENTO_EU_TOKEN")

    adapter = open_adapter(
        store,
        config_root=tmp_path,
        env={"MAGENTO_EU_TOKEN": "t0k3n"},
        clock=FakeClock(),
    )

    assert isinstance(adapter, MagentoAdapter)
    assert str(adapter._client.base_url) == "https://shop.example.eu"
    assert adapter._client.timeout.read == 30.0
    adapter.close()


@pytest.mark.parametrize(
    "endpoint", ["sandbox://magento-eu", "http://127.0.0.1:9/magento-eu"], ids=str
)
@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (30, httpx.Timeout(30.0, connect=10.0)),
        (1, httpx.Timeout(1.0, connect=1.0)),
        (600, httpx.Timeout(600.0, connect=10.0)),
    ],
    ids=["default", "shorter-than-connect", "longest"],
)
def test_the_client_waits_the_configured_timeout(
    endpoint: str, seconds: int, expected: httpx.Timeout, config_root: Path
) -> None:
    store = magento_store(endpoint, timeout=seconds)

    adapter = open_adapter(
        store, config_root=config_root, state_dir=config_root / "state", env={}
    )

    assert isinstance(adapter, MagentoAdapter)
    assert adapter._client.timeout == expected
    adapter.close()


@pytest.mark.parametrize(
    "endpoint", ["ftp://shop.example.eu", "shop.example.eu", "http://"], ids=str
)
def test_an_endpoint_that_is_no_url_is_refused(endpoint: str, tmp_path: Path) -> None:
    store = magento_store(endpoint, token_env="T")

    with pytest.raises(ChannelConfigError, match="is neither sandbox://NAME nor"):
        open_adapter(store, config_root=tmp_path, env={"T": "x"})
