#!/usr/bin/env bash
# Switches TLS on in the local PostgreSQL and MariaDB for the database TLS
# tests (tests/it/db_tls.rs), with a test CA and a server certificate for
# `localhost` and 127.0.0.1 in /tmp/lightapi-tls. Each server reads its own
# copy of the key pair in /etc/lightapi-tls, so that it still starts should
# /tmp be emptied. Plain connections keep working. Safe to run again: it
# does nothing when everything is in place.
set -euo pipefail

DIR=/tmp/lightapi-tls
PG_DIR=/etc/lightapi-tls/postgres
PG_CERT=$PG_DIR/server.pem
PG_KEY=$PG_DIR/server.key
MY_DIR=/etc/lightapi-tls/mysql
MY_CONF_DIR=/etc/mysql/mariadb.conf.d
MY_CONF=$MY_CONF_DIR/90-lightapi-tls.cnf

certificates() {
  if [ -s "$DIR/ca.pem" ] && [ -s "$DIR/server.pem" ] && [ -s "$DIR/server.key" ] &&
    openssl x509 -in "$DIR/server.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  echo "tls: generating a test CA and a server certificate in $DIR"
  mkdir -p "$DIR"
  chmod 0755 "$DIR"
  local work
  work=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/CN=lightapi test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
    -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
  printf '%s\n' \
    "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" >"$work/server.ext"
  openssl x509 -req -sha256 -days 825 -in "$work/server.csr" \
    -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -extfile "$work/server.ext" -out "$work/server.pem" 2>/dev/null
  install -m 0644 "$work/ca.pem" "$DIR/ca.pem"
  install -m 0600 "$work/ca.key" "$DIR/ca.key"
  install -m 0644 "$work/server.pem" "$DIR/server.pem"
  install -m 0600 "$work/server.key" "$DIR/server.key"
  rm -rf "$work"
}

# A copy of the key pair readable by one service account only.
install_pair() { # owner, directory
  local owner=$1 dir=$2
  install -d -m 0755 "$(dirname "$dir")" "$dir"
  if ! cmp -s "$DIR/server.pem" "$dir/server.pem" || ! cmp -s "$DIR/server.key" "$dir/server.key"; then
    install -m 0644 -o "$owner" "$DIR/server.pem" "$dir/server.pem"
    install -m 0600 -o "$owner" "$DIR/server.key" "$dir/server.key"
    install -m 0644 -o "$owner" "$DIR/ca.pem" "$dir/ca.pem"
  fi
}

pg_sql() { psql -h 127.0.0.1 -U postgres -d test -Atqc "$1"; }
pg_tls_ok() {
  psql "host=localhost port=5432 user=postgres dbname=test sslmode=verify-full sslrootcert=$DIR/ca.pem" \
    -Atqc 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' 2>/dev/null | grep -qx t
}

pg_tls() {
  if ! command -v psql >/dev/null 2>&1; then
    echo "tls: postgres client tools missing; skipped"
    return 0
  fi
  install_pair postgres "$PG_DIR"
  if [ "$(pg_sql 'SHOW ssl_cert_file')" = "$PG_CERT" ] && pg_tls_ok; then
    echo "tls: postgres: already on"
    return 0
  fi
  pg_sql "ALTER SYSTEM SET ssl = on"
  pg_sql "ALTER SYSTEM SET ssl_cert_file = '$PG_CERT'"
  pg_sql "ALTER SYSTEM SET ssl_key_file = '$PG_KEY'"
  # PostgreSQL 10 and later load new TLS settings on reload.
  pg_sql "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 20); do
    if pg_tls_ok; then echo "tls: postgres: on"; return 0; fi
    sleep 0.5
  done
  echo "tls: postgres: reload did not switch TLS on; restarting"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main restart
  for _ in $(seq 1 60); do
    if pg_tls_ok; then echo "tls: postgres: on"; return 0; fi
    sleep 1
  done
  echo "tls: postgres: TLS connection still refused" >&2
  return 1
}

my() { mariadb -h 127.0.0.1 -P 3306 -u root "$@"; }
my_up() { my -e "SELECT 1" >/dev/null 2>&1; }
my_tls_ok() {
  my --ssl --ssl-ca="$DIR/ca.pem" --ssl-verify-server-cert -h localhost --protocol=tcp \
    -Nse "SHOW STATUS LIKE 'Ssl_cipher'" 2>/dev/null | awk '{print $2}' | grep -q .
}

my_tls() {
  if ! command -v mariadb >/dev/null 2>&1; then
    echo "tls: mariadb client tools missing; skipped"
    return 0
  fi
  install_pair mysql "$MY_DIR"
  local conf
  conf=$(printf '%s\n' "[mysqld]" \
    "ssl_ca = $MY_DIR/ca.pem" \
    "ssl_cert = $MY_DIR/server.pem" \
    "ssl_key = $MY_DIR/server.key")
  if [ -f "$MY_CONF" ] && [ "$(cat "$MY_CONF")" = "$conf" ] && my_tls_ok; then
    echo "tls: mariadb: already on"
    return 0
  fi
  mkdir -p "$MY_CONF_DIR"
  printf '%s\n' "$conf" >"$MY_CONF"
  if ! grep -qs "^!includedir $MY_CONF_DIR" /etc/mysql/my.cnf; then
    printf '\n!includedir %s/\n' "$MY_CONF_DIR" >>/etc/mysql/my.cnf
  fi
  echo "tls: mariadb: restarting with TLS"
  if my_up; then
    mariadb-admin -h 127.0.0.1 -u root shutdown
    for _ in $(seq 1 60); do
      if ! pgrep -x mariadbd >/dev/null; then break; fi
      sleep 0.5
    done
  fi
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do
    if my_up; then break; fi
    sleep 1
  done
  if my_tls_ok; then
    echo "tls: mariadb: on"
  else
    echo "tls: mariadb: TLS connection refused" >&2
    return 1
  fi
}

certificates
pg_tls
my_tls
