#!/usr/bin/env bash
# Starts Redis and PostgreSQL for the tests when they are not already answering, and makes sure the
# test role and database exist. Idempotent; works as root and as a normal user.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .services

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
wait_for() { for _ in $(seq 1 50); do "$1" && return 0; sleep 0.2; done; return 1; }

if ! redis_up; then
  echo "Starting Redis on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$PWD/.services" --logfile "$PWD/.services/redis.log"
  wait_for redis_up || { echo "Redis did not start; see .services/redis.log" >&2; exit 1; }
fi

if ! pg_up; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if [ "$(id -u)" -eq 0 ] && [ -d "/etc/postgresql/$version/main" ]; then
    echo "Starting the PostgreSQL $version cluster"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  else
    # A normal user cannot start the system cluster: run a private one owned by this user.
    bin="/usr/lib/postgresql/$version/bin"
    data="$PWD/.services/pg"
    if [ ! -d "$data" ]; then
      "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
    fi
    echo "Starting a private PostgreSQL $version in $data"
    "$bin/pg_ctl" -D "$data" -l "$PWD/.services/pg.log" \
      -o "-h 127.0.0.1 -p 5432 -k $PWD/.services" start >/dev/null
  fi
  wait_for pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi

# The tests connect as wapipe/wapipe and create a database of their own per run.
if ! PGPASSWORD=wapipe psql -h 127.0.0.1 -U wapipe -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  sql="DO \$\$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wapipe') THEN
           CREATE ROLE wapipe LOGIN PASSWORD 'wapipe' CREATEDB;
         ELSE
           ALTER ROLE wapipe LOGIN PASSWORD 'wapipe' CREATEDB;
         END IF;
       END \$\$;"
  if psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "$sql"
  elif [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- psql -d postgres -qc "$sql"
  else
    echo "Cannot create the PostgreSQL role 'wapipe'. As a superuser run:" >&2
    echo "  CREATE ROLE wapipe LOGIN PASSWORD 'wapipe' CREATEDB;" >&2
    exit 1
  fi
  PGPASSWORD=wapipe psql -h 127.0.0.1 -U wapipe -d postgres -Atqc 'select 1' >/dev/null || {
    echo "The role 'wapipe' exists but cannot log in over TCP with a password: check pg_hba.conf" >&2
    exit 1
  }
fi
echo "Redis and PostgreSQL are answering"
