#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at 127.0.0.1:5432 with trust auth for local connections, as the
# tests expect (user postgres, no password). When none answers: installs Debian's postgresql if it is
# missing, allows local connections without a password, and starts the cluster. Where that cannot be done
# (not root, no apt-get), it says what is missing and exits 1 when AIREG_REQUIRE_POSTGRES=1, else 0 (the
# PostgreSQL tests then skip and say why).
set -u
host=127.0.0.1
port=5432

answers() { pg_isready -h "$host" -p "$port" -q 2>/dev/null; }
missing() {
  echo "postgres.sh: $*" >&2
  if [ "${AIREG_REQUIRE_POSTGRES:-0}" = "1" ]; then exit 1; fi
  exit 0
}

command -v pg_isready >/dev/null 2>&1 && answers && exit 0

can_install=0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then can_install=1; fi

if ! ls /etc/postgresql/*/main/postgresql.conf >/dev/null 2>&1; then
  [ "$can_install" = 1 ] || missing "no PostgreSQL answers at $host:$port and none is installed; install Debian's postgresql (apt-get install postgresql) and start it, with trust auth for local connections"
  echo "installing postgresql (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || missing "apt-get install postgresql failed"
fi

[ "$(id -u)" -eq 0 ] || missing "PostgreSQL is installed but not running; start it (pg_ctlcluster VERSION main start) as root"

for conf_dir in /etc/postgresql/*/main; do
  version=$(basename "$(dirname "$conf_dir")")
  hba="$conf_dir/pg_hba.conf"
  # The tests connect as postgres over TCP and the socket without a password: trust, on this machine only.
  if ! grep -q '^# aireg: trust local connections' "$hba"; then
    tmp=$(mktemp)
    {
      echo '# aireg: trust local connections (tests and the embedded stack on one machine)'
      echo 'local   all all                trust'
      echo 'host    all all 127.0.0.1/32   trust'
      echo 'host    all all ::1/128        trust'
      cat "$hba"
    } >"$tmp"
    cat "$tmp" >"$hba" && rm -f "$tmp"
  fi
  # The suite opens many databases at once (three services per test, several tests' leftovers).
  grep -q '^max_connections = 300' "$conf_dir/postgresql.conf" ||
    echo 'max_connections = 300' >>"$conf_dir/postgresql.conf"
  pg_ctlcluster --skip-systemctl-redirect "$version" main restart >/dev/null 2>&1 ||
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
done

for _ in $(seq 1 30); do
  answers && { echo "PostgreSQL answers at $host:$port"; exit 0; }
  sleep 1
done
missing "PostgreSQL was started but does not answer at $host:$port (see /var/log/postgresql/)"
