#!/usr/bin/env bash
# Load test of the local ingest server (`sbwctl dev ingest`): measures its
# saturation rate, then offers FACTOR times that rate on a fixed schedule
# (open loop) for SECONDS, sampling the server's RSS, and checks that the
# server survives, its memory stays under SBW_LOAD_MAX_RSS_MB (default 256)
# and every event it answered 202 for is in its raw store. The driver is
# testkit's `ingest-load` (see it for the method); both run on this machine,
# built with SBW_LOAD_PROFILE (release, or debug to reuse the test build).
# Exits 1 when a check fails.
# Usage: scripts/load-ingest.sh [SECONDS] [FACTOR]
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust

seconds="${1:-60}"
factor="${2:-5}"
profile="${SBW_LOAD_PROFILE:-release}"
case "$profile" in
  release) cargo build -q --release -p sbwctl -p sbw-testkit --bin sbwctl --bin ingest-load ;;
  debug) build_sbwctl && cargo build -q -p sbw-testkit --bin ingest-load ;;
  *) echo "SBW_LOAD_PROFILE must be release or debug, not $profile" >&2; exit 2 ;;
esac
bin="$CARGO_TARGET_DIR/$profile"

# SBW_BENCH_DIR=/dev/shm measures without the disk.
work="$(mktemp -d -p "${SBW_BENCH_DIR:-${TMPDIR:-/tmp}}")"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port=18190
"$bin/sbwctl" dev ingest --listen "127.0.0.1:$port" --raw-dir "$work/raw" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

"$bin/ingest-load" --url "http://127.0.0.1:$port" --pid "$server" \
  --raw-dir "$work/raw" --seconds "$seconds" --factor "$factor" \
  --max-rss-mb "${SBW_LOAD_MAX_RSS_MB:-256}"
