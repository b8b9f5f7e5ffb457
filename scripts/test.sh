#!/usr/bin/env bash
# The whole test suite. Installs the test peers it needs when they are missing (Debian packages;
# needs root or sudo), then runs every test. A missing peer is an error, never a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v nft >/dev/null 2>&1 || need+=(nftables)
if [ -x scripts/test-peers.sh ]; then
    # Probe peers (nsd, openssl, ...) are installed by their own script.
    scripts/test-peers.sh
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "installing test peers: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
        || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi

scripts/check-layers.sh
cargo test --workspace --no-fail-fast "$@"
