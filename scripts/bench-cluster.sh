#!/usr/bin/env bash
# Durable command throughput of one ledgerd on a three-node NATS cluster (deploy/nats-cluster.conf
# as shipped, JetStream R3, every node on this machine), the load coming from ledgerctl: the same
# runs as scripts/bench-nats.sh, so the two compare the embedded server with the cluster.
# Usage: scripts/bench-cluster.sh [seconds per run]; ACK_REPLICATED=true measures ledgerd
# --ack-replicated (a reply waits until a quorum of nodes stores the command's events).
set -euo pipefail
secs=${1:-10}
work=$(mktemp -d)
bin=$work # where start_cluster finds ledgerd and nats-server
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/ledgerd" ./cmd/ledgerd
go build -o "$work/ledgerctl" ./cmd/ledgerctl
go build -o "$work/nats-server" github.com/nats-io/nats-server/v2
. scripts/nats-cluster.sh
start_cluster "$work" 1
http_port=$(port)
"$work/ledgerd" --data "$work/data0" --nats-url "$url" --replicas 3 --ack-replicated "${ACK_REPLICATED:-false}" --http-listen "127.0.0.1:$http_port" --log-level warn 2>"$work/ledgerd.log" &
pids=($! "${pids[@]}") # ledgerd stops first
wait_ready "$http_port" "$work/ledgerd.log"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3-); three nats-server nodes, R3, --ack-replicated ${ACK_REPLICATED:-false}"
ctl() { "$work/ledgerctl" --nats-url "$url" --token-file "$work/data0/bootstrap-admin.token" "$@"; }
ctl bench --clients 1 --duration "${secs}s"
ctl bench --clients 64 --duration "${secs}s"
curl -fs -H "Authorization: Bearer $(cat "$work/data0/bootstrap-admin.token")" "127.0.0.1:$http_port/metrics" | grep -E '^licledger_(group_commits_total|committed_commands_total|publication_lag_events) '
