#!/usr/bin/env bash
# Durable command throughput of one ledgerd on a three-node NATS cluster (deploy/nats-cluster.conf
# as shipped, JetStream R3, every node on this machine), the load coming from ledgerctl: the same
# runs as scripts/bench-nats.sh, so the two compare the embedded server with the cluster.
# Usage: scripts/bench-cluster.sh [seconds per run]; ACK_REPLICATED=true measures ledgerd
# --ack-replicated (a reply waits until a quorum of nodes stores the command's events).
set -euo pipefail
secs=${1:-10}
work=$(mktemp -d)
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
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secret() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

export LICLEDGER_CALLOUT_ISSUER=$("$work/ledgerd" nats-callout-key --data "$work/data")
export LICLEDGER_NATS_PASSWORD=$(secret) LICLEDGER_NATS_ROUTE_PASSWORD=$(secret)
client_ports=($(port) $(port) $(port)) route_ports=($(port) $(port) $(port))
for i in 1 2 3; do
  export "LICLEDGER_NATS_ROUTE_$i=nats-route://route:$LICLEDGER_NATS_ROUTE_PASSWORD@127.0.0.1:${route_ports[$((i-1))]}"
done
urls=()
for i in 1 2 3; do
  mkdir -p "$work/nats-$i"
  sed -e "s|store_dir: /var/lib/nats|store_dir: \"$work/nats-$i/store\"|" \
      -e "s|listen: 0.0.0.0:6222|listen: 127.0.0.1:${route_ports[$((i-1))]}|" deploy/nats-cluster.conf >"$work/nats-$i/nats.conf"
  LICLEDGER_NATS_SERVER_NAME="nats-$i" "$work/nats-server" -c "$work/nats-$i/nats.conf" \
    -a 127.0.0.1 -p "${client_ports[$((i-1))]}" 2>"$work/nats-$i/log" &
  pids+=($!)
  urls+=("nats://127.0.0.1:${client_ports[$((i-1))]}")
done
url=$(IFS=,; echo "${urls[*]}")
http_port=$(port)
"$work/ledgerd" --data "$work/data" --nats-url "$url" --replicas 3 --ack-replicated "${ACK_REPLICATED:-false}" --http-listen "127.0.0.1:$http_port" --log-level warn 2>"$work/ledgerd.log" &
pids=($! "${pids[@]}") # ledgerd stops first
for _ in $(seq 300); do curl -fs "127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "127.0.0.1:$http_port/readyz" >/dev/null || { cat "$work/ledgerd.log"; exit 1; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3-); three nats-server nodes, R3, --ack-replicated ${ACK_REPLICATED:-false}"
ctl() { "$work/ledgerctl" --nats-url "$url" --token-file "$work/data/bootstrap-admin.token" "$@"; }
ctl bench --clients 1 --duration "${secs}s"
ctl bench --clients 64 --duration "${secs}s"
curl -fs "127.0.0.1:$http_port/metrics" | grep -E '^licledger_(group_commits_total|committed_commands_total|publication_lag_events) '
