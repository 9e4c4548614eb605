#!/usr/bin/env bash
# Benchmark of the local ingest server against a no-op HTTP server on the same
# stack, measured in the same run: request rate, latency percentiles, and
# server CPU time per event. The two take turns for SBW_BENCH_ROUNDS rounds
# (default 3) so that a busy moment of a shared machine falls on both; the
# verdict uses the median of the rounds' rate ratios and p99s. Usage: scripts/bench-ingest.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt wrk

duration="${1:-10}"
connections="${2:-16}"
rounds="${SBW_BENCH_ROUNDS:-3}"
cargo build -q --release -p sbwctl -p sbw-testkit --bin sbwctl --bin noop-http-server

# SBW_BENCH_DIR=/dev/shm measures without the disk.
work="$(mktemp -d -p "${SBW_BENCH_DIR:-${TMPDIR:-/tmp}}")"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME PID PORT: wrk against 127.0.0.1:PORT; prints "rps p50_ms p99_ms cpu_us_per_event non_2xx".
run() {
  local name="$1" pid="$2" port="$3"
  local before after out
  wrk -t1 -c2 -d2s -s bench/ingest-batch.lua "http://127.0.0.1:$port" >/dev/null # warm-up
  before="$(cpu_ticks "$pid")"
  out="$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/ingest-batch.lua "http://127.0.0.1:$port")"
  after="$(cpu_ticks "$pid")"
  echo "$out" >"$work/$name.txt"
  python3 - "$out" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, before, after, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def find(pattern):
    match = re.search(pattern, out, re.MULTILINE)
    if not match:
        sys.exit(f"cannot read {pattern!r} in wrk's output:\n{out}")
    return match.group(1)
def ms(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not match:
        sys.exit(f"cannot read the latency {text!r} in wrk's output:\n{out}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
rps = float(find(r"Requests/sec:\s+([\d.]+)"))
requests = int(find(r"(\d+) requests in"))
# The latency distribution's lines, not the "+/- Stdev" percentages of the thread stats.
p50 = ms(find(r"^\s+50%\s+(\S+)$"))
p99 = ms(find(r"^\s+99%\s+(\S+)$"))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
cpu_us_per_event = (after - before) / hz * 1e6 / max(requests * 25, 1)
print(f"{rps:.0f} {p50:.2f} {p99:.2f} {cpu_us_per_event:.1f} {non2xx.group(1) if non2xx else 0}")
PY
}

"$CARGO_TARGET_DIR/release/noop-http-server" 127.0.0.1:18181 2>/dev/null &
noop_pid=$!
"$CARGO_TARGET_DIR/release/sbwctl" dev ingest --listen 127.0.0.1:18180 --raw-dir "$work/raw" >/dev/null 2>&1 &
ingest_pid=$!
sleep 1

for round in $(seq "$rounds"); do
  echo "round $round noop $(run noop "$noop_pid" 18181)" >>"$work/results"
  echo "round $round ingest $(run ingest "$ingest_pid" 18180)" >>"$work/results"
done
objects="$(find "$work/raw/events" -name '*.ndjson.gz' | wc -l)"

python3 - "$work/results" <<PY
import statistics, sys
rows = {"noop": [], "ingest": []}
print(f"load: 25-event batches, wrk -t2 -c$connections -d${duration}s per round, both servers on this machine")
print(f"{'round':<7}{'server':<22}{'req/s':>10}{'events/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/event':>14}")
for line in open(sys.argv[1]):
    _, number, name, rps, p50, p99, cpu, errors = line.split()
    row = [float(rps), float(p50), float(p99), float(cpu), int(errors)]
    rows[name].append(row)
    label = "no-op (same stack)" if name == "noop" else "sbwctl dev ingest"
    print(f"{number:<7}{label:<22}{row[0]:>10.0f}{row[0]*25:>12.0f}{row[1]:>9.2f}{row[2]:>9.2f}{row[3]:>14.1f}")
median = lambda name, column: statistics.median(r[column] for r in rows[name])
ratios = [i[0] / n[0] for n, i in zip(rows["noop"], rows["ingest"])]
print(f"ingest / no-op request rate per round: {', '.join(f'{r:.2f}' for r in ratios)}")
print(f"median ingest / no-op request rate: {statistics.median(ratios):.2f} (target >= 0.60)"
      f"  median p99 {median('ingest', 2):.2f} ms (target < 10)")
print(f"handler CPU per event (ingest minus no-op, medians): {median('ingest', 3) - median('noop', 3):.1f} us;"
      f" objects written: $objects; non-2xx: {sum(r[4] for r in rows['ingest'])}")
PY
