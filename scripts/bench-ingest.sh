#!/usr/bin/env bash
# Benchmark of the local ingest server against a no-op HTTP server on the same
# stack, measured in the same run: request rate, latency percentiles, and
# server CPU time per event. Usage: scripts/bench-ingest.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt wrk

duration="${1:-10}"
connections="${2:-16}"
cargo build -q --release -p sbwctl -p sbw-testkit --bin sbwctl --bin noop-http-server

# SBW_BENCH_DIR=/dev/shm measures without the disk.
work="$(mktemp -d -p "${SBW_BENCH_DIR:-${TMPDIR:-/tmp}}")"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME PORT: wrk against 127.0.0.1:PORT; prints "rps p50_ms p99_ms cpu_us_per_event".
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

read -r noop_rps noop_p50 noop_p99 noop_cpu _ <<<"$(run noop "$noop_pid" 18181)"
read -r ing_rps ing_p50 ing_p99 ing_cpu ing_errors <<<"$(run ingest "$ingest_pid" 18180)"
objects="$(find "$work/raw/events" -name '*.ndjson.gz' | wc -l)"

python3 - <<PY
noop, ing = $noop_rps, $ing_rps
print(f"load: 25-event batches, wrk -t2 -c$connections -d${duration}s, both servers on this machine")
print(f"{'server':<22}{'req/s':>10}{'events/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/event':>14}")
print(f"{'no-op (same stack)':<22}{noop:>10.0f}{noop*25:>12.0f}{$noop_p50:>9.2f}{$noop_p99:>9.2f}{$noop_cpu:>14.1f}")
print(f"{'sbwctl dev ingest':<22}{ing:>10.0f}{ing*25:>12.0f}{$ing_p50:>9.2f}{$ing_p99:>9.2f}{$ing_cpu:>14.1f}")
ratio = ing / noop
print(f"ingest / no-op request rate: {ratio:.2f} (target >= 0.60)  p99 {$ing_p99:.2f} ms (target < 10)")
print(f"handler CPU per event (ingest minus no-op): {$ing_cpu - $noop_cpu:.1f} us; objects written: $objects; non-2xx: $ing_errors")
PY
