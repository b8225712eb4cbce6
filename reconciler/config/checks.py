"""Checks across the files of a config repository.

Each file may be valid on its own and the repository still wrong: a store file
whose name differs from the file name, an override naming a store that does not
exist, a SKU listed under two vendors, or two SKUs that a channel would treat
as one (Magento compares SKUs case-insensitively; a SKU with surrounding
whitespace, which channels trim, is refused by the vendor schema already).
Two stores master for one SKU is a policy question; see
``reconciler.policy.master_conflicts``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from reconciler.config.model import Mark, Repository, StoreConfig, VendorConfig
from reconciler.errors import ConfigProblem


@dataclass(frozen=True, slots=True)
class StoreRef:
    """A store named by a vendor or product override, and where it was named."""

    store: str
    mark: Mark
    owner: str


def cross_file_problems(
    stores: Sequence[StoreConfig],
    vendors: Sequence[VendorConfig],
    store_refs: Sequence[StoreRef],
    store_files: Collection[str],
) -> list[ConfigProblem]:
    """Every cross-file problem; ``store_files`` are the stems of stores/*.yaml.

    Stores whose files failed to load are known by their file stem, so that an
    override naming them is not reported a second time as an unknown store.
    """
    problems = list(_store_names(stores))
    problems += _vendor_names(vendors)
    problems += _unknown_stores(store_refs, {*store_files, *(s.name for s in stores)})
    problems += _skus_under_two_vendors(vendors)
    if any(store.casefold_skus for store in stores):
        problems += _skus_colliding_after_case_folding(vendors)
    return problems


def _problem(mark: Mark, message: str) -> ConfigProblem:
    return ConfigProblem(mark.path, mark.line, mark.column, message)


def _stem(mark: Mark) -> str:
    return PurePosixPath(mark.path).stem


def _store_names(stores: Sequence[StoreConfig]) -> Iterator[ConfigProblem]:
    first: dict[str, StoreConfig] = {}
    for store in sorted(stores, key=lambda s: s.mark):
        if store.name != _stem(store.mark):
            yield _problem(
                store.mark,
                f"store `{store.name}` differs from its file name; name the file "
                f"stores/{store.name}.yaml or the store `{_stem(store.mark)}`",
            )
        if store.name in first:
            other = first[store.name].mark
            yield _problem(
                store.mark,
                f"store `{store.name}` is defined twice (also at {other}); "
                "store names must be unique",
            )
        first.setdefault(store.name, store)


def _vendor_names(vendors: Sequence[VendorConfig]) -> Iterator[ConfigProblem]:
    for vendor in vendors:
        if vendor.name != _stem(vendor.mark):
            yield _problem(
                vendor.mark,
                f"vendor `{vendor.name}` differs from its file name; name the file "
                f"vendors/{vendor.name}.yaml or the vendor `{_stem(vendor.mark)}`",
            )


def _unknown_stores(
    refs: Sequence[StoreRef], known: set[str]
) -> Iterator[ConfigProblem]:
    listed = ", ".join(sorted(known)) or "none"
    for ref in refs:
        if ref.store not in known:
            yield _problem(
                ref.mark,
                f"{ref.owner} overrides unknown store `{ref.store}`; "
                f"known stores: {listed}",
            )


def _skus_under_two_vendors(
    vendors: Sequence[VendorConfig],
) -> Iterator[ConfigProblem]:
    listed = sum(len(vendor.products) for vendor in vendors)
    if len(set().union(*(vendor.products for vendor in vendors))) == listed:
        return  # every SKU under one vendor: told by set sizes alone
    first: dict[str, tuple[str, Mark]] = {}
    for vendor in vendors:
        for product in vendor.products.values():
            if product.sku not in first:
                first[product.sku] = (vendor.name, product.mark)
                continue
            other_vendor, other = first[product.sku]
            yield _problem(
                product.mark,
                f"SKU `{product.sku}` is listed under vendors `{other_vendor}` "
                f"({other}) and `{vendor.name}`; list it under one vendor",
            )
            yield _problem(
                other,
                f"SKU `{product.sku}` is listed under vendors `{other_vendor}` "
                f"and `{vendor.name}` ({product.mark}); list it under one vendor",
            )


def _skus_colliding_after_case_folding(
    vendors: Sequence[VendorConfig],
) -> Iterator[ConfigProblem]:
    """SKUs that differ, but are one to Magento, which compares them folded.

    When folding keeps the distinct SKUs distinct, nothing collides and the
    per-product walk is skipped.
    """
    skus = {sku for vendor in vendors for sku in vendor.products}
    if len({sku.casefold() for sku in skus}) == len(skus):
        return
    first: dict[str, tuple[str, Mark]] = {}
    for vendor in vendors:
        for product in vendor.products.values():
            key = product.sku.casefold()
            other_sku, other = first.setdefault(key, (product.sku, product.mark))
            if other_sku == product.sku:
                continue
            yield _problem(
                product.mark,
                f"SKU `{product.sku}` collides with `{other_sku}` ({other}) "
                "after case folding (Magento); write one SKU one way",
            )


SANDBOX = "sandbox://"


def unset_token_warnings(
    repository: Repository, environ: Mapping[str, str]
) -> list[ConfigProblem]:
    """A warning for each store whose ``${VAR}`` token is not set in ``environ``.

    Not an error: CI validates pull requests without the stores' secrets. A
    sandbox:// endpoint needs no token, so it is never warned about. The
    warning names the variable, never a value.
    """
    warnings = []
    for store in sorted(repository.stores.values(), key=lambda s: s.mark):
        channel = store.channel
        variable, where = channel.token_env, channel.token_mark
        if variable is None or where is None or variable in environ:
            continue
        if channel.endpoint.startswith(SANDBOX):
            continue
        warnings.append(
            _problem(
                where,
                f"{variable} is not set in this environment; passes will fail "
                "for this store",
            )
        )
    return warnings
