#!/usr/bin/env bash
# What the test suite needs beyond the Python extras, made once on a fresh machine:
# - the peer libraries' own environments (lifetimes, ChannelAttribution) that CLV and
#   attribution results are compared with (benchmarks/peers/make_peer_envs.sh);
# - a headless browser (Debian's chromium) that opens the demo's HTML report.
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
