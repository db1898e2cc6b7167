#!/usr/bin/env bash
# Memory under clients that never read: examples/person on a fresh SQLite
# file with 50 rows whose `name` is 1,000,000 characters, then 10 clients
# that each send `GET /person?page_size=50` and read nothing. Prints the
# server's VmRSS before the clients, its peak while they hold their
# connections (sampled every 0.25 s for $HOLD seconds, default 40: past
# the 30 s write timeout), and at the end; then what each client was
# answered (status line, or nothing).
#
#   bash benches/slow_readers.sh                     # this tree, debug build
#   PERSON=/path/to/examples/person bash benches/slow_readers.sh
#   CLIENTS=100 HOLD=20 bash benches/slow_readers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-10}
HOLD=${HOLD:-40}
if [ -z "${PERSON:-}" ]; then
  cargo build --example person >/dev/null 2>&1 || cargo build --example person
  PERSON="$PWD/target/debug/examples/person"
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
DIR=$(mktemp -d)
SECRET="slow-readers-secret-0123456789abcdef"
(cd "$DIR" && LIGHTAPI_HOST=127.0.0.1 LIGHTAPI_PORT=$PORT LIGHTAPI_LOG=error \
  LIGHTAPI_JWT_SECRET=$SECRET exec "$PERSON") &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DIR"' EXIT

SECRET=$SECRET python3 - "$PORT" "$SERVER" "$CLIENTS" "$HOLD" <<'PY'
import base64, hashlib, hmac, http.client, json, os, socket, sys, time
port, pid, clients, hold = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "is_admin": True, "iat": now, "exp": now + 3600}).encode())
sig = hmac.new(os.environ["SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
token = f"{head}.{body}.{b64(sig)}"

deadline = time.time() + 30
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("server did not start")
        time.sleep(0.05)

auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
for i in range(50):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/person", json.dumps({"name": "n" * 1_000_000, "email": f"p{i}@example.com"}), auth)
    r = c.getresponse()
    r.read()
    if r.status != 201:
        sys.exit(f"seeding: {r.status}")
    c.close()
time.sleep(2)
before = rss()
print(f"VmRSS before the clients: {before} KiB ({before/1024:.1f} MiB)")

req = (f"GET /person?page_size=50 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       f"Authorization: Bearer {token}\r\n\r\n").encode()
socks = []
for _ in range(clients):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    socks.append(s)
start, peak, peak_at = time.time(), before, 0.0
while time.time() - start < hold:
    r = rss()
    if r > peak:
        peak, peak_at = r, time.time() - start
    time.sleep(0.25)
end = rss()
print(f"VmRSS peak with {clients} clients not reading: {peak} KiB ({peak/1024:.1f} MiB), "
      f"{peak_at:.1f} s after they sent")
print(f"VmRSS after {hold:.0f} s: {end} KiB ({end/1024:.1f} MiB)")
answers = {}
for s in socks:
    s.settimeout(2)
    try:
        first = s.recv(64)
        line = first.split(b"\r\n", 1)[0].decode() or "closed, nothing sent"
    except OSError as e:
        line = f"error: {e.__class__.__name__}"
    answers[line] = answers.get(line, 0) + 1
for line, n in sorted(answers.items()):
    print(f"  {n} client(s): {line}")
PY
