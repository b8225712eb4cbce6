#!/usr/bin/env bash
# The main job on the embedded defaults: the example config, sandbox stores.
set -euo pipefail
cd "$(dirname "$0")/.."

run() {
  printf '\n$ %s\n' "$*"
  "$@"
}

run reconcile validate --config config
run reconcile explain MH01-XS-Black --config config
