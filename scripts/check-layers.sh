#!/usr/bin/env bash
# Proves the layering rules that the compiler alone does not: the engine (the replicated state
# machine and its rules) has no runtime, storage engine or network stack in its normal
# dependency tree. Run by scripts/test.sh; docs/architecture.md lists the rules.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='tokio|sled|openraft|axum|quinn|reqwest|lettre|hyper|russh|async-snmp'
found=$(cargo tree -p netpulse-engine -e normal --prefix none --format '{p}' \
    | awk '{print $1}' | sort -u | grep -Ex "$forbidden" || true)
if [ -n "$found" ]; then
    echo "netpulse-engine must not depend on: $(echo "$found" | tr '\n' ' ')" >&2
    echo "see 'cargo tree -p netpulse-engine -e normal -i <crate>' for the path" >&2
    exit 1
fi
echo "layers: netpulse-engine is free of $forbidden"
