#!/usr/bin/env bash
# The main job on the embedded defaults: the example config in config/, whose two
# stores are embedded emulators of Shopify and Magento seeded from a real catalog.
# State and sandboxes go to .reconciler/demo/, started afresh on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=.reconciler/demo
export RECONCILER_STATE="sqlite:///$STATE_DIR/state.db"
rm -rf "$STATE_DIR"

# Show a command and its output; long outputs keep their head and tail.
run() {
  printf '\n$ %s\n' "$*"
  local out status=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || status=$?
  awk -v keep=18 '
    { line[NR] = $0 }
    END {
      if (NR <= 2 * keep + 4) { for (i = 1; i <= NR; i++) print line[i]; exit }
      for (i = 1; i <= keep; i++) print line[i]
      printf "  ... (%d lines not shown)\n", NR - 2 * keep
      for (i = NR - keep + 1; i <= NR; i++) print line[i]
    }' "$out"
  rm -f "$out"
  if [ "$status" -ne 0 ]; then
    printf '(exit %d)\n' "$status"
    return "$status"
  fi
}

echo "== 1. Check the config repository, and ask why a SKU syncs the way it does"
run reconcile validate
run reconcile explain MS04-M-Orange

echo
echo "== 2. Load the hub from a warehouse count; the hub is master of tees on both stores"
run reconcile import config/fixtures/hub-stock.csv --yes

echo
echo "== 3. Meanwhile, shoppers buy: 3 tees on Shopify (drift), 2 jackets on Magento (the master)"
run reconcile sandbox sell shopify-us MS01-XS-Black 3
run reconcile sandbox sell magento-eu MJ01-XS-Orange 2

echo
echo "== 4. Plan: Magento feeds the hub, the hub feeds Shopify, in one pass"
run reconcile --dry-run --sku MS01-XS-Black --sku MJ01-XS-Orange --sku MH01-M-Orange --sku MS03-S-Green
run reconcile --dry-run

echo
echo "== 5. Apply, then plan again: nothing left to do"
run reconcile --yes
run reconcile --dry-run --detailed-exitcode
run reconcile history
