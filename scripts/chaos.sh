#!/usr/bin/env bash
# Long profile of the chaos suite (tests/t70_chaos.rs): the same mesh, faults and invariants as
# the short profile that runs with the test suite, for longer, with more monitors.
#
#   scripts/chaos.sh [--seed N] [--minutes M] [--monitors K] [--rounds R]
#
# Prints the seed first and a summary of what was checked last; a failure names the seed and the
# round, and the same command with that seed replays the same schedule of faults.
# Needs root (network namespaces, nftables, signals to the processes it starts).
set -euo pipefail
cd "$(dirname "$0")/.."

seed=""
minutes=10
monitors=""
rounds=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --minutes) minutes="$2"; shift 2 ;;
        --monitors) monitors="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$seed" ]; then
    seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chaos.sh needs root (network namespaces, nftables)" >&2
    exit 1
fi
if ! command -v nft >/dev/null 2>&1; then
    echo "installing nftables"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables >/dev/null
fi

echo "chaos: seed $seed, $minutes minutes (replay: scripts/chaos.sh --seed $seed --minutes $minutes)"
export NETPULSE_CHAOS_SEED="$seed" NETPULSE_CHAOS_MINUTES="$minutes"
[ -n "$monitors" ] && export NETPULSE_CHAOS_MONITORS="$monitors"
[ -n "$rounds" ] && export NETPULSE_CHAOS_ROUNDS="$rounds"
# The processes' own logs go to stderr; keep them to errors so the rounds stay readable.
export NETPULSE_TEST_LOG="${NETPULSE_TEST_LOG:-error,openraft=off}"
status=0
cargo test --test e2e t70_chaos::long_profile_faults_break_no_invariant -- \
    --exact --ignored --nocapture || status=$?
if [ "$status" -ne 0 ]; then
    echo "chaos: FAILED with seed $seed (replay: scripts/chaos.sh --seed $seed --minutes $minutes)" >&2
fi
exit "$status"
