#!/usr/bin/env bash
# sbwctl deploy and status against moto: a first deploy of every stack, then
# RUNS no-op deploys (target < 3 s), RUNS status calls (target < 1 s) and
# RUNS of each on-call command in ONCALL (target < 2 s each; add a command
# as one more line there). All are dominated by API round trips, so the
# debug build is measured.
# Usage: scripts/bench-deploy.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_moto
runs="${1:-5}"

log "building sbwctl"
cargo build -q -p sbwctl --locked
sbwctl="$CARGO_TARGET_DIR/debug/sbwctl"

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_REGION
# The same moto as the tests, with its change-set fixes.
PYTHONPATH="$SBW_ROOT/testkit/moto-patches" "$SBW_MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &

# The example's prod environment in moto's account and in eu-west-1 (so two
# stacks deploy to us-east-1), the user's hosted zone, stand-in packages.
.venv/bin/python - "$AWS_ENDPOINT_URL" "$work" <<'PY'
import json, pathlib, re, sys, time, urllib.request, zipfile
import boto3

endpoint, work = sys.argv[1], pathlib.Path(sys.argv[2])
for _ in range(600):
    try:
        urllib.request.urlopen(endpoint, timeout=1)
        break
    except Exception:
        time.sleep(0.1)
zone = boto3.client("route53", endpoint_url=endpoint, region_name="us-east-1").create_hosted_zone(
    Name="analytics.shop.example.com", CallerReference="bench")["HostedZone"]["Id"].split("/")[-1]
text = pathlib.Path("examples/sbw.yaml").read_text()
head, prod = text.split("  prod:", 1)
prod = (prod.replace('"222222222222"', '"123456789012"').replace("region: us-east-1", "region: eu-west-1")
        .replace("Z0123456789ABCDEFGHIJ", zone)
        .replace("    etl:\n      every_minutes: 15\n", "    etl:\n      every_minutes: 15\n    warehouse:\n      ami_id: ami-1e749f67\n"))
(work / "sbw.yaml").write_text(head + "  prod:" + prod)
build = work / "build"
build.mkdir()
packages = []
for function in ["ingest", "etl"]:
    name = f"{function}-{'0' * 16}.zip"
    with zipfile.ZipFile(build / name, "w") as z:
        z.writestr("bootstrap", f"{function} stand-in")
    packages.append({"function": function, "file": name, "sha256": "0" * 64, "bytes": (build / name).stat().st_size, "glibc": None})
(build / "build.json").write_text(json.dumps({"architecture": "arm64", "packages": packages}))
PY

args=(--config "$work/sbw.yaml" --env prod)
# Wall time of a command in seconds (its exit code is not the point: status exits 1 on moto).
seconds() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s%N); printf '%d.%03d' $(((end - start) / 1000000000)) $(((end - start) / 1000000 % 1000)); }

log "bootstrap (the deployer role every stack change goes through)"
"$sbwctl" bootstrap "${args[@]}" --yes >/dev/null

log "first deploy (10 stacks, 2 regions)"
first="$(seconds "$sbwctl" deploy "${args[@]}" --yes --build-dir "$work/build")"
"$sbwctl" deploy "${args[@]}" --yes --build-dir "$work/build" | grep unchanged >/dev/null || { echo "the first deploy did not complete" >&2; exit 1; }

log "no-op deploy x $runs, status x $runs"
noop=(); status=()
for _ in $(seq "$runs"); do
  noop+=("$(seconds "$sbwctl" deploy "${args[@]}" --yes --build-dir "$work/build")")
  status+=("$(seconds "$sbwctl" status "${args[@]}")")
done

# An hour of the ingest function's log lines for `logs` to read: 2,000
# invocations of START, one JSON line and REPORT, one in 50 an ERROR; and
# dead letters for `dlq inspect`.
.venv/bin/python - "$AWS_ENDPOINT_URL" <<'PY'
import json, sys, time, uuid
import boto3
logs = boto3.client("logs", endpoint_url=sys.argv[1], region_name="eu-west-1")
group, stream = "/aws/lambda/sbw-shop-prod-ingest", "bench/[$LATEST]0"
logs.create_log_stream(logGroupName=group, logStreamName=stream)
now, events = int(time.time() * 1000), []
for i in range(2000):
    at, request = now - 3_500_000 + i * 1_700, str(uuid.uuid4())
    level = "ERROR" if i % 50 == 0 else "INFO"
    line = {"level": level, "message": "stored", "events": 10, "spans": [{"name": "Lambda runtime invoke", "requestId": request}]}
    events += [{"timestamp": at, "message": f"START RequestId: {request} Version: $LATEST"},
               {"timestamp": at + 1, "message": json.dumps(line)},
               {"timestamp": at + 2, "message": f"REPORT RequestId: {request}\tDuration: 12.00 ms"}]
logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

# 200 dead letters for `dlq inspect`, as the ingest function writes them
# (functions/ingest/src/dead_letter.rs): 10 events each, two reasons.
import base64, gzip
outputs = boto3.client("cloudformation", endpoint_url=sys.argv[1], region_name="eu-west-1").describe_stacks(
    StackName="sbw-shop-prod-ingest")["Stacks"][0]["Outputs"]
queue = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "DeadLetterQueueUrl")
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="eu-west-1")
for batch in range(20):
    entries = []
    for i in range(10):
        n = batch * 10 + i
        ndjson = "".join(json.dumps({"event_id": str(uuid.uuid4()), "type": "page_view"}) + "\n" for _ in range(10))
        body = {"request_id": str(uuid.uuid4()), "key": f"events/year=2026/month=11/day=30/hour=10/bench-{n}.ndjson.gz",
                "reason": "SlowDown" if n % 4 else "AccessDenied", "part": 0, "parts": 1,
                "ndjson_gz_base64": base64.b64encode(gzip.compress(ndjson.encode())).decode()}
        entries.append({"Id": str(i), "MessageBody": json.dumps(body)})
    sqs.send_message_batch(QueueUrl=queue, Entries=entries)
PY

# The on-call commands: the arguments after `sbwctl`, one command a line.
ONCALL=(
  "alarms --since 24h"
  "alerts test"
  "logs ingest --since 1h"
  "logs ingest --since 1h --errors --output json"
  "dlq inspect"
  "dlq inspect --limit 50 --output json"
)
oncall=()
for command in "${ONCALL[@]}"; do
  read -ra words <<<"$command"
  times=()
  for _ in $(seq "$runs"); do times+=("$(seconds "$sbwctl" "${words[@]}" "${args[@]}")"); done
  # Its exit code too: a command moto cannot serve answers fast with an error.
  code=0; "$sbwctl" "${words[@]}" "${args[@]}" >/dev/null 2>"$work/oncall.err" || code=$?
  oncall+=("$command|${times[*]}|$code|$(head -c 160 "$work/oncall.err" | tr '\n|' '  ')")
done

python3 - "$first" "${noop[*]}" "${status[*]}" "${oncall[@]}" <<'PY'
import statistics, sys
first, noop, status = float(sys.argv[1]), [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
def line(name, values, target, note=""):
    worst = max(values)
    print(f"{name:<20} median {statistics.median(values):.2f} s, max {worst:.2f} s  (target < {target} s: {'met' if worst < target else 'MISSED'}){note}")
print(f"{'first deploy':<20} {first:.2f} s")
line("no-op deploy", noop, 3)
line("status", status, 1)
for entry in sys.argv[4:]:
    command, times, code, error = entry.split("|", 3)
    note = f"; exit {code}" + (f": {error.strip()}" if error.strip() and code not in ("0", "4") else "")
    line(command, [float(x) for x in times.split()], 2, note)
PY
