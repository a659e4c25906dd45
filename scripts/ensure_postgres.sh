#!/usr/bin/env bash
# Make sure the local PostgreSQL server answers on 127.0.0.1:5432, starting it when it is down.
set -euo pipefail

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}

if pg_isready -q -h "$host" -p "$port"; then
  exit 0
fi
echo "PostgreSQL is not answering on $host:$port; starting it" >&2
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
if [ -z "$version" ]; then
  echo "error: no PostgreSQL cluster under /etc/postgresql; install PostgreSQL first" >&2
  exit 1
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 1 30); do
  if pg_isready -q -h "$host" -p "$port"; then
    exit 0
  fi
  sleep 1
done
echo "error: PostgreSQL did not come up on $host:$port within 30 s" >&2
exit 1
