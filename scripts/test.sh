#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine: installs what is
# missing, starts what the tests need, runs every suite. CI runs exactly this.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"

ensure_rust
ensure_apt build-essential pkg-config python3-venv wrk iptables
ensure_moto
ensure_postgres
export SBW_TEST_PG_URL # set by ensure_postgres: the superuser URL of the warehouse tests
ensure_local_platform # cli/tests/dev_up.rs runs `sbwctl dev up` with its dashboard

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
cargo test --workspace --locked

# Suites of other parts of the platform, each with its own installer.
for suite in scripts/test-*.sh; do
  [ -e "$suite" ] || continue
  log "$suite"
  bash "$suite"
done
