#!/usr/bin/env bash
# Benchmark of the local ingest server against a no-op HTTP server on the same
# stack, measured in the same run. Each round has three runs:
#   1. the no-op server at saturation: its request rate;
#   2. the ingest server at saturation: its rate, and CPU time per event;
#   3. the ingest server paced to 0.6x the no-op rate of the round: the
#      latency at that load (at saturation latency only measures the queue
#      that CONNECTIONS build).
# Rounds repeat SBW_BENCH_ROUNDS times (default 3) so that a busy moment of a
# shared machine falls on both servers; the verdict uses the medians.
# Usage: scripts/bench-ingest.sh [SECONDS] [CONNECTIONS]
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

threads=2
# run NAME PID PORT [RATE]: wrk against 127.0.0.1:PORT, at saturation or paced
# to RATE requests/s; prints "rps p50_ms p99_ms cpu_us_per_event non_2xx".
run() {
  local name="$1" pid="$2" port="$3" rate="${4:-}"
  local before after out pace=()
  [[ -n "$rate" ]] && pace=(env SBW_BENCH_RATE_PER_THREAD="$(python3 -c "print($rate / $threads)")")
  wrk -t1 -c2 -d2s -s bench/ingest-batch.lua "http://127.0.0.1:$port" >/dev/null # warm-up
  before="$(cpu_ticks "$pid")"
  out="$("${pace[@]}" wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s bench/ingest-batch.lua "http://127.0.0.1:$port")"
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

paced_share=0.6
for round in $(seq "$rounds"); do
  noop="$(run noop "$noop_pid" 18181)"
  echo "round $round noop $noop" >>"$work/results"
  echo "round $round ingest $(run ingest "$ingest_pid" 18180)" >>"$work/results"
  paced_rate="$(python3 -c "print(round(${noop%% *} * $paced_share))")"
  echo "round $round paced $(run paced "$ingest_pid" 18180 "$paced_rate") $paced_rate" >>"$work/results"
done
objects="$(find "$work/raw/events" -name '*.ndjson.gz' | wc -l)"

python3 - "$work/results" <<PY
import statistics, sys
rows = {"noop": [], "ingest": [], "paced": []}
labels = {"noop": "no-op, saturated", "ingest": "ingest, saturated", "paced": "ingest, paced"}
print(f"load: 25-event batches, wrk -t$threads -c$connections -d${duration}s per run, both servers on this machine;")
print(f"'paced' asks for $paced_share x the round's no-op rate (column 'asked')")
print(f"{'round':<7}{'run':<19}{'asked':>7}{'req/s':>8}{'events/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'CPU us/event':>14}")
for line in open(sys.argv[1]):
    _, number, name, rps, p50, p99, cpu, errors, *asked = line.split()
    row = [float(rps), float(p50), float(p99), float(cpu), int(errors)]
    rows[name].append(row)
    print(f"{number:<7}{labels[name]:<19}{(asked or [''])[0]:>7}{row[0]:>8.0f}{row[0]*25:>10.0f}"
          f"{row[1]:>8.2f}{row[2]:>8.2f}{row[3]:>14.1f}")
median = lambda name, column: statistics.median(r[column] for r in rows[name])
ratios = [i[0] / n[0] for n, i in zip(rows["noop"], rows["ingest"])]
paced = [p[0] / n[0] for n, p in zip(rows["noop"], rows["paced"])]
print(f"ingest / no-op request rate per round: {', '.join(f'{r:.2f}' for r in ratios)}")
print(f"median ingest / no-op request rate at saturation: {statistics.median(ratios):.2f} (target >= $paced_share)")
print(f"median p99 at the paced load: {median('paced', 2):.2f} ms (target < 10), reached"
      f" {statistics.median(paced):.2f} x the no-op rate; p99 at saturation: {median('ingest', 2):.2f} ms")
print(f"handler CPU per event (ingest minus no-op, medians): {median('ingest', 3) - median('noop', 3):.1f} us;"
      f" objects written: $objects; non-2xx: {sum(r[4] for name in ('ingest', 'paced') for r in rows[name])}")
PY
