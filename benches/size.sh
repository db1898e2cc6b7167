#!/usr/bin/env bash
# Binary size: the stripped release builds of examples/custom (one custom
# endpoint, no model), examples/person and examples/bench, with this
# repository's build settings (Cargo.toml's release profile,
# .cargo/config.toml); then whether examples/custom links code only models
# need.
#
# A program that registers no model reaches the model machinery (the
# database and its drivers, the bundled SQLite, SQL, CRUD, the models'
# OpenAPI parts) only through a model's registration (src/app/models.rs),
# so none of it may be linked into examples/custom. The script names the
# model-only functions it finds there and exits with status 1 if there
# are any; it sets no size threshold.
#
#   bash benches/size.sh
#
# Target: stripped examples/custom <= 2 MB (2,097,152 bytes).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --example custom --example person --example bench >/dev/null 2>&1 \
  || cargo build --release --example custom --example person --example bench

STRIPPED=$(mktemp)
trap 'rm -f "$STRIPPED"' EXIT
for example in custom person bench; do
  strip -o "$STRIPPED" "target/release/examples/$example"
  SIZE=$(stat -c %s "$STRIPPED")
  echo "stripped examples/$example: $SIZE bytes ($(awk -v b="$SIZE" 'BEGIN {printf "%.2f", b/1048576}') MiB)"
done

# Functions of the model machinery (drop glue of the types the builder
# names is not code of it).
MODEL_ONLY='sqlite3_|lightapi::(app::models|backend::open|backend::sql|crud::ops|openapi::model)::'
LINKED=$(nm -C target/release/examples/custom | grep -E "$MODEL_ONLY" | grep -v drop_in_place || true)
if [ -n "$LINKED" ]; then
  echo "examples/custom links model-only code ($(echo "$LINKED" | wc -l) functions), e.g.:"
  echo "$LINKED" | head -20
  exit 1
fi
echo "examples/custom links no model-only code"
