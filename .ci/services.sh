#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432), MariaDB (127.0.0.1:3306) and Redis
# (127.0.0.1:6379) answer, starting them with the machine's own commands when
# they do not.
set -u

wait_for() { # name, check command
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "$name: up"; return 0; fi
    sleep 1
  done
  echo "$name: not answering" >&2
  return 1
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q >/dev/null 2>&1; }
my_up() { mariadb -h 127.0.0.1 -P 3306 -u root -e "SELECT 1" >/dev/null 2>&1; }

if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_up; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for postgres pg_up || exit 1
  psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null || exit 1
else
  echo "postgres: client tools missing; PostgreSQL tests will report themselves skipped"
fi

if command -v mariadb >/dev/null 2>&1; then
  if ! my_up; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  wait_for mariadb my_up || exit 1
  mariadb -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS test' || exit 1
else
  echo "mariadb: client tools missing; MariaDB tests will report themselves skipped"
fi
# The rate limit tests of the `redis` feature need Redis: it is required.
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
if command -v redis-cli >/dev/null 2>&1; then
  if ! redis_up; then
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes >/dev/null || true
  fi
  wait_for redis redis_up || exit 1
else
  echo "redis: redis-cli missing; the rate limit tests of the redis feature will fail" >&2
  exit 1
fi
exit 0
