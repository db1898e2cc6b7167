#!/usr/bin/env bash
# Instructions the server's event-loop thread executes per request, counted
# by callgrind while `benches/pipeline.rs` sends batches of 16 pipelined
# requests: a figure that does not depend on the machine's load, for
# before/after comparisons of the request path.
#
#   bash benches/instructions.sh                      # GET /plaintext
#   LIGHTAPI_PIPELINE_PATH=/json bash benches/instructions.sh
#   KEEP=/tmp/cg bash benches/instructions.sh         # keep callgrind's files
#
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

BATCHES=${LIGHTAPI_PIPELINE_BATCHES:-3000}
export LIGHTAPI_PIPELINE_BATCHES=$BATCHES
BIN=$(cargo bench --bench pipeline --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "pipeline" and m.get("executable"):
        print(m["executable"])')
OUT=${KEEP:-$(mktemp -d)}; mkdir -p "$OUT"
trap '[ -n "${KEEP:-}" ] || rm -rf "$OUT"' EXIT
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$OUT/cg.out" "$BIN" \
  2> "$OUT/valgrind.log"
# One output file per thread; the event loop is the thread that did the most
# work apart from the main thread (the client).
python3 - "$OUT" "$BATCHES" <<'PY'
import glob, os, sys
out, batches = sys.argv[1], int(sys.argv[2])
counts = {}
for f in glob.glob(os.path.join(out, "cg.out-*")):
    for line in open(f):
        if line.startswith("summary:"):
            counts[f] = int(line.split()[1])
            break
threads = sorted(counts.items(), key=lambda kv: kv[0])
main = threads[0][0] if threads else None
server = max((kv for kv in threads if kv[0] != main), key=lambda kv: kv[1])
requests = batches * 16
print(f"event-loop thread: {server[1]:,} instructions for {requests:,} requests: "
      f"{server[1] / requests:,.0f} per request")
PY
