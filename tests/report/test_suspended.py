"""Suspended stores a pass left out, as each report format lists them."""

from __future__ import annotations

import json

import jsonschema

from reconciler.plan.model import Plan
from reconciler.report import Report, render_report
from reconciler.report.jsonreport import load_schema
from tests.report.plans import empty_plan, small_plan

SUSPENDED = {"shopify-eu": "stores/shopify-eu.yaml", "magento-uk": "stores/uk.yaml"}


def report(plan: Plan) -> Report:
    return Report(plan, suspended=SUSPENDED)


def test_text_lists_each_suspended_store_before_the_summary() -> None:
    lines = render_report(report(small_plan()), "text").splitlines()

    assert lines[-4:] == [
        "shopify-eu: suspended in stores/shopify-eu.yaml, skipped",
        "magento-uk: suspended in stores/uk.yaml, skipped",
        "",
        "Plan: 1 to pull into the hub, 2 to push to stores, 0 held, 0 conflicts, "
        "0 skipped.",
    ]


def test_markdown_has_a_suspended_row_per_store_after_the_plan_rows() -> None:
    comment = render_report(report(small_plan()), "markdown")

    rows = [line for line in comment.splitlines() if line.startswith("| ")]
    assert rows[2:6] == [
        "| magento-eu | channel\\_to\\_hub | 1 | 0 | 0 | 0 | ok |",
        "| shopify-us | hub\\_to\\_channel | 0 | 2 | 0 | 0 | ok |",
        "| magento-uk | - | - | - | - | - | suspended (stores/uk.yaml) |",
        "| shopify-eu | - | - | - | - | - | suspended (stores/shopify-eu.yaml) |",
    ]


def test_markdown_shows_the_table_when_only_suspended_stores_are_left() -> None:
    comment = render_report(report(empty_plan()), "markdown")

    assert "| magento-uk | - | - | - | - | - | suspended (stores/uk.yaml) |" in comment


def test_json_lists_them_by_name_and_follows_the_schema() -> None:
    document = json.loads(render_report(report(small_plan()), "json"))

    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert document["suspended"] == [
        {"store": "magento-uk", "file": "stores/uk.yaml"},
        {"store": "shopify-eu", "file": "stores/shopify-eu.yaml"},
    ]


def test_without_suspended_stores_the_document_has_no_such_key() -> None:
    document = json.loads(render_report(Report(small_plan()), "json"))

    assert "suspended" not in document
