"""The hub: its state store and the import batches that feed it."""

from reconciler.hub.imports import ImportBatch, ImportRow, apply_import, parse_import
from reconciler.hub.state import DEFAULT_STATE_URL, SqlStateStore, open_state

__all__ = [
    "DEFAULT_STATE_URL",
    "ImportBatch",
    "ImportRow",
    "SqlStateStore",
    "apply_import",
    "open_state",
    "parse_import",
]
