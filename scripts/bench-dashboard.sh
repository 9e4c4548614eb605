#!/usr/bin/env bash
# Benchmark of the dashboard's queries at scale: a year of realistic traffic
# (default 10 M events, `gen-raw-events`) loaded through the real ETL in
# monthly backfills and one incremental run, then every module's data
# function (`traffic_data`, `funnel_data`, `products_data`, `acquisition_data`,
# `reliability_data`: everything a module shows) timed for a 30-day and a
# 365-day range, without and with filters, uncached (every query reaches
# PostgreSQL) and cached (the R process's memoise cache), against the floor
# measured in the same run: a `SELECT 1` round trip on the same connection.
# Target: p95 < 100 ms per module, 365-day range included.
#
# Usage: scripts/bench-dashboard.sh [EVENTS]. The loaded warehouse is kept as
# the database sbw_bench_dashboard and reused by the next run when it holds
# the same number of generated events (SBW_BENCH_RELOAD=1 loads it again).
# SBW_BENCH_DIR=/dev/shm keeps the raw files off the disk.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_postgres
ensure_apt r-base-core r-cran-shiny r-cran-bslib r-cran-plotly r-cran-dt r-cran-dplyr \
  r-cran-lubridate r-cran-dbi r-cran-rpostgresql r-cran-memoise

events="${1:-10000000}"
db=sbw_bench_dashboard
timezone=Asia/Ho_Chi_Minh
cargo build -q --release -p sbwctl -p sbw-testkit --bin sbwctl --bin gen-raw-events
sbwctl="$CARGO_TARGET_DIR/release/sbwctl"

admin() { psql "$SBW_TEST_PG_URL" -qAtX -v ON_ERROR_STOP=1 "$@"; }
# url_of DB ROLE: the URL of database DB as ROLE on the admin URL's server.
url_of() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(netloc=sys.argv[3] + "@" + p.netloc.rpartition("@")[2], path="/" + sys.argv[2])))' "$SBW_TEST_PG_URL" "$1" "$2"; }
# on_warehouse ARGS...: psql on the benchmark's database as the superuser.
on_warehouse() { psql "$(url_of "$db" postgres)" -qAtX -v ON_ERROR_STOP=1 "$@"; }

# The number of generated events a complete load leaves as the database's comment.
loaded="$(admin -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db'")"
if [ "${SBW_BENCH_RELOAD:-0}" = 1 ] || [ "$loaded" != "$events" ]; then
  work="$(mktemp -d -p "${SBW_BENCH_DIR:-${TMPDIR:-/tmp}}" sbw-bench-dashboard.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -f testkit/sql/roles.sql \
    -c "CREATE DATABASE $db OWNER sbw_etl"
  on_warehouse -f testkit/sql/grants.sql

  # A year of receive hours ending with the current one.
  end_hour="$(date -u +%Y-%m-%dT%H:00:00Z)"
  start_hour="$(date -u -d "$end_hour - 365 days" +%Y-%m-%dT%H:00:00Z)"
  log "generating $events events from $start_hour to $end_hour"
  "$CARGO_TARGET_DIR/release/gen-raw-events" --out "$work/raw" --events "$events" \
    --hours 8760 --start "$start_hour" --per-object 100

  etl_url="$(url_of "$db" sbw_etl)"
  started=$(date +%s)
  month="$(date -u -d "$start_hour" +%Y-%m-01)"
  while [ "$(date -u -d "$month" +%s)" -le "$(date -u +%s)" ]; do
    next="$(date -u -d "$month + 1 month" +%Y-%m-%d)"
    log "ETL backfill of $month"
    "$sbwctl" etl backfill --raw-dir "$work/raw" --database-url "$etl_url" --timezone "$timezone" \
      --from "${month}T00:00:00Z" --to "$(date -u -d "$next - 1 hour" +%Y-%m-%dT%H:00:00Z)" >/dev/null
    month="$next"
  done
  # The incremental run sets the watermark the dashboard measures freshness by.
  "$sbwctl" etl run --raw-dir "$work/raw" --database-url "$etl_url" --timezone "$timezone" >/dev/null
  log "loaded $events events in $(( $(date +%s) - started )) s"
  # What a year-old deployment also holds for the Reliability module: an hourly
  # ETL run and operational snapshot for every hour of the year (synthetic,
  # older than the real runs, so the watermark stays theirs).
  on_warehouse <<'SQL'
INSERT INTO etl_runs (trigger, status, started_at, finished_at, objects_listed, objects_loaded,
                      events_loaded, newest_received_at)
SELECT 'schedule', 'succeeded', hour, hour + interval '40 seconds', 30, 30, 1100, hour - interval '2 minutes'
FROM generate_series(now() - interval '365 days', now() - interval '1 day', interval '1 hour') AS hour;
INSERT INTO ops_snapshots (taken_at, source, window_minutes, ingest_requests, ingest_client_errors,
                           ingest_server_errors, dead_letters, dead_letter_oldest_seconds, run_id)
SELECT hour, 'aws', 60, 900 + (random() * 300)::int, (random() * 20)::int, (random() * 2)::int, 0, NULL,
       (SELECT max(run_id) FROM etl_runs)
FROM generate_series(now() - interval '365 days', now() - interval '1 day', interval '1 hour') AS hour;
SQL
  on_warehouse -c "VACUUM ANALYZE"
  admin -c "COMMENT ON DATABASE $db IS '$events'"
else
  log "reusing the warehouse $db ($loaded events; SBW_BENCH_RELOAD=1 loads it again)"
fi

on_warehouse -c "SELECT 'warehouse: ' || (SELECT count(*) FROM fact_events) || ' events, '
  || (SELECT count(*) FROM fact_sessions) || ' visits; rollup rows: traffic '
  || (SELECT count(*) FROM rollup_traffic) || ', pages ' || (SELECT count(*) FROM rollup_pages)
  || ', funnel ' || (SELECT count(*) FROM rollup_funnel) || ', acquisition '
  || (SELECT count(*) FROM rollup_acquisition) || ', products ' || (SELECT count(*) FROM rollup_products)"

dashboard_url="$(url_of "$db" sbw_dashboard)"
PGHOST="$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).hostname)' "$dashboard_url")" \
PGPORT="$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 5432)' "$dashboard_url")" \
PGDATABASE="$db" PGUSER=sbw_dashboard TZ=UTC \
  Rscript scripts/bench-dashboard.R
