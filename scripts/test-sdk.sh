#!/usr/bin/env bash
# The browser SDK's suite: typecheck, unit tests (vitest), build, the size budget of
# the IIFE bundle, then end-to-end tests in headless Chromium against
# `sbwctl dev ingest`. Installs what is missing (Debian chromium, npm packages);
# safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT/sdk"

# Largest allowed IIFE bundle, minified and gzipped (bytes).
SIZE_BUDGET=4096

command -v node >/dev/null || ensure_apt nodejs npm
ensure_apt chromium

# npm ci when node_modules is missing or was installed from another lockfile.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.package-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  log "sdk: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" >"$stamp"
fi

log "sdk: typecheck"
npx tsc --noEmit

log "sdk: unit tests"
npx vitest run

log "sdk: build"
node build.mjs
if ! git -C "$SBW_ROOT" diff --quiet -- examples/demo-shop/js/sbw.min.js; then
  echo "examples/demo-shop/js/sbw.min.js differs from a fresh build: commit the rebuilt bundle" >&2
  exit 1
fi

size="$(gzip -9c dist/sbw.min.js | wc -c)"
log "sdk: IIFE bundle is $(wc -c <dist/sbw.min.js) bytes minified, $size bytes min+gzip (budget $SIZE_BUDGET)"
if [ "$size" -gt "$SIZE_BUDGET" ]; then
  echo "dist/sbw.min.js is $size bytes min+gzip, over the $SIZE_BUDGET byte budget" >&2
  exit 1
fi

# The ingest server under test: SBW_SBWCTL if set, else a fresh debug build.
if [ -z "${SBW_SBWCTL:-}" ]; then
  log "sdk: building sbwctl for the end-to-end tests"
  ensure_rust
  build_sbwctl
  export SBW_SBWCTL="$CARGO_TARGET_DIR/debug/sbwctl"
fi

log "sdk: end-to-end tests (headless Chromium, sbwctl dev ingest)"
npx vitest run --config vitest.e2e.config.ts
