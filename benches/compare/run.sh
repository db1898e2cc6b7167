#!/usr/bin/env bash
# The peer comparison, in one command (from anywhere):
#
#   bash benches/compare/run.sh [flags]
#
# Builds lightapi's `examples/bench` (release, with the PostgreSQL and
# MariaDB drivers) and this crate (release), then runs the driver with the
# given flags (see `--help`; defaults: 3 alternating rounds of 2 s warm-up +
# 8 s measured, 64 connections, every section, servers on CPU 0, load
# generator on CPU 1). PostgreSQL and MariaDB parts are skipped, with the
# reason, when their servers do not answer. Results are printed and written
# as JSON (`--out`, default benches/compare/target/compare-<unix time>.json).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v taskset >/dev/null || { echo "run.sh: taskset (util-linux) is needed" >&2; exit 1; }
(cd "$root" && cargo build --release --example bench --features postgres,mysql)
(cd "$here" && cargo build --release)
exec "$here/target/release/lightapi-compare" --lightapi "$root/target/release/examples/bench" "$@"
