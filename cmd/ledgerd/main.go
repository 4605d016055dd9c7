// Command ledgerd runs the licledger server: the Pebble log, the embedded NATS server with
// JetStream (or a connection to an external cluster), the micro service "ledger", and HTTP
// health, readiness and metrics.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/licledger/licledger/handlers"
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
	if len(os.Args) > 1 && os.Args[1] == "nats-callout-key" {
		if err := printCalloutKey(os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerd:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		os.Exit(1)
	}
}

// printCalloutKey is `ledgerd nats-callout-key [--data DIR]`: it creates the auth callout
// issuer's seed in the data dir if there is none, and prints its public key for the cluster's
// configuration (deploy/nats-server.conf).
func printCalloutKey(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	kp, err := handlers.LoadCalloutIssuer(cfg.Data, true)
	if err != nil {
		return err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, pub)
	return err
}
