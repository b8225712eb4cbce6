"""Whole-pass fixtures (the helpers live in ``tests.apply.world``: ``pass`` is a
keyword, so this package cannot be imported by name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apply.world import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    """magento-eu is master (channel_to_hub), magento-uk takes the hub's values."""
    return make_world(tmp_path)
