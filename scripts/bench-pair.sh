#!/usr/bin/env bash
# Two ledgerd binaries measured in alternating slices, for a change too small for bench-ab.sh:
# this machine's speed drifts by 10-20% within a minute, more than such a change gives. Both
# servers run side by side on fresh data dirs; only one is loaded at a time, in short slices in
# the order A B B A, so that drift hits both alike. Each slice is `ledgerctl bench` (extra flags in
# BENCH_FLAGS, e.g. "--clients 1") against one server, with that server's CPU read from /proc
# over the slice. It prints each pair, then how many pairs favour B and the median change.
# Usage: scripts/bench-pair.sh OLD_LEDGERD NEW_LEDGERD [pairs] [seconds per slice]
set -euo pipefail
a=$1 b=$2 pairs=${3:-8} secs=${4:-3}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/ledgerctl" ./cmd/ledgerctl
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hz=$(getconf CLK_TCK)
declare -A url pid
for side in A B; do
  bin=$a; [ "$side" = B ] && bin=$b
  np=$(port); hp=$(port)
  "$bin" --data "$work/data-$side" --nats-listen "127.0.0.1:$np" --http-listen "127.0.0.1:$hp" --log-level warn 2>"$work/log-$side" &
  pid[$side]=$!; pids+=("$!")
  for _ in $(seq 300); do curl -fs "127.0.0.1:$hp/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  url[$side]="nats://127.0.0.1:$np"
done
# slice SIDE: prints "rate cpu_us_per_request" for one slice against that side.
slice() {
  local side=$1 t0 t1 out rate
  t0=$(awk '{print $14 + $15}' "/proc/${pid[$side]}/stat")
  # shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
  out=$("$work/ledgerctl" --nats-url "${url[$side]}" --token-file "$work/data-$side/bootstrap-admin.token" \
    bench --clients 64 --duration "${secs}s" ${BENCH_FLAGS:-})
  t1=$(awk '{print $14 + $15}' "/proc/${pid[$side]}/stat")
  rate=$(sed -n 's/.*throughput=\([0-9]*\)\/s.*/\1/p' <<<"$out")
  awk -v r="$rate" -v c="$((t1 - t0))" -v hz="$hz" -v s="$secs" 'BEGIN { printf "%d %.1f\n", r, (c / hz) * 1e6 / (r * s) }'
}
slice A >/dev/null; slice B >/dev/null # warm both up: the first slice of each pays for setup
results="$work/pairs"
for i in $(seq "$pairs"); do
  read -r ra ca < <(slice A); read -r rb cb < <(slice B)
  read -r rb2 cb2 < <(slice B); read -r ra2 ca2 < <(slice A)
  echo "$(( (ra + ra2) / 2 )) $(( (rb + rb2) / 2 )) $(awk -v x="$ca" -v y="$ca2" 'BEGIN{print (x+y)/2}') $(awk -v x="$cb" -v y="$cb2" 'BEGIN{print (x+y)/2}')" >>"$results"
  tail -1 "$results" | awk -v i="$i" '{ printf "pair %2d: A %6d/s %6.1f µs CPU   B %6d/s %6.1f µs CPU   B/A rate %.3f, CPU %.3f\n", i, $1, $3, $2, $4, $2 / $1, $4 / $3 }'
done
n=$(wc -l <"$results")
median() { sort -g | awk -v n="$n" 'NR == int((n + 1) / 2) { printf "%+.1f%%", ($1 - 1) * 100 }'; }
rate=$(awk '{ print $2 / $1 }' "$results" | median)
cpu=$(awk '{ print $4 / $3 }' "$results" | median)
faster=$(awk '$2 > $1' "$results" | wc -l)
cheaper=$(awk '$4 < $3' "$results" | wc -l)
echo "B faster in $faster of $n pairs, median rate $rate; B cheaper in $cheaper of $n, median CPU per request $cpu"
