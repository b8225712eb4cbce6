"""The GraphQL documents the Shopify adapter sends, and what each one costs.

Every document here is validated against Shopify's stored Admin schemas in
the tests (tests/channels/test_shopify_schema.py), variables included. The
costs follow Shopify's documented calculation: a scalar costs 0, an object 1,
a connection 2 plus ``first`` times the cost of one node, a mutation 10.
"""

from __future__ import annotations

CONNECTION_COST = 2
MUTATION_COST = 10
MAX_PAGE = 250
"""Shopify's largest ``first`` on a connection."""

LOCATIONS = """
query StoreLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id name }
  }
}
""".strip()

LOCATION_NODE_COST = 1

STOCK_PAGE = """
query StockPage($first: Int!, $after: String, $query: String, $location: ID!) {
  productVariants(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      inventoryItem {
        id
        tracked
        inventoryLevel(locationId: $location) {
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}
""".strip()

STOCK_NODE_COST = 4
"""A variant (1), its inventory item (1), its level (1), the quantities (1)."""

_SET_SELECTION = """{
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) { name quantityAfterChange item { id } }
    }
    userErrors { code field message }
  }"""

SET_AVAILABLE = (
    "mutation SetAvailable($input: InventorySetQuantitiesInput!) {\n"
    f"  inventorySetQuantities(input: $input) {_SET_SELECTION}\n"
    "}"
)
"""Compare-and-set with ``compareQuantity``: API versions before 2026-04."""

SET_AVAILABLE_IDEMPOTENT = (
    "mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {\n"
    "  inventorySetQuantities(input: $input) @idempotent(key: $key) "
    f"{_SET_SELECTION}\n"
    "}"
)
"""Compare-and-set with ``changeFromQuantity`` and ``@idempotent``: 2026-04 on."""

SET_TRACKED = """
mutation SetTracked($id: ID!, $input: InventoryItemInput!) {
  inventoryItemUpdate(id: $id, input: $input) {
    inventoryItem { id tracked }
    userErrors { field message }
  }
}
""".strip()

ACTIVATE = """
mutation ActivateAtLocation($item: ID!, $location: ID!, $available: Int) {
  inventoryActivate(
    inventoryItemId: $item, locationId: $location, available: $available
  ) {
    inventoryLevel { id }
    userErrors { field message }
  }
}
""".strip()

IDEMPOTENT_FROM = "2026-04"
"""The first API version that removes ``compareQuantity`` and requires
``changeFromQuantity`` and ``@idempotent`` (channel-apis.md section 1.3)."""


def connection_cost(first: int, node_cost: int) -> int:
    """The requested cost of one page of a connection."""
    return CONNECTION_COST + first * node_cost


def uses_change_from(api_version: str) -> bool:
    """Whether ``api_version`` takes the 2026-04 compare-and-set shape.

    Versions are ``YYYY-MM`` strings, which compare correctly as text;
    ``unstable`` sorts after every dated version, as it should.
    """
    return api_version >= IDEMPOTENT_FROM
