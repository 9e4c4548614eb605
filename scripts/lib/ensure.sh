# Idempotent installers shared by the scripts: each does nothing when what it
# installs is already there. Source it; do not run it.

SBW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Build output: $CARGO_TARGET_DIR when set; otherwise one directory under
# ~/.cache shared by every checkout on this machine, so a fresh clone (CI's)
# reuses the compiled dependencies. Cargo's fingerprints decide what is stale.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sbw/target}"

# The Lambda cross-build toolchain (cargo-zigbuild, zig) lives in one venv per
# machine as well: cargo-zigbuild names its linker wrapper after the zig it
# runs, and the linker is part of every build fingerprint, so a venv inside
# each checkout would make every fresh clone rebuild both release targets.
# packaging/src/lib.rs looks in the same place.
export SBW_BUILD_VENV="${SBW_BUILD_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sbw/venv-build}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_apt PKG...: installs the Debian packages that are missing.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv DIR REQUIREMENTS: a Python venv with pinned requirements (DIR
# relative to the checkout unless absolute); reinstalled only when the
# requirements file changes.
ensure_venv() {
  local dir="$1" req="$SBW_ROOT/$2"
  [[ "$dir" = /* ]] || dir="$SBW_ROOT/$dir"
  local stamp="$dir/.requirements.sha256"
  local want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "preparing Python venv $1 from $2"
  python3 -m venv "$dir" 2>/dev/null || { ensure_apt python3-venv; python3 -m venv "$dir"; }
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
}

# ensure_moto: the AWS emulator the tests and benchmarks point the AWS SDK
# at (moto's server, pinned, in the checkout's .venv), as SBW_MOTO_SERVER.
ensure_moto() {
  ensure_venv .venv scripts/requirements-aws-emulator.txt
  export SBW_MOTO_SERVER="$SBW_ROOT/.venv/bin/moto_server"
}

# ensure_rust: cargo on PATH (rustup's default location included).
ensure_rust() {
  [ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
}

# build_sbwctl: $CARGO_TARGET_DIR/debug/sbwctl as `cargo test --workspace` builds it.
# The deploy tests turn on the AWS SDKs' `test-util` feature, so a plain
# `cargo build -p sbwctl` would compile every SDK a second time without it;
# after the Rust tests this is a no-op.
build_sbwctl() {
  (cd "$SBW_ROOT" && cargo test -q --workspace --locked --no-run)
}

# ensure_postgres: a PostgreSQL server the tests reach as a superuser at
# $SBW_TEST_PG_URL (exported). The server at that URL (default: the usual local
# one on 5432) when it answers; otherwise a private throwaway cluster of this
# checkout under /var/tmp (which the postgres user can reach without any
# directory above the checkout changing its permissions) from Debian's
# packages, run by the postgres user: listening on
# 127.0.0.1:$SBW_TEST_PG_PORT (default 55432) only, trust authentication there,
# no fsync (test data only). A second call reuses the running cluster.
ensure_postgres() {
  local url="${SBW_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
  ensure_apt postgresql-client
  if psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then
    log "PostgreSQL: using $url"
    export SBW_TEST_PG_URL="$url"
    ensure_hll
    return 0
  fi
  local port="${SBW_TEST_PG_PORT:-55432}" data
  data="/var/tmp/sbw-pg-test-$(printf '%s' "$SBW_ROOT" | sha256sum | cut -c1-12)"
  export SBW_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  if psql "$SBW_TEST_PG_URL" -qAtc 'select 1' >/dev/null 2>&1; then
    log "PostgreSQL: $url does not answer; reusing the private cluster at $SBW_TEST_PG_URL"
    ensure_hll
    return 0
  fi
  ensure_apt postgresql
  # initdb and pg_ctl refuse to run as root: they run as the postgres user.
  local sudo="" as_postgres=(runuser -u postgres --)
  [ "$(id -u)" -eq 0 ] || { sudo="sudo"; as_postgres=(sudo -u postgres --); }
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  if $sudo test -f "$data/PG_VERSION"; then
    bin="/usr/lib/postgresql/$($sudo cat "$data/PG_VERSION")/bin"
  else
    log "PostgreSQL: $url does not answer; creating a private test cluster in $data"
    $sudo mkdir -p "$data"
    $sudo chown postgres: "$data"
    $sudo chmod 700 "$data"
    "${as_postgres[@]}" "$bin/initdb" -D "$data" -U postgres --no-locale -E UTF8 \
      --auth-local=peer --auth-host=trust >/dev/null
    "${as_postgres[@]}" tee -a "$data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  log "PostgreSQL: starting the private test cluster at $SBW_TEST_PG_URL (log: $data/server.log)"
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $port" -w start >/dev/null
  psql "$SBW_TEST_PG_URL" -qAtc 'select 1' >/dev/null
  ensure_hll
}

# ensure_local_platform: what `sbwctl dev up` runs: PostgreSQL's server programs
# with the hll extension of their newest major version, and R with the
# dashboard's packages (Debian's r-cran-*; iso-codes for country names).
ensure_local_platform() {
  ensure_apt postgresql r-base-core r-cran-shiny r-cran-bslib r-cran-plotly r-cran-dt \
    r-cran-dplyr r-cran-lubridate r-cran-dbi r-cran-rpostgresql r-cran-memoise iso-codes
  ensure_apt "postgresql-$(ls /usr/lib/postgresql | sort -V | tail -n1)-hll"
}

# ensure_hll: the HyperLogLog extension (distinct visitors) for the major
# version of the server at $SBW_TEST_PG_URL, from Debian's packages.
ensure_hll() {
  local major
  major="$(psql "$SBW_TEST_PG_URL" -qAtc 'show server_version_num')"
  ensure_apt "postgresql-$((major / 10000))-hll"
}
