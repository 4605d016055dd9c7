#!/usr/bin/env bash
# Durable command throughput through NATS, the load coming from a separate process (ledgerctl):
# starts ledgerd on a fresh data dir and free ports, runs `ledgerctl bench` with 1 and with 64
# clients, then bulk work: 16 clients sending one seat.register per request against 16 sending
# batch.submit of 500, with the ratio of durable commands per second (target: at least 8), and
# stops ledgerd. Usage: scripts/bench-nats.sh [seconds per run]
set -euo pipefail
secs=${1:-10}
work=$(mktemp -d)
cleanup() {
  if pid=$(cat "$work/pid" 2>/dev/null); then
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done # let it close the log and NATS
  fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/ledgerd" ./cmd/ledgerd
go build -o "$work/ledgerctl" ./cmd/ledgerctl
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nats_port=$(port); http_port=$(port)
"$work/ledgerd" --data "$work/data" --nats-listen "127.0.0.1:$nats_port" --http-listen "127.0.0.1:$http_port" --log-level warn 2>"$work/ledgerd.log" &
echo $! >"$work/pid"
for _ in $(seq 100); do curl -fs "127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3-)"
ctl() { "$work/ledgerctl" --nats-url "nats://127.0.0.1:$nats_port" --token-file "$work/data/bootstrap-admin.token" "$@"; }
ctl bench --clients 1 --duration "${secs}s"
ctl bench --clients 64 --duration "${secs}s"
ctl bench --clients 64 --heartbeat --duration "${secs}s" # floating machines: no event but the first
single=$(ctl bench --clients 16 --duration "${secs}s")
echo "$single"
batched=$(ctl bench --clients 16 --batch 500 --duration "${secs}s")
echo "$batched"
s=$(sed -n 's/.*throughput=\([0-9]*\)\/s.*/\1/p' <<<"$single")
b=$(sed -n 's/.*commands=\([0-9]*\)\/s.*/\1/p' <<<"$batched")
awk -v s="$s" -v b="$b" 'BEGIN { r = b / s; printf "batch/single durable commands per second, 16 clients: %.1f (target >= 8) %s\n", r, (r >= 8 ? "ok" : "BELOW TARGET") }'
curl -fs -H "Authorization: Bearer $(cat "$work/data/bootstrap-admin.token")" "127.0.0.1:$http_port/metrics" | grep -E '^licledger_(group_commits_total|committed_commands_total|publication_lag_events) '
