#!/usr/bin/env bash
# Resident memory: idle RSS of examples/person (the main example, on a fresh
# SQLite file; as built by default and statically linked) and of
# examples/bench; then the bench server holding 10,000
# idle keep-alive connections (each has completed one request), and a check
# that it still answers a new client. Also reports the stripped size of the
# release build of examples/custom.
#
# RSS counts file-backed pages (the binary's code, libc) that the kernel maps
# from the page cache, shared with other processes and reclaimable; how many
# it maps on a fault depends on the kernel and on what is cached. Each RSS
# figure is therefore printed with its anonymous part (heap, stacks: the
# memory the process itself uses) and its PSS (shared pages divided among
# the processes mapping them).
#
#   bash benches/memory.sh            # 10,000 connections
#   CONNS=2000 bash benches/memory.sh
#
# Targets: idle RSS <= 4 MB; RSS with 10,000 idle connections <= 60 MB;
# stripped examples/custom <= 2 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-10000}
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}

# The server and the client each need one descriptor per connection, and
# the server keeps a tenth of its limit in reserve (it clamps its
# connection cap to the rest): raise the soft limit to cover both.
WANT=$((CONNS * 12 / 10 + 1024))
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt "$WANT" ]; then
  echo "the hard descriptor limit ($HARD) is below $WANT; run with a lower CONNS" >&2
  exit 1
fi
ulimit -n "$WANT"

cargo build --release --example bench --example custom --example person >/dev/null 2>&1 \
  || cargo build --release --example bench --example custom --example person


# "RSS KiB (MiB): anonymous A KiB, file-backed F KiB, PSS P KiB" for a pid.
breakdown() {
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Anonymous:/ {a=$2}
       END {printf "%d KiB (%.2f MiB): anonymous %d KiB, file-backed %d KiB, PSS %d KiB\n", r, r/1024, a, r-a, p}' \
    "/proc/$1/smaps_rollup"
}

# Waits until something listens on port $1, without leaving a connection open.
wait_port() {
  python3 - "$1" <<'PY'
import socket, sys, time
deadline = time.time() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("server did not start")
        time.sleep(0.05)
PY
}

# Idle examples/person ($1, described as $2), in a scratch directory (its
# database is a new file).
idle_person() {
  local dir port pid
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$dir" && LIGHTAPI_HOST=127.0.0.1 LIGHTAPI_PORT=$port LIGHTAPI_LOG=error exec "$1") &
  pid=$!
  wait_port "$port"
  sleep 1
  echo "idle RSS, examples/person ($2): $(breakdown $pid), threads: $(ls /proc/$pid/task | wc -l)"
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  rm -rf "$dir"
}

idle_person "$PWD/target/release/examples/person" "default build"

# The same example linked statically (glibc's static libc): no shared libc
# or loader to map, which is most of a small process's file-backed RSS. A
# deployment choice for the smallest footprint, shown beside the default.
HOST_TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
case "$HOST_TRIPLE" in
  *-linux-gnu)
    RUSTFLAGS="-C target-feature=+crt-static" \
      cargo build --release --example person --target "$HOST_TRIPLE" >/dev/null 2>&1 \
      || RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --example person --target "$HOST_TRIPLE"
    idle_person "$PWD/target/$HOST_TRIPLE/release/examples/person" "statically linked"
    ;;
esac

LIGHTAPI_HOST=127.0.0.1 LIGHTAPI_PORT=$PORT LIGHTAPI_LOG=error \
LIGHTAPI_IDLE_TIMEOUT_MS=600000 LIGHTAPI_MAX_CONNECTIONS=$((CONNS + 100)) \
  target/release/examples/bench &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT

wait_port "$PORT"
sleep 1
echo "idle RSS, examples/bench: $(breakdown $SERVER), threads: $(ls /proc/$SERVER/task | wc -l)"

# Open the connections, send one request on each, read each response, keep
# them all open; then report RSS and check a fresh client is still served.
python3 - "$PORT" "$CONNS" "$SERVER" <<'PY'
import selectors, socket, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
req = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
socks, sel = [], selectors.DefaultSelector()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    socks.append(s)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, bytearray())
    if i % 500 == 499:
        time.sleep(0.01)  # let the server keep up with accept
pending, deadline = n, time.time() + 60
while pending and time.time() < deadline:
    for key, _ in sel.select(timeout=1):
        data = key.fileobj.recv(4096)
        if not data:
            sys.exit("a connection was closed by the server")
        key.data.extend(data)
        if key.data.endswith(b"Hello, World!"):
            sel.unregister(key.fileobj)
            pending -= 1
if pending:
    sys.exit(f"{pending} connections got no response")
time.sleep(1)
fields = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{pid}/smaps_rollup") if l.split()[-1] == "kB"}
rss, anon, pss = fields["Rss"], fields["Anonymous"], fields["Pss"]
print(f"RSS with {n} idle keep-alive connections: {rss} KiB ({rss/1024:.2f} MiB): "
      f"anonymous {anon} KiB, file-backed {rss - anon} KiB, PSS {pss} KiB")
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(req)
reply = b""
while not reply.endswith(b"Hello, World!"):
    chunk = c.recv(4096)
    if not chunk:
        break
    reply += chunk
print("still answering:", reply.split(b"\r\n", 1)[0].decode())
# The held connections are still open: none has seen end of input.
alive = 0
for s in socks:
    try:
        alive += 0 if s.recv(1) == b"" else 1
    except BlockingIOError:
        alive += 1
print(f"held connections still open: {alive} of {n}")
PY

cp target/release/examples/custom /tmp/lightapi-custom-stripped
strip /tmp/lightapi-custom-stripped
SIZE=$(stat -c %s /tmp/lightapi-custom-stripped)
echo "stripped examples/custom: ${SIZE} bytes ($(awk -v b=$SIZE 'BEGIN {printf "%.2f", b/1048576}') MiB)"
