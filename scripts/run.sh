#!/usr/bin/env bash
# The main job on this machine: the local platform. For now that is the
# ingest server (the Lambda's handler) writing the raw store under .sbw/raw,
# and the demo shop sending it events from your browser. Ctrl-C stops both.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt build-essential pkg-config python3

INGEST_ADDR="${SBW_INGEST_ADDR:-127.0.0.1:8787}"
SHOP_PORT="${SBW_SHOP_PORT:-8000}"

log "building sbwctl"
cargo build -q --release -p sbwctl
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT INT TERM

mkdir -p .sbw
"$CARGO_TARGET_DIR/release/sbwctl" dev ingest --listen "$INGEST_ADDR" --raw-dir .sbw/raw \
  --site-key demo-shop --allowed-origin "http://127.0.0.1:$SHOP_PORT" --allowed-origin "http://localhost:$SHOP_PORT" \
  --dev-accept-unverified-jwt >.sbw/ingest.log &
python3 -m http.server "$SHOP_PORT" --bind 127.0.0.1 -d examples/demo-shop >/dev/null 2>&1 &

log "demo shop:  http://127.0.0.1:$SHOP_PORT/   (browse it: every page view, product view and purchase is an event)"
log "ingest:     http://$INGEST_ADDR/v1/events  (request log: .sbw/ingest.log)"
log "raw store:  .sbw/raw/events/year=…/hour=…/events-*.ndjson.gz   (zcat them to see what was stored)"
wait
