// Command ledgerd runs the licledger server: the Pebble log, the embedded NATS server with
// JetStream (or a connection to an external cluster), the micro service "ledger", and HTTP
// health, readiness and metrics.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
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
