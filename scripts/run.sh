#!/usr/bin/env bash
# The main job: the whole platform on this machine, from a fresh clone —
# PostgreSQL (a private cluster in .sbw/dev/pg), the ingest server, the ETL
# every minute, the dashboard, the demo shop and simulated shoppers
# (`sbwctl dev up --demo`). The first start back-fills 30 days of shop
# history; later starts go on with the data they have.
#
#   scripts/run.sh [dev up flags…]    e.g. --shop-port 8080, --visits-per-minute 20
#
# Ctrl-C stops everything. `rm -rf .sbw/dev` resets the platform (the next
# start seeds a new month).
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt build-essential pkg-config
ensure_local_platform

DIR=.sbw/dev
TIMEZONE=Asia/Ho_Chi_Minh

log "building sbwctl (release; the first build takes about 20 minutes on two cores)"
cargo build --release --locked -p sbwctl
sbwctl="$CARGO_TARGET_DIR/release/sbwctl"

# Seeded once, before the platform first runs: the first ETL run of `dev up`
# loads the whole raw store; later runs only list recent hours, so history
# written after that would be missed.
if [ ! -e "$DIR/seeded" ] && [ ! -d "$DIR/pg" ]; then
  log "seeding 30 days of shop history into $DIR/raw (once; rm -rf $DIR to start afresh)"
  "$sbwctl" dev seed --days 30 --raw-dir "$DIR/raw" --timezone "$TIMEZONE"
  touch "$DIR/seeded"
fi

log "starting the platform; the dashboard's URL follows once everything answers (Ctrl-C stops it)"
exec "$sbwctl" dev up --demo --dir "$DIR" --timezone "$TIMEZONE" "$@"
