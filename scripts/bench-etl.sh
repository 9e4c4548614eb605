#!/usr/bin/env bash
# The ETL end to end (release `sbwctl etl run`) against a COPY of the same
# rows measured in the same run, for each N (default 500000 and 2000000
# events): wall time, events/s, peak RSS of the ETL and of its PostgreSQL
# backend (`cargo xtask bench-etl`, xtask/). This script installs what it
# needs and starts PostgreSQL (or uses $SBW_TEST_PG_URL's, on this machine).
# Usage: scripts/bench-etl.sh [N...]. SBW_BENCH_DIR=/dev/shm keeps the raw
# files and the CSV off the disk.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_postgres
exec cargo xtask bench-etl "$@"
