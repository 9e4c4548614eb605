#!/usr/bin/env bash
# The browser libraries Debian's R packages carry in the wrong version,
# fetched from the npm registry at the version the R code is written for:
#
# - plotly.js 2.11.1: r-cran-plotly 4.10.1 bundles plotly.js 1.31, and the
#   charts its R code writes for 2.x stay blank;
# - bootstrap-datepicker 1.9.0: r-cran-shiny 1.7.4 links Debian's 1.3.1,
#   which throws at every page load once Shiny takes it over (noConflict).
#
# The app serves these copies instead (R/vendor.R). Pinned twice: the
# tarball must match the registry's integrity hash, the committed files
# their SHA256SUMS.
#
#   tools/vendor-js.sh          fetch, verify, (re)write www/vendor/
#   tools/vendor-js.sh --check  verify the committed files only (offline)
set -euo pipefail

VENDOR="$(cd "$(dirname "$0")/.." && pwd)/www/vendor"
# directory  package@version  files in the package (the first is the script)  its version banner
LIBRARIES=(
  "plotly|plotly.js-dist-min@2.11.1|plotly.min.js LICENSE|plotly.js v2.11.1"
  "bootstrap-datepicker|bootstrap-datepicker@1.9.0|dist/js/bootstrap-datepicker.min.js LICENSE|Datepicker for Bootstrap v1.9.0"
)

check() {
  local dir="$1" banner="$2" script="$3"
  (cd "$VENDOR/$dir" && sha256sum --quiet --check SHA256SUMS)
  grep -q "$banner" "$VENDOR/$dir/$(basename "$script")" || {
    echo "$VENDOR/$dir/$(basename "$script") is not $banner" >&2
    return 1
  }
}

fetch() {
  local dir="$1" package="$2" files="$3" work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  read -r tarball integrity < <(npm view "$package" dist.tarball dist.integrity --json |
    node -e 'const d = JSON.parse(require("fs").readFileSync(0)); console.log(d["dist.tarball"], d["dist.integrity"])')
  curl -fsSL "$tarball" -o "$work/package.tgz"
  local actual
  actual="sha512-$(openssl dgst -sha512 -binary "$work/package.tgz" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "$package: the tarball's hash $actual is not the registry's $integrity" >&2
    return 1
  fi
  local names=()
  for file in $files; do names+=("package/$file"); done
  tar -xzf "$work/package.tgz" -C "$work" "${names[@]}"
  rm -rf "${VENDOR:?}/$dir"
  mkdir -p "$VENDOR/$dir"
  cp "${names[@]/#/$work/}" "$VENDOR/$dir/"
  (cd "$VENDOR/$dir" && sha256sum -- * >SHA256SUMS)
  echo "$package ($integrity) -> $VENDOR/$dir"
}

for library in "${LIBRARIES[@]}"; do
  IFS='|' read -r dir package files banner <<<"$library"
  if [ "${1:-}" = "--check" ]; then
    check "$dir" "$banner" "${files%% *}"
  else
    fetch "$dir" "$package" "$files"
    check "$dir" "$banner" "${files%% *}"
  fi
done
