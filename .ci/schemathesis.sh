#!/usr/bin/env bash
# Fuzzes the example APIs from their own OpenAPI documents.
#
#   bash .ci/schemathesis.sh                 # person and shop
#   bash .ci/schemathesis.sh person          # one example
#   MAX_EXAMPLES=20 MAX_TIME=60 bash .ci/schemathesis.sh
#
# For each example: builds target/debug/examples/<name>, starts it on a free
# port with a fixed LIGHTAPI_JWT_SECRET and a fresh SQLite file, mints an
# HS256 admin token with Python's standard library, validates /openapi.json
# against the OpenAPI 3.1 schema (.ci/openapi_check.py), lints it with
# `redocly lint` and its recommended rules (redocly.yaml; any problem,
# warnings included, fails), then runs
# `schemathesis run` with every check and a bounded number of examples per
# operation. Exits non-zero on any failure. Tools are installed from PyPI
# into the venv target/ci-venv (versions pinned in .ci/requirements.txt),
# Redocly CLI from npm into target/redocly (version pinned below).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES="${MAX_EXAMPLES:-50}"   # per operation
MAX_TIME="${MAX_TIME:-300}"          # seconds per example app (hard bound)
WORKERS="${WORKERS:-1}"   # >1 trips a CPython 3.11.7 ast bug in hypothesis
SEED="${SEED:-}"
EXAMPLES=("$@")
[ ${#EXAMPLES[@]} -gt 0 ] || EXAMPLES=(person shop)

VENV=target/ci-venv
if [ ! -x "$VENV/bin/st" ] || ! "$VENV/bin/pip" freeze 2>/dev/null | grep -qxF -f .ci/requirements.txt; then
    "${PYTHON:-python3}" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -r .ci/requirements.txt
fi

REDOCLY_VERSION=2.77.0
REDOCLY=target/redocly/node_modules/.bin/redocly
if [ ! -x "$REDOCLY" ] || ! grep -q "\"version\": \"$REDOCLY_VERSION\"" target/redocly/node_modules/@redocly/cli/package.json 2>/dev/null; then
    npm install --silent --no-audit --no-fund --prefix target/redocly "@redocly/cli@$REDOCLY_VERSION"
fi

cargo build --quiet --examples

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lightapi-st.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

SECRET="schemathesis-ci-secret-0123456789abcdef"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

mint_token() {
    SECRET="$SECRET" python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "fuzzer", "is_admin": True, "iat": now, "exp": now + 3600}).encode())
sig = hmac.new(os.environ["SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(sig)}")
PY
}

status=0
for example in "${EXAMPLES[@]}"; do
    port="$(free_port)"
    base="http://127.0.0.1:$port"
    echo "== schemathesis: $example on $base"
    LIGHTAPI_PORT="$port" LIGHTAPI_HOST=127.0.0.1 LIGHTAPI_JWT_SECRET="$SECRET" \
        LIGHTAPI_DATABASE_URL="sqlite://$WORK/$example.db" LIGHTAPI_LOG=error \
        LIGHTAPI_LOGIN_PER_MINUTE=1000000 LIGHTAPI_LOGIN_PER_HOUR=100000000 \
        "target/debug/examples/$example" >"$WORK/$example.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fsS "$base/healthz" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$example.log"; exit 1; }
        sleep 0.1
    done
    "$VENV/bin/python" .ci/openapi_check.py "$base/openapi.json" || status=1
    curl -fsS "$base/openapi.json" -o "$WORK/$example.json"
    # Problems are counted from the JSON report: warnings fail too.
    if ! REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true "$REDOCLY" lint --config redocly.yaml \
            --format json "$WORK/$example.json" >"$WORK/$example.lint.json" 2>"$WORK/$example.lint.log" \
        || ! "$VENV/bin/python" -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; sys.exit(1 if t["errors"] or t["warnings"] else 0)' "$WORK/$example.lint.json"; then
        echo "redocly lint: problems in $example's document:"
        REDOCLY_TELEMETRY=off "$REDOCLY" lint --config redocly.yaml --format stylish "$WORK/$example.json" 2>&1 | tail -n 40
        status=1
    else
        echo "redocly lint (recommended rules): no problems"
    fi
    token="$(mint_token)"
    args=(--config-file .ci/schemathesis.toml run "$base/openapi.json" --checks all --max-examples "$MAX_EXAMPLES"
          --exclude-checks positive_data_acceptance
          --workers "$WORKERS" --request-timeout 10
          -H "Authorization: Bearer $token" --warnings off)
    [ -n "$SEED" ] && args+=(--seed "$SEED")
    PYTHONPATH=.ci SCHEMATHESIS_HOOKS=schemathesis_hooks timeout "$MAX_TIME" "$VENV/bin/st" "${args[@]}" || status=1
    if grep -q . "$WORK/$example.log"; then
        echo "-- server log ($example):"; tail -n 50 "$WORK/$example.log"
    fi
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
done
exit "$status"
