#!/usr/bin/env bash
# Two ledgerd binaries alternated on this machine, to see whether a change pays: each round runs
# A then B on a fresh data dir with 64 clients from `ledgerctl bench` (extra bench flags in
# BENCH_FLAGS, e.g. --validate) and prints throughput and ledgerd's CPU per request, read from
# /proc over the load. One run moves several percent; keep a change when every pair agrees.
# Usage: scripts/bench-ab.sh OLD_LEDGERD NEW_LEDGERD [rounds] [seconds]
set -euo pipefail
a=$1 b=$2 rounds=${3:-3} secs=${4:-6}
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/ledgerctl" ./cmd/ledgerctl
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hz=$(getconf CLK_TCK)
for _ in $(seq "$rounds"); do
  for bin in "$a" "$b"; do
    rm -rf "$work/data"
    np=$(port); hp=$(port)
    "$bin" --data "$work/data" --nats-listen "127.0.0.1:$np" --http-listen "127.0.0.1:$hp" --log-level warn 2>"$work/log" &
    pid=$!
    for _ in $(seq 300); do curl -fs "127.0.0.1:$hp/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    # shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
    out=$("$work/ledgerctl" --nats-url "nats://127.0.0.1:$np" --token-file "$work/data/bootstrap-admin.token" \
      bench --clients 64 --duration "${secs}s" ${BENCH_FLAGS:-})
    t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" || true; pid=
    rate=$(sed -n 's/.*throughput=\([0-9]*\)\/s.*/\1/p' <<<"$out")
    awk -v b="$bin" -v r="$rate" -v c="$((t1 - t0))" -v hz="$hz" -v s="$secs" \
      'BEGIN { printf "%-30s %6d/s %7.1f µs CPU per request\n", b, r, (c / hz) * 1e6 / (r * s) }'
  done
done
