#!/usr/bin/env bash
# Infrastructure as code, end to end with the real linters: renders every
# environment x profile of examples/sbw.yaml (and the branch-covering variants
# in infra/tests/fixtures/variants.yaml) with the built sbwctl (the same
# renders `cargo test -p sbw-infra --test render` holds to the reviewed golden
# snapshots), runs sbwctl validate's in-process checks, then cfn-lint (0 errors, 0 warnings) and checkov (0 failed checks;
# every skip carries a reason in the template's Metadata). No AWS access.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"

ensure_rust
ensure_apt python3-venv
ensure_venv .venv-cfn scripts/requirements-cfn.txt
ensure_venv .venv-checkov scripts/requirements-checkov.txt

log "building sbwctl"
build_sbwctl
SBWCTL="$CARGO_TARGET_DIR/debug/sbwctl"

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# case name, config, environment, profile
cases=(
  "dev-minimal examples/sbw.yaml dev minimal"
  "dev-hardened examples/sbw.yaml dev hardened"
  "prod-minimal examples/sbw.yaml prod minimal"
  "prod-hardened examples/sbw.yaml prod hardened"
  "variants-bare infra/tests/fixtures/variants.yaml bare -"
  "variants-loaded infra/tests/fixtures/variants.yaml loaded -"
  "variants-fortress infra/tests/fixtures/variants.yaml fortress -"
)

log "render + in-process checks (${#cases[@]} environments)"
for entry in "${cases[@]}"; do
  read -r name config env profile <<<"$entry"
  args=(--config "$config" --env "$env")
  [ "$profile" = "-" ] || args+=(--profile "$profile")
  "$SBWCTL" render "${args[@]}" --out "$OUT/$name" >/dev/null || { fail "render $name"; continue; }
  "$SBWCTL" validate "${args[@]}" --no-linters >"$OUT/$name.validate" || { cat "$OUT/$name.validate"; fail "in-process checks $name"; }
done

log "cfn-lint $(.venv-cfn/bin/cfn-lint --version 2>&1 | tail -1)"
if .venv-cfn/bin/cfn-lint --format parseable --non-zero-exit-code warning \
  --regions us-east-1 ap-southeast-1 eu-central-1 -- "$OUT"/*/*.yaml; then
  echo "cfn-lint: $(ls "$OUT"/*/*.yaml | wc -l) templates, 0 errors, 0 warnings"
else
  fail "cfn-lint"
fi

log "checkov $(.venv-checkov/bin/checkov --version 2>&1 | tail -1)"
for entry in "${cases[@]}"; do
  read -r name _ <<<"$entry"
  # One directory per run: checkov miscounts when given several. Every skip
  # declared in the templates must be one checkov really applies (no stale
  # skips), and each carries a reason (sbwctl validate checks that).
  declared="$(cat "$OUT/$name"/*.yaml | grep -c -- '- id: CKV' || true)"
  if summary="$(.venv-checkov/bin/checkov --framework cloudformation --skip-download -d "$OUT/$name" -o json 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin); r=r if isinstance(r,dict) else r[0]; s=r["summary"]; print(s["passed"], s["failed"], s["skipped"])')"; then
    read -r passed failed skipped <<<"$summary"
    echo "checkov $name: $passed passed, $failed failed, $skipped skipped ($declared declared)"
    [ "$failed" = 0 ] || { .venv-checkov/bin/checkov --quiet --compact --framework cloudformation --skip-download -d "$OUT/$name" || true; fail "checkov $name"; }
    [ "$skipped" = "$declared" ] || fail "checkov $name: $declared skips declared but $skipped applied (remove stale skips)"
  else
    fail "checkov $name did not run"
  fi
done

log "sbwctl validate with the linters, config errors, cost"
"$SBWCTL" validate --config examples/sbw.yaml --env dev >"$OUT/validate.txt" || { cat "$OUT/validate.txt"; fail "sbwctl validate dev"; }
grep -q "cfn-lint: passed" "$OUT/validate.txt" && grep -q "checkov: passed" "$OUT/validate.txt" || { cat "$OUT/validate.txt"; fail "validate did not run both linters"; }
printf 'project: shop\nenvironments:\n  dev:\n    region: mars-1\n' >"$OUT/broken.yaml"
set +e
"$SBWCTL" validate --config "$OUT/broken.yaml" --env dev 2>"$OUT/broken.err"
code=$?
set -e
[ "$code" = 3 ] && grep -q "broken.yaml:4:13: \"mars-1\" is not a supported AWS region" "$OUT/broken.err" ||
  { cat "$OUT/broken.err"; fail "a config error must exit 3 (invalid config) and name file:line (got $code)"; }
total="$("$SBWCTL" cost --config examples/sbw.yaml --env dev --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_usd"])')"
# Ten dollars, plus the four on-call alarms beyond CloudWatch's ten free ones, plus the WAF
# web ACL of the per-client rate rule and the two keys of the secrets (infra/tests/cost.rs,
# MINIMAL_CEILING_USD).
python3 -c "import sys; sys.exit(0 if $total <= 18.58 else 1)" || fail "minimal profile costs $total USD/month at 1 M events (target: <= 18.58)"
echo "minimal profile at 1 M events/month: $(printf '%.2f' "$total") USD/month"

if [ "$failures" -gt 0 ]; then
  echo "test-infra: $failures failure(s)" >&2
  exit 1
fi
log "test-infra: all passed"
