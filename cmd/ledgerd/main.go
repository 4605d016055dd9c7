// Command ledgerd runs the licledger server: the Pebble log, the embedded NATS server with
// JetStream (or a connection to an external cluster), the micro service "ledger", and HTTP
// health, readiness and metrics.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

// minProcs is the fewest Ps ledgerd runs with (see main).
const minProcs = 4

func main() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
		// Pebble's WAL fsync is an ordinary blocking syscall that keeps its P. With as many Ps as
		// cores, the runtime may leave the P parked for the whole fsync, and nobody reads the
		// network to fill the next group commit. Measured: on one core, 1 P gave ~1 command per
		// fsync and 1,400/s, 4 Ps gave 28 per fsync and 10,700/s; on two cores, 4 Ps beat 2 by
		// about 30% at 64 clients (docs/BENCHMARKS.md). GOMAXPROCS in the environment overrides.
		runtime.GOMAXPROCS(minProcs)
	}
	if os.Getenv("GOGC") == "" {
		// The write path allocates per command; collecting less often buys throughput with memory
		// a ledger host has. GOGC in the environment overrides this.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(1)
	}
}
