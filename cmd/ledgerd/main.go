// Command ledgerd runs the licledger server: the Pebble log, the embedded NATS server with
// JetStream (or a connection to an external cluster), the micro service "ledger", and HTTP
// health, readiness and metrics.
package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/natsapi"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/licensefile"
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
		// The write path allocates per command, and collecting less often than Go's default pays,
		// but only up to a point: a heap let grow further is fresh memory every cycle (span set-up,
		// clearing, cache misses). Measured 2026-12-05 (docs/BENCHMARKS.md, "GOGC"): seat.register
		// at 64 clients cost 107 us of CPU each at 400, 98 at 200, 94-100 at 100; license.validate
		// 18.3 us at 400, 18.9 at 200, 20.2 at 100. GOGC in the environment overrides this.
		debug.SetGCPercent(200)
	}
	if len(os.Args) > 1 && os.Args[1] == "nats-callout-key" {
		if err := printCalloutKey(os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerd:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "license-key" && os.Args[2] == "rotate" {
		if err := rotateLicenseKey(os.Args[3:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerd:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "check" {
		if err := checkData(os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerd:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "rebuild" {
		if err := rebuild(os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerd:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "restore" {
		if err := restore(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerd:", err)
			os.Exit(1)
		}
		return
	}
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
	kp, err := natsapi.LoadCalloutIssuer(cfg.Data, true)
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

// rotateLicenseKey is `ledgerd license-key rotate [--data DIR]`: the current license signing
// key is retired (it stays listed by license.signing-keys until every file it signed has expired)
// and a new one signs from the next start.
func rotateLicenseKey(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	keys, err := datadir.RotateLicenseKey(cfg.Data, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "new license signing key %s; it signs from ledgerd's next start\n",
		licensefile.KeyID(keys[len(keys)-1].Private.Public().(ed25519.PublicKey)))
	return err
}

// rebuild is `ledgerd rebuild [--data DIR] [name ...]`: it drops the named read models' stored
// state (all of them if none is named) and rebuilds it from sequence 0. ledgerd must not be
// running on the data dir (the log's lock says so if it is). A read model whose version changed
// is rebuilt at start without this; the command is for a suspected corruption, or to pay the
// rebuild before a planned start.
func rebuild(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	store, err := openStopped(cfg.Data, eventstore.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	defer store.Close()
	secrets, err := loadSecrets(cfg.Data)
	if err != nil {
		return err
	}
	names := cfg.Args
	if len(names) == 0 {
		names = handlers.ProjectionNames()
	}
	began := time.Now()
	if _, err := handlers.RebuildLedger(handlers.Options{Store: store, Secrets: secrets, Log: log}, names); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	took := time.Since(began)
	events := store.Durable()
	fmt.Fprintf(stdout, "rebuilt %s from %d events in %s (%.0f events/s)\n",
		strings.Join(names, ", "), events, took.Round(time.Millisecond), float64(events)/max(took.Seconds(), 1e-9))
	return store.Close()
}

// checkData is `ledgerd check [--data DIR]`: on a stopped ledger's data dir, opened read-only, it
// compares the stored read models, caught up with the log, with read models rebuilt from
// sequence 0, and names the first record that differs (exit status 1).
func checkData(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(cfg.Args) > 0 {
		return fmt.Errorf("check: unexpected argument %q", cfg.Args[0])
	}
	store, err := openStopped(cfg.Data, eventstore.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer store.Close()
	began := time.Now()
	restoredAt, err := handlers.CheckReadModels(store)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	fmt.Fprintf(stdout, "the stored read models (checkpoint %d, caught up to %d) equal a rebuild from sequence 0 (%s)\n",
		restoredAt, store.Durable(), time.Since(began).Round(time.Millisecond))
	return nil
}

// openStopped opens the log of a data dir no ledgerd is running on.
func openStopped(data string, opts eventstore.Options) (*eventstore.Store, error) {
	dir := filepath.Join(data, "log")
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no ledger in %s: %w", data, err)
	}
	store, err := eventstore.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("%w (is ledgerd running on %s?)", err, data)
	}
	return store, nil
}

// loadSecrets reads the data dir's server key (creating it on first start) and derives the
// ledger's secrets from it.
func loadSecrets(dataDir string) (*handlers.Secrets, error) {
	key, err := datadir.LoadServerKey(dataDir, handlers.ServerKeySize)
	if err != nil {
		return nil, err
	}
	return handlers.NewSecrets(key)
}
