#!/usr/bin/env bash
# Durable command throughput of a ledger split by reseller into 1, 2 and 4 partitions, each a
# ledgerd (--replicas 3) on a three-node NATS cluster from deploy/nats-cluster.conf, its mapping
# set to the partition count; everything on this machine. The load is ledgerctl bench with 64
# clients spread over 16 resellers, every command addressed to its reseller, so NATS routes each
# to its partition. Usage: scripts/bench-partitions.sh [seconds per run] [partition counts...]
set -euo pipefail
secs=${1:-10}
shift || true
counts=("${@:-1 2 4}")
counts=(${counts[@]})
bin=$(mktemp -d)
go build -o "$bin/ledgerd" ./cmd/ledgerd
go build -o "$bin/ledgerctl" ./cmd/ledgerctl
go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2
. scripts/nats-cluster.sh
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3-); three nats-server nodes, R3"

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
  pids=()
}
trap 'stop_all; rm -rf "$bin"' EXIT

for n in "${counts[@]}"; do
  work=$(mktemp -d)
  start_cluster "$work" "$n"
  http=()
  for k in $(seq 0 $((n-1))); do
    if [ "$k" -gt 0 ]; then # every partition starts with partition 0's keys
      mkdir -p "$work/data$k"
      cp "$work/data0/server.key" "$work/data0/nats-callout.seed" "$work/data$k/"
    fi
    http_port=$(port)
    "$bin/ledgerd" --data "$work/data$k" --nats-url "$url" --replicas 3 --partition "$k" --partitions "$n" \
      --http-listen "127.0.0.1:$http_port" --log-level warn 2>"$work/ledgerd-$k.log" &
    pids=($! "${pids[@]}") # ledgerds stop first
    wait_ready "$http_port" "$work/ledgerd-$k.log"
    http+=("$http_port")
  done
  echo "== $n partition(s)"
  TIMEFORMAT="cpu seconds: ledgerctl %U user + %S system"
  time "$bin/ledgerctl" --nats-url "$url" --token-file "$work/data0/bootstrap-admin.token" \
    bench --clients 64 --resellers 16 --duration "${secs}s"
  for k in $(seq 0 $((n-1))); do
    metrics=$(curl -fs -H "Authorization: Bearer $(cat "$work/data0/bootstrap-admin.token")" "127.0.0.1:${http[$k]}/metrics" | grep -E '^licledger_(committed_commands_total|publication_lag_events) ')
    echo "partition $k: $(echo "$metrics" | tr '\n' ' ')"
    if ! echo "$metrics" | grep -q '^licledger_publication_lag_events 0$'; then # say why
      tail -5 "$work/ledgerd-$k.log"
      grep -h 'WRN\|ERR' "$work"/nats-*/log | tail -10
    fi
  done
  # Processor time of every process since it started (setup included): where the two cores went.
  ps -o comm=,times= -p "$(IFS=,; echo "${pids[*]}")" | awk '{cpu[$1]+=$2} END {for (c in cpu) printf "cpu seconds: %s %d\n", c, cpu[c]}' 
  stop_all
  rm -rf "$work"
done
