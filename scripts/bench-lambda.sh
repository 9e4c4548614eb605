#!/usr/bin/env bash
# Cold start of the ingest Lambda: the release `ingest` binary run RUNS times
# against the local Lambda Runtime API (sbw-testkit), with moto as S3, SQS and
# SSM; prints spawn -> first /next poll and the first invocation (a 25-event
# POST) next to the spawn-to-exit floor of /bin/true, then the size of the
# binary zipped as `bootstrap`. Usage: scripts/bench-lambda.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt zip python3-venv
ensure_venv .venv scripts/requirements-aws-emulator.txt

runs="${1:-20}"
log "release builds: ingest, lambda-cold-start"
cargo build -q --release -p sbw-ingest --bin ingest
cargo build -q --release -p sbw-testkit --bin lambda-cold-start

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &

# Waits for moto, creates the function's bucket, queue and key parameter, and
# writes the first invocation's event; prints the queue URL.
queue_url="$(.venv/bin/python - "$endpoint" "$work/event.json" <<'PY'
import datetime, json, sys, time, urllib.error, urllib.request, uuid
import boto3

endpoint, event_path = sys.argv[1], sys.argv[2]
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(endpoint, timeout=1)
        break
    except urllib.error.HTTPError:
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(f"moto did not answer on {endpoint}")
        time.sleep(0.1)

aws = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
boto3.client("s3", **aws).create_bucket(Bucket="sbw-bench-raw")
queue_url = boto3.client("sqs", **aws).create_queue(QueueName="sbw-bench-dlq")["QueueUrl"]
boto3.client("ssm", **aws).put_parameter(
    Name="/sbw/bench/hash-key", Value="bench-hashing-key-of-at-least-32-bytes", Type="SecureString"
)

now = datetime.datetime.now(datetime.timezone.utc)
stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
events = [
    {
        "event_id": str(uuid.uuid4()),
        "ts": stamp,
        "sent_at": stamp,
        "event_type": "page_view",
        "session_id": str(uuid.uuid4()),
        "anonymous_id": "bench-anonymous-1",
        "page_url": f"https://shop.example/p/{n}?utm_source=bench",
        "referrer": "https://www.google.com/",
    }
    for n in range(25)
]
event = {
    "version": "2.0",
    "routeKey": "POST /v1/events",
    "rawPath": "/v1/events",
    "rawQueryString": "site_key=pk_bench",
    "headers": {"content-type": "text/plain;charset=UTF-8", "origin": "https://shop.example", "user-agent": user_agent},
    "queryStringParameters": {"site_key": "pk_bench"},
    "requestContext": {
        "accountId": "000000000000",
        "apiId": "sbwbench",
        "domainName": "sbwbench.execute-api.us-east-1.amazonaws.com",
        "http": {"method": "POST", "path": "/v1/events", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": user_agent},
        "requestId": str(uuid.uuid4()),
        "routeKey": "POST /v1/events",
        "stage": "$default",
        "timeEpoch": int(now.timestamp() * 1000),
    },
    "body": json.dumps(events),
    "isBase64Encoded": False,
}
with open(event_path, "w") as f:
    json.dump(event, f)
print(queue_url)
PY
)"

log "cold starts ($runs runs)"
"$CARGO_TARGET_DIR/release/lambda-cold-start" "$CARGO_TARGET_DIR/release/ingest" --runs "$runs" --event "$work/event.json" --target-ms 10 \
  --env AWS_ENDPOINT_URL="$endpoint" \
  --env SBW_RAW_BUCKET=sbw-bench-raw \
  --env SBW_DLQ_URL="$queue_url" \
  --env SBW_SITE_KEYS=pk_bench \
  --env SBW_ALLOWED_ORIGINS=https://shop.example \
  --env SBW_HASH_KEY_PARAM=/sbw/bench/hash-key \
  --env SBW_DEPLOYMENT=sbw-bench

# The deployment artefact: the binary as `bootstrap`, zipped without
# timestamps or extra attributes. (Deployments build for provided.al2023 on
# arm64; this is the host build, close in size.)
mkdir "$work/zip"
cp "$CARGO_TARGET_DIR/release/ingest" "$work/zip/bootstrap"
touch -d '1980-01-01 00:00:00' "$work/zip/bootstrap"
(cd "$work/zip" && zip -q -X -9 ../bootstrap.zip bootstrap)
binary_bytes="$(stat -c %s "$CARGO_TARGET_DIR/release/ingest")"
zip_bytes="$(stat -c %s "$work/bootstrap.zip")"
awk -v b="$binary_bytes" -v z="$zip_bytes" 'BEGIN {
  printf "binary %.2f MB, bootstrap.zip %.2f MB (%d bytes); target < 8 MB — %s\n",
    b / 1e6, z / 1e6, z, (z < 8e6 ? "met" : "MISSED")
}'
