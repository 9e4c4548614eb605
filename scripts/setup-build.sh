#!/usr/bin/env bash
# What `sbwctl build` needs: the Rust targets of both Lambda architectures,
# and cargo-zigbuild with zig (PyPI's ziglang) in $SBW_BUILD_VENV (one per
# machine, ~/.cache/sbw/venv-build by default). Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
ensure_rust
ensure_apt python3-venv
ensure_venv "$SBW_BUILD_VENV" scripts/requirements-build.txt
installed="$(rustup target list --installed)"
for target in aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu; do
  grep -qx "$target" <<<"$installed" || rustup target add "$target"
done
