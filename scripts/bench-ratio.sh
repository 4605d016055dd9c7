#!/usr/bin/env bash
# The ledger against the machine's floor, interleaved in one run (issue 27): each round measures
# the floor (internal/floorbench: a bare NATS responder with a synced Pebble group commit, the
# same also publishing each record to JetStream as the ledger's relay does, and a bare NATS
# echo) and then ledgerd, each loaded from a separate process, and reads each server's
# CPU time from /proc over its load. It prints, per round, throughput, p99 and CPU per request,
# and the ledger's ratio to the floor beside the target. Usage: scripts/bench-ratio.sh [seconds] [rounds]
set -euo pipefail
secs=${1:-10}
rounds=${2:-2}
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/floorbench" ./internal/floorbench
go build -o "$work/ledgerd" ./cmd/ledgerd
go build -o "$work/ledgerctl" ./cmd/ledgerctl
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# measure NAME CMD...: runs the load CMD, prints "NAME rate p99 cpu_us_per_request" from its
# output (throughput=…/s, p99=…) and the server's ($pid) CPU over it.
measure() {
  local name=$1; shift
  local t0 t1 out rate p99
  t0=$(ticks "$pid")
  out=$("$@")
  t1=$(ticks "$pid")
  rate=$(sed -n 's/.*throughput=\([0-9]*\)\/s.*/\1/p' <<<"$out")
  p99=$(sed -n 's/.* p99=\([^ ]*\).*/\1/p' <<<"$out")
  awk -v n="$name" -v r="$rate" -v p="$p99" -v c="$((t1 - t0))" -v hz="$hz" -v s="$secs" \
    'BEGIN { printf "%s %d %s %.1f\n", n, r, p, (c / hz) * 1e6 / (r * s) }'
}
serve_floor() {
  local p; p=$(port)
  GOMAXPROCS=4 "$work/floorbench" -serve -fsync="$1" -jetstream="${2:-false}" -listen "127.0.0.1:$p" -data "$work/pebble" >"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do grep -q serving "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
  floor_url="nats://127.0.0.1:$p"
}
stop() { kill "$pid"; wait "$pid" || true; pid=; }
echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3-); $secs s per load, $rounds rounds"
for round in $(seq "$rounds"); do
  results="$work/round-$round"
  : >"$results"
  serve_floor true
  measure floor-sync-64 "$work/floorbench" -url "$floor_url" -clients 64 -duration "${secs}s" >>"$results"
  measure floor-sync-1 "$work/floorbench" -url "$floor_url" -clients 1 -duration "${secs}s" >>"$results"
  stop
  serve_floor true true
  measure floor-js-64 "$work/floorbench" -url "$floor_url" -clients 64 -duration "${secs}s" >>"$results"
  measure floor-js-1 "$work/floorbench" -url "$floor_url" -clients 1 -duration "${secs}s" >>"$results"
  stop
  serve_floor false
  measure floor-echo-64 "$work/floorbench" -url "$floor_url" -clients 64 -duration "${secs}s" >>"$results"
  stop
  rm -rf "$work/data"
  np=$(port); hp=$(port)
  "$work/ledgerd" --data "$work/data" --nats-listen "127.0.0.1:$np" --http-listen "127.0.0.1:$hp" --log-level warn 2>"$work/ledgerd.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "127.0.0.1:$hp/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  ctl=("$work/ledgerctl" --nats-url "nats://127.0.0.1:$np" --token-file "$work/data/bootstrap-admin.token" bench --duration "${secs}s")
  measure ledger-64 "${ctl[@]}" --clients 64 >>"$results"
  measure ledger-1 "${ctl[@]}" --clients 1 >>"$results"
  measure validate-64 "${ctl[@]}" --clients 64 --validate >>"$results"
  stop
  echo "round $round:"
  awk '
    { rate[$1] = $2; p99[$1] = $3; cpu[$1] = $4; printf "  %-14s %7d/s  p99 %-9s  %6.1f µs CPU per request\n", $1, $2, $3, $4 }
    END {
      printf "  durable seat.register, 64 clients: %.2f of the floor (target >= 0.60); p99 %s vs %s (target <= 2x)\n", rate["ledger-64"] / rate["floor-sync-64"], p99["ledger-64"], p99["floor-sync-64"]
      printf "  the same against the floor that also publishes to JetStream: %.2f, p99 %s vs %s; CPU per command %.1fx its\n", rate["ledger-64"] / rate["floor-js-64"], p99["ledger-64"], p99["floor-js-64"], cpu["ledger-64"] / cpu["floor-js-64"]
      printf "  one sequential client: %.2f of the floor (target >= 0.80); %.2f of the floor with JetStream\n", rate["ledger-1"] / rate["floor-sync-1"], rate["ledger-1"] / rate["floor-js-1"]
      printf "  anonymous license.validate, 64 clients: %.2f of bare NATS echo (target >= 0.80)\n", rate["validate-64"] / rate["floor-echo-64"]
      printf "  CPU per command: %.1fx the synced floor'"'"'s (target <= 2.5x); per validate %.1fx the echo'"'"'s\n", cpu["ledger-64"] / cpu["floor-sync-64"], cpu["validate-64"] / cpu["floor-echo-64"]
    }' "$results"
done
