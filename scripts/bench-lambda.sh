#!/usr/bin/env bash
# Cold start of the ingest Lambda as it ships: `sbwctl build`'s bootstrap.zip
# for this machine's architecture, run RUNS times against the local Lambda
# Runtime API with moto as S3, SQS and SSM, next to the spawn floor of
# /bin/true; then the package's size (`cargo xtask bench-lambda`, xtask/).
# This script installs what it needs. Usage: scripts/bench-lambda.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_moto
bash scripts/setup-build.sh
exec cargo xtask bench-lambda --runs "${1:-20}"
