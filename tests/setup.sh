#!/usr/bin/env bash
# What the test suite needs beyond the Python extras, made once on a fresh machine:
# - the peer libraries' own environments (lifetimes, ChannelAttribution) that CLV and
#   attribution results are compared with (benchmarks/peers/make_peer_envs.sh);
# - a headless browser (Debian's chromium) that opens the demo's HTML report;
# - PostgreSQL's server binaries (initdb, pg_ctl): the PostgreSQL storage tests start their
#   own throw-away server from them, as an unprivileged user, in a temporary directory
#   (tests/storage/conftest.py); no cluster of the system is created, started or used.
set -euo pipefail
cd "$(dirname "$0")/.."
bash benchmarks/peers/make_peer_envs.sh
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (Debian package) for the HTML report test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "tests/setup.sh: install chromium (e.g. sudo apt-get install -y chromium) for the HTML report test" >&2
    exit 1
  fi
fi
if [ -z "${TOUCHPOINT_PG_BINDIR:-}" ] && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
  && ! command -v pg_ctl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL (Debian package) for the PostgreSQL storage tests"
    # the binaries only: no 'main' cluster is made or started by the package
    mkdir -p /etc/postgresql-common
    [ -e /etc/postgresql-common/createcluster.conf ] \
      || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "tests/setup.sh: install PostgreSQL (e.g. sudo apt-get install -y postgresql) or set" \
      "TOUCHPOINT_PG_BINDIR for the PostgreSQL storage tests; they are skipped without it" >&2
  fi
fi
