#!/usr/bin/env bash
# The dashboard's suite: testthat (every query function against a warehouse
# seeded through the real ETL, and shiny::testServer for each module), then
# the app in headless Chromium. Installs what is missing (R and the r-cran-*
# packages, the hll extension, Chromium, npm packages); safe to run again.
#
# The warehouse: testkit's dashboard-fixture writes a raw store of known
# visits, `sbwctl etl run` loads it into a fresh database set up as the
# warehouse bootstrap does; the tests read it as sbw_dashboard.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"

ensure_apt r-base-core r-cran-shiny r-cran-bslib r-cran-plotly r-cran-dt \
  r-cran-lubridate r-cran-dbi r-cran-rpostgresql r-cran-memoise r-cran-testthat \
  iso-codes chromium
command -v node >/dev/null || ensure_apt nodejs npm
ensure_postgres
ensure_rust

log "dashboard: vendored browser libraries"
dashboard/tools/vendor-js.sh --check

if [ -z "${SBW_SBWCTL:-}" ]; then
  log "dashboard: building sbwctl"
  build_sbwctl
  export SBW_SBWCTL="$CARGO_TARGET_DIR/debug/sbwctl"
fi
cargo build -q --locked -p sbw-testkit --bin dashboard-fixture
fixture_bin="$CARGO_TARGET_DIR/debug/dashboard-fixture"

work="$(mktemp -d)"
databases=()
cleanup() {
  for db in "${databases[@]}"; do
    psql "$SBW_TEST_PG_URL" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# new_warehouse NAME: a database as the warehouse bootstrap makes it (owner
# sbw_etl, the hll extension, sbw_dashboard's read access), dropped at exit.
new_warehouse() {
  psql "$SBW_TEST_PG_URL" -qAt -v ON_ERROR_STOP=1 -f testkit/sql/roles.sql >/dev/null
  psql "$SBW_TEST_PG_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1 OWNER sbw_etl" >/dev/null
  databases+=("$1")
  psql "$(database_url "$1" postgres)" -qAt -v ON_ERROR_STOP=1 -f testkit/sql/grants.sql >/dev/null
}

# database_url NAME ROLE
database_url() {
  python3 - "$SBW_TEST_PG_URL" "$1" "$2" <<'PY'
import sys, urllib.parse as u
url = u.urlsplit(sys.argv[1])
netloc = f"{sys.argv[3]}@{url.hostname}" + (f":{url.port}" if url.port else "")
print(u.urlunsplit((url.scheme, netloc, "/" + sys.argv[2], url.query, "")))
PY
}

log "dashboard: seeding a warehouse (dashboard-fixture, then sbwctl etl run)"
seeded="sbw_dashboard_test_seeded_$$" migrated="sbw_dashboard_test_migrated_$$" empty="sbw_dashboard_test_empty_$$"
new_warehouse "$seeded"
"$fixture_bin" --out "$work/raw" >"$work/fixture.json"
"$SBW_SBWCTL" etl run --raw-dir "$work/raw" --database-url "$(database_url "$seeded" sbw_etl)" \
  --timezone Asia/Ho_Chi_Minh --freshness-slo-minutes 90 >"$work/etl.log"
new_warehouse "$migrated"
"$SBW_SBWCTL" etl migrate --database-url "$(database_url "$migrated" sbw_etl)" >/dev/null
new_warehouse "$empty"

# The tests connect as the dashboard does: libpq variables, read-only role.
host_port="$(python3 -c 'import sys, urllib.parse as u; x = u.urlsplit(sys.argv[1]); print(x.hostname, x.port or 5432)' "$SBW_TEST_PG_URL")"
export PGHOST="${host_port% *}" PGPORT="${host_port#* }" PGUSER=sbw_dashboard PGDATABASE="$seeded"
export SBW_FIXTURE_JSON="$work/fixture.json" SBW_FIXTURE_RAW_DIR="$work/raw"
export SBW_ETL_DATABASE_URL="$(database_url "$seeded" sbw_etl)"
export SBW_DASHBOARD_MIGRATED_DB="$migrated" SBW_DASHBOARD_EMPTY_DB="$empty"
export TZ=UTC

log "dashboard: testthat (queries, modules)"
Rscript dashboard/tests/testthat.R

log "dashboard: headless Chromium"
cd dashboard/tests/e2e
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.package-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" >"$stamp"
fi
node --test --test-concurrency=1 --test-reporter=spec dashboard.test.mjs
