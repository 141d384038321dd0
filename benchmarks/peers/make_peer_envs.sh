#!/usr/bin/env bash
# Create the virtual environments of the peer libraries that the CLV and attribution
# comparison tests and benchmarks run in a subprocess:
#   .peers/lifetimes/            lifetimes 0.11.3 (needs pandas<2.2, scipy<1.14, numpy<2)
#   .peers/channelattribution/   ChannelAttribution 2.2.5 (needs matplotlib at import)
# Usage: benchmarks/peers/make_peer_envs.sh [lifetimes|channelattribution ...]
# Idempotent: an environment that already imports its peer is left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PEER_PYTHON:-python3}"
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(lifetimes channelattribution)

make_env() {  # name, import check, packages...
  local name="$1" check="$2"; shift 2
  local dir=".peers/$name"
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
    echo "peer env $dir: ready"
    return
  fi
  echo "peer env $dir: creating"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade pip
  "$dir/bin/python" -m pip install --quiet --prefer-binary "$@"
  "$dir/bin/python" -c "$check"
  echo "peer env $dir: ready"
}

for peer in "${wanted[@]}"; do
  case "$peer" in
    lifetimes)
      make_env lifetimes "import lifetimes" \
        "lifetimes==0.11.3" "pandas<2.2" "scipy<1.14" "numpy<2" "autograd" ;;
    channelattribution)
      make_env channelattribution "import ChannelAttribution" \
        "ChannelAttribution==2.2.5" "pandas<2.2" "numpy<2" "matplotlib" ;;
    *) echo "unknown peer: $peer" >&2; exit 2 ;;
  esac
done
