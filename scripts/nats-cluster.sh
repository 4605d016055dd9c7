# Sourced by the cluster benchmarks: start_cluster WORK PARTITIONS starts three nats-server nodes
# from deploy/nats-cluster.conf as shipped (but for loopback addresses, stores under WORK, and the
# mapping's partition count), with their callout answered by the ledger of WORK/data0. It expects
# $bin/ledgerd and $bin/nats-server, appends the nodes' pids to pids, exports what ledgerd needs
# (LICLEDGER_NATS_PASSWORD) and sets url to the three nodes' URLs.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secret() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

start_cluster() {
  local work=$1 partitions=$2 i
  export LICLEDGER_CALLOUT_ISSUER=$("$bin/ledgerd" nats-callout-key --data "$work/data0")
  export LICLEDGER_NATS_PASSWORD=$(secret) LICLEDGER_NATS_ROUTE_PASSWORD=$(secret)
  local client_ports=($(port) $(port) $(port)) route_ports=($(port) $(port) $(port))
  for i in 1 2 3; do
    export "LICLEDGER_NATS_ROUTE_$i=nats-route://route:$LICLEDGER_NATS_ROUTE_PASSWORD@127.0.0.1:${route_ports[$((i-1))]}"
  done
  local urls=()
  for i in 1 2 3; do
    mkdir -p "$work/nats-$i"
    sed -e "s|store_dir: /var/lib/nats|store_dir: \"$work/nats-$i/store\"|" \
        -e "s|listen: 0.0.0.0:6222|listen: 127.0.0.1:${route_ports[$((i-1))]}|" \
        -e "s|partition(1,3)|partition($partitions,3)|g" deploy/nats-cluster.conf >"$work/nats-$i/nats.conf"
    LICLEDGER_NATS_SERVER_NAME="nats-$i" "$bin/nats-server" -c "$work/nats-$i/nats.conf" \
      -a 127.0.0.1 -p "${client_ports[$((i-1))]}" 2>"$work/nats-$i/log" &
    pids+=($!)
    urls+=("nats://127.0.0.1:${client_ports[$((i-1))]}")
  done
  url=$(IFS=,; echo "${urls[*]}")
}

# wait_ready PORT LOG waits up to 30 s for ledgerd's /readyz on PORT, and prints LOG and fails if
# it does not come.
wait_ready() {
  for _ in $(seq 300); do curl -fs "127.0.0.1:$1/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
  curl -fs "127.0.0.1:$1/readyz" >/dev/null || { cat "$2"; exit 1; }
}
