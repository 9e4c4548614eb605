#!/usr/bin/env bash
# How fast `sbwctl render` is (target: every stack in under 0.2 s). Prints
# figures; it is a benchmark, not a test. Needs hyperfine (Debian package).
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt hyperfine

log "in-process: config + render of every stack, and the template checks"
cargo run -q --release -p sbw-infra --example bench_render -- 200

log "end to end: the sbwctl binary, process start-up and file writes included"
cargo build -q -p sbwctl
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
hyperfine --warmup 3 --runs 30 -N \
  "$CARGO_TARGET_DIR/debug/sbwctl render --config examples/sbw.yaml --env dev --out $OUT/dev" \
  "$CARGO_TARGET_DIR/debug/sbwctl render --config examples/sbw.yaml --env prod --out $OUT/prod" \
  "$CARGO_TARGET_DIR/debug/sbwctl validate --config examples/sbw.yaml --env prod --no-linters"
echo "(debug build of sbwctl; a release build is faster still)"
