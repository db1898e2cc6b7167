#!/usr/bin/env bash
# What an application that depends on lightapi gets: builds a new crate
# outside this repository (so this repository's .cargo/config.toml does not
# apply), whose main is examples/person.rs, three ways, and prints each
# one's stripped size and idle RSS:
#
#   plain   `lightapi = { path = … }` and `cargo build --release`, nothing else
#   recipe  the same plus the README's recipe: the release profile
#           (lto, codegen-units = 1, libsqlite3-sys at opt-level "s") in the
#           application's Cargo.toml and LIBSQLITE3_FLAGS in its
#           .cargo/config.toml
#   lean    the recipe plus `default-features = false, features = ["sqlite"]`
#           (no /docs explorer)
#
#   bash benches/dependent.sh
#
# Each variant builds its dependencies from scratch (a few minutes each).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lightapi-dependent.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

FLAGS=$(sed -n 's/^LIBSQLITE3_FLAGS = "\(.*\)"$/\1/p' .cargo/config.toml)
[ -n "$FLAGS" ] || { echo "LIBSQLITE3_FLAGS not found in .cargo/config.toml" >&2; exit 1; }

# Writes a crate at $1 depending on lightapi with dependency spec $2; $3 = 1
# adds the recipe.
make_crate() {
  local dir=$1 spec=$2 recipe=$3
  mkdir -p "$dir/src" "$dir/.cargo"
  cp examples/person.rs "$dir/src/main.rs"
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "app"
version = "0.1.0"
edition = "2021"

[dependencies]
lightapi = { path = "$REPO"$spec }
EOF
  if [ "$recipe" = 1 ]; then
    cat >>"$dir/Cargo.toml" <<'EOF'

[profile.release]
lto = true
codegen-units = 1

[profile.release.package.libsqlite3-sys]
opt-level = "s"
EOF
    printf '[env]\nLIBSQLITE3_FLAGS = "%s"\n' "$FLAGS" >"$dir/.cargo/config.toml"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Idle RSS in KiB of the binary $1, started on a fresh SQLite file.
idle_rss() {
  local bin=$1 port pid rss
  port=$(free_port)
  rm -f "$WORK"/idle.db*
  (cd "$WORK" && exec env LIGHTAPI_PORT="$port" LIGHTAPI_DATABASE_URL=sqlite://idle.db \
    LIGHTAPI_LOG=off LIGHTAPI_JWT_SECRET=0123456789abcdef0123456789abcdef "$bin" >/dev/null 2>&1) &
  pid=$!
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),timeout=1).close()" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  sleep 1
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$rss"
}

printf '%-8s %14s %12s\n' variant "stripped bytes" "idle RSS"
for variant in plain recipe lean; do
  dir=$WORK/$variant
  case $variant in
    plain) make_crate "$dir" "" 0 ;;
    recipe) make_crate "$dir" "" 1 ;;
    lean) make_crate "$dir" ', default-features = false, features = ["sqlite"]' 1 ;;
  esac
  (cd "$dir" && env -u LIBSQLITE3_FLAGS cargo build --release --quiet)
  cp "$dir/target/release/app" "$WORK/app-$variant"
  strip "$WORK/app-$variant"
  size=$(stat -c %s "$WORK/app-$variant")
  rss=$(idle_rss "$WORK/app-$variant")
  printf '%-8s %14s %9s KiB\n' "$variant" "$size" "$rss"
done
