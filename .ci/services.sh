#!/usr/bin/env bash
# Start the services the test suite needs, installing them on a new machine; fail loudly.
set -euo pipefail

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services: installing PostgreSQL" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql postgresql-client >/dev/null
fi

if ! pg_ready; then
  echo "services: starting PostgreSQL" >&2
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
if ! pg_ready; then
  echo "services: PostgreSQL is not reachable on 127.0.0.1:5432; the suite needs it" >&2
  exit 1
fi

url="${MODELYARD_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
if ! psql "$url" -qAtc "select 1" >/dev/null 2>&1; then
  # trust auth as root on a new machine: make sure the database and role exist
  su postgres -c "psql -qc \"select 1\"" >/dev/null 2>&1 || true
  su postgres -c "createdb test" >/dev/null 2>&1 || true
fi
psql "$url" -qAtc "select 1" >/dev/null || { echo "services: cannot connect to $url" >&2; exit 1; }
echo "services: PostgreSQL ready at $url" >&2
