#!/usr/bin/env bash
# The Lambda packages for real: `sbwctl build` for arm64 and x86_64 (release,
# cargo-zigbuild, glibc 2.34), then the package tests: each zip holds an
# executable `bootstrap`, needs no glibc newer than 2.34, and completes
# invocations against the local Lambda Runtime API (arm64 under
# qemu-user-static with Debian's arm64 glibc). The cross builds stay in
# $CARGO_TARGET_DIR, so later runs only rebuild what changed.
set -euo pipefail
source "$(dirname "$0")/lib/ensure.sh"
cd "$SBW_ROOT"
bash scripts/setup-build.sh
ensure_apt qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross

build_sbwctl
out="$CARGO_TARGET_DIR/lambda-packages"
for arch in arm64 x86_64; do
  log "sbwctl build --arch $arch"
  start=$(date +%s)
  "$CARGO_TARGET_DIR/debug/sbwctl" build --arch "$arch" --out "$out/$arch"
  echo "build $arch: $(( $(date +%s) - start )) s"
done

log "package tests"
SBW_LAMBDA_PACKAGES="$out" SBW_ARM64_SYSROOT=/usr/aarch64-linux-gnu \
  cargo test --workspace --locked --test lambda_packages -- --ignored
