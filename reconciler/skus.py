"""SKU text as spreadsheets leave it, shared by the import batch and the emulators.

A leaf module (it imports nothing of the reconciler), so that the sandbox
emulators and the hub's import batch read a SKU cell the same way without
one depending on the other.
"""

from __future__ import annotations


def without_apostrophe(cell: str) -> str:
    """The SKU of ``cell`` without Excel's leading apostrophe.

    Excel writes ``'00123`` to keep a numeric SKU as text (and to keep its
    leading zeros); the apostrophe is a marker, not part of the SKU.
    Surrounding spaces go too, before and after the apostrophe.
    """
    text = cell.strip()
    return text[1:].strip() if text.startswith("'") else text
