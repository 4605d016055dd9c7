#!/usr/bin/env bash
# The machine's ceiling for the ledger's NATS figures (see internal/floorbench): a bare NATS echo
# responder, then one that also appends each request to Pebble in a synced group commit, each
# loaded with 1 and with 64 clients from a separate process. Usage: scripts/bench-floor.sh [seconds]
set -euo pipefail
secs=${1:-10}
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/floorbench" ./internal/floorbench
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for fsync in false true; do
  # GOMAXPROCS=4 as ledgerd's default, for the same reason (docs/BENCHMARKS.md).
  GOMAXPROCS=4 "$work/floorbench" -serve -fsync="$fsync" -listen "127.0.0.1:$port" -data "$work/pebble" >"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do grep -q serving "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
  echo "floor: NATS echo, fsync=$fsync"
  for clients in 1 64; do
    "$work/floorbench" -url "nats://127.0.0.1:$port" -clients "$clients" -duration "${secs}s"
  done
  kill "$pid"; wait "$pid" || true; pid=
  grep 'group commits' "$work/serve.log" || true
done
