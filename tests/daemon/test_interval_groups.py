"""A real daemon syncs a product on the product's own interval.

The store passes every 10 minutes; one product says ``interval: 1s``. After
both that product and another drift on the channel, the daemon restores the
fast one within seconds, with passes that read and write only it, while the
other waits for the store's interval.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.daemon.conftest import (
    SKUS,
    DaemonProcess,
    Emulators,
    one_outlet,
    wait_for,
)

FAST, SLOW = "MH01-XS-Black", "MH02-S-Red"


def test_a_product_interval_shorter_than_the_store_s_is_kept(
    tmp_path: Path,
    emulators_for: Callable[..., Emulators],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    outlet = one_outlet(tmp_path, emulators_for, "10m")
    served = outlet.served
    vendor = outlet.config / "vendors" / "acme.yaml"
    vendor.write_text(
        vendor.read_text().replace(f'"{FAST}": {{}}', f'"{FAST}": {{interval: 1s}}')
    )
    daemon = start_daemon(outlet.config, outlet.state)
    wait_for(lambda: "event=daemon.pass " in daemon.text(), 60, "the first pass")

    served.set_quantity("outlet", FAST, 3)
    served.set_quantity("outlet", SLOW, 3)
    drifted = len(served.writes("outlet"))
    wait_for(
        lambda: served.stock("outlet")[FAST] == SKUS[FAST], 60, "the fast SKU back"
    )
    stock = served.stock("outlet")
    writes = [sku for sku, _ in served.writes("outlet")[drifted:]]
    code = daemon.terminate()

    assert code == 0
    assert stock[SLOW] == 3
    assert writes == [FAST]
    assert "event=daemon.pass.due" in daemon.text()
    assert "intervals=1s sku_count=1" in daemon.text()
