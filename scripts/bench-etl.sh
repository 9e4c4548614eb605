#!/usr/bin/env bash
# Benchmark of the ETL end to end (`sbwctl etl run`, release build) against
# the floor measured in the same run, for each N (default 500000 and 2000000
# events): wall time, events/s, and peak RSS of the ETL process (flat in N when
# it streams) and of its PostgreSQL backend.
#
# The raw store is realistic traffic from `gen-raw-events`: visits of the demo
# shop over 72 receive hours, 25 events per object (one ingest request each),
# 2 % duplicates (SDK retries: the same event again, later, in another object)
# and 1 % late events (the SDK's offline queue replaying the tail of a visit
# 1-12 h later: written in the hour they are received, hours after their event
# time, so their sessions span partitions far apart).
#
# The floor: the rows the ETL loaded (deduplicated), exported to CSV before
# the clock starts, then `\copy` (COPY FROM STDIN, psql) into `floor_events`,
# a table with the partitions and indexes of `fact_events`, in the same
# database. The ETL also writes `event_keys` (the global event_id index), the
# manifest, sessions and rollups: the floor with `event_keys` is shown too.
#
# Usage: scripts/bench-etl.sh [N...]. PostgreSQL: the one ensure_postgres finds
# or starts. SBW_BENCH_DIR=/dev/shm keeps the raw files and the CSV off the disk.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt time
ensure_postgres

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(500000 2000000)
cargo build -q --release -p sbwctl -p sbw-testkit --bin sbwctl --bin gen-raw-events

work="$(mktemp -d -p "${SBW_BENCH_DIR:-${TMPDIR:-/tmp}}" sbw-bench-etl.XXXXXX)"
databases=()
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  for db in "${databases[@]}"; do
    PGOPTIONS="-c client_min_messages=warning" admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

admin() { psql "$SBW_TEST_PG_URL" -qAtX -v ON_ERROR_STOP=1 "$@"; }
# url_of DB ROLE: the URL of database DB as ROLE on the admin URL's server.
url_of() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(netloc=sys.argv[3] + "@" + p.netloc.rpartition("@")[2], path="/" + sys.argv[2])))' "$SBW_TEST_PG_URL" "$1" "$2"; }
now() { date +%s.%N; }

# A fresh warehouse database as testkit's TestDb makes it: owned by the non-superuser sbw_etl.
create_database() {
  admin -f testkit/sql/roles.sql -c "CREATE DATABASE $1 OWNER sbw_etl"
  databases+=("$1")
  psql "$(url_of "$1" postgres)" -qAtX -v ON_ERROR_STOP=1 -f testkit/sql/grants.sql
}

# sample_backends DB FILE: every 0.2 s, "pid VmHWM_kB RssAnon_kB cpu_ticks" of the
# backends serving sbw_etl on DB (their process title names the role and the database).
sample_backends() {
  while true; do
    for pid in $(pgrep -f "postgres: .*sbw_etl $1 " || true); do
      awk -v pid="$pid" '/^VmHWM/ {h = $2} /^RssAnon/ {a = $2} END {printf "%s %s %s ", pid, h, a}' "/proc/$pid/status" 2>/dev/null &&
        awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true
    done >>"$2"
    sleep 0.2
  done
}

fs="$(df -T "$work" | awk 'NR == 2 {print $2}')"
log "raw files and CSV in $work ($fs); PostgreSQL at ${SBW_TEST_PG_URL%%/postgres}"
results=()
for n in "${sizes[@]}"; do
  raw="$work/raw-$n"
  log "N=$n: generating the raw store"
  gen="$("$CARGO_TARGET_DIR/release/gen-raw-events" --out "$raw" --events "$n" --hours 72 --seed 42)"
  echo "   $gen" >&2
  unique="$(echo "$gen" | python3 -c 'import json, sys; print(json.load(sys.stdin)["unique_events"])')"

  db="sbw_bench_etl_${n}_$$"
  create_database "$db"
  etl_url="$(url_of "$db" sbw_etl)"
  admin -c CHECKPOINT
  log "N=$n: sbwctl etl run"
  touch "$work/backend-$n.txt"
  sample_backends "$db" "$work/backend-$n.txt" &
  sampler=$!
  t0="$(now)"
  /usr/bin/time -v -o "$work/etl-$n.time" "$CARGO_TARGET_DIR/release/sbwctl" etl run --raw-dir "$raw" \
    --database-url "$etl_url" --output json >"$work/etl-$n.json"
  t1="$(now)"
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print("   ETL:", {k: s[k] for k in ("status", "objects_loaded", "events_loaded", "duplicates", "rejected_lines", "sessions_rebuilt")})' "$work/etl-$n.json" >&2

  sql() { psql "$etl_url" -qAtX -v ON_ERROR_STOP=1 "$@"; }
  loaded="$(sql -c 'SELECT count(*) FROM fact_events')"
  [ "$loaded" -eq "$unique" ] || { echo "the ETL loaded $loaded events, the raw store holds $unique" >&2; exit 1; }
  # Where the time went, from the run record and the batches' transaction starts.
  phases="$(sql -F ' ' -c "
    WITH b AS (SELECT DISTINCT extract(epoch FROM loaded_at) AS t FROM etl_objects),
         r AS (SELECT extract(epoch FROM started_at) AS s, extract(epoch FROM finished_at) AS f FROM etl_runs)
    SELECT round(r.s - $t0, 2), round(min(b.t) - r.s, 2), count(*),
           coalesce(round((max(b.t) - min(b.t)) / nullif(count(*) - 1, 0), 2)::text, '?'), round(r.f - max(b.t), 2)
    FROM b, r GROUP BY r.s, r.f")"

  log "N=$n: the floor (COPY of the same rows)"
  sql -c "\\copy (SELECT * FROM fact_events ORDER BY received_at, event_id) TO '$work/rows.csv' (FORMAT csv)"
  sql -c "\\copy (SELECT event_id, ts FROM fact_events ORDER BY received_at, event_id) TO '$work/keys.csv' (FORMAT csv)"
  sql <<'SQL'
CREATE TABLE floor_events (LIKE fact_events INCLUDING ALL) PARTITION BY RANGE (ts);
CREATE TABLE floor_keys (LIKE event_keys INCLUDING ALL);
DO $$ DECLARE p record; BEGIN
  FOR p IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'fact_events'::regclass LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF floor_events %s', replace(p.relname, 'fact_', 'floor_'), p.bound);
  END LOOP;
END $$;
SQL
  admin -c CHECKPOINT
  f0="$(now)"
  sql -c "\\copy floor_events FROM '$work/rows.csv' (FORMAT csv)"
  f1="$(now)"
  sql -c "\\copy floor_keys FROM '$work/keys.csv' (FORMAT csv)"
  f2="$(now)"
  rm -f "$work/rows.csv" "$work/keys.csv"

  rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/etl-$n.time")"
  cpu_s="$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/etl-$n.time")"
  backend="$(awk '{if ($2 > h) h = $2; if ($3 > a) a = $3; if ($4 > c[$1]) c[$1] = $4}
                  END {for (p in c) t += c[p]; print h / 1024, a / 1024, t + 0}' "$work/backend-$n.txt")"
  results+=("$n $unique $t0 $t1 $f0 $f1 $f2 $rss_kb $cpu_s $backend $phases")
  psql "$SBW_TEST_PG_URL" -qc "DROP DATABASE $db WITH (FORCE)"
  rm -rf "$raw"
done

pg="$(admin -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync ' ||
  current_setting('fsync') || ', shared_buffers ' || current_setting('shared_buffers')")"
printf '%s\n' "${results[@]}" >"$work/results.txt"
python3 - "$work/results.txt" "$fs" "$pg" <<'PY'
import os, sys
results, fs, pg = sys.argv[1:]
hz = os.sysconf("SC_CLK_TCK")
rows = [line.split() for line in open(results)]
print("ETL: release `sbwctl etl run`, one run into an empty warehouse. Floor: psql \\copy of the")
print("loaded rows from a CSV into a table with fact_events' partitions and indexes (+keys: and event_keys).")
print(f"raw files and CSV on {fs}; {pg}")
print(f"{'N':>9}{'ETL s':>8}{'events/s':>10}{'floor s':>9}{'ETL/floor':>11}{'ETL RSS MB':>12}"
      f"{'+keys s':>9}{'ETL/+keys':>11}{'PG backend MB':>15}")
rss = []
for n, unique, t0, t1, f0, f1, f2, rss_kb, cpu, hwm, anon, ticks, *phases in rows:
    n, etl, floor, keys = int(n), float(t1) - float(t0), float(f1) - float(f0), float(f2) - float(f0)
    rss.append(int(rss_kb) / 1024)
    print(f"{n:>9}{etl:>8.1f}{n / etl:>10.0f}{floor:>9.1f}{etl / floor:>11.2f}{rss[-1]:>12.0f}"
          f"{keys:>9.1f}{etl / keys:>11.2f}{float(hwm):>8.0f} ({float(anon):.0f})")
for n, unique, t0, t1, f0, f1, f2, rss_kb, cpu, hwm, anon, ticks, *phases in rows:
    before, first, batches, per_batch, after = phases
    print(f"N={n}: {unique} unique events; CPU: ETL process {float(cpu):.1f} s, its PG backend "
          f"{int(float(ticks)) / hz:.1f} s; phases: connect + migrations {before} s, listing + "
          f"first decode {first} s, {batches} batches x {per_batch} s, rebuild + run record {after} s")
print("events/s: raw lines (duplicates included) per ETL second. PG backend MB: peak RSS of the")
print("ETL's backend, shared buffers it touched included (its private memory in parentheses).")
print("targets: ETL/floor <= 2 (aim 1.3); ETL RSS flat in N"
      + (f" (largest / smallest: {max(rss) / min(rss):.2f})" if len(rss) > 1 else ""))
PY
