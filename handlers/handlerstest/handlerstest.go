// Package handlerstest starts the real parts the edges' tests need: a ledger on a Pebble log in a
// temp dir, bootstrapped, with its projector running, and a nats-server on a loopback port. Only
// tests import it.
package handlerstest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/handlers"
)

// Ledger is a running test ledger: the core, its store and data dir, and the bootstrap
// system-admin's token.
type Ledger struct {
	*handlers.Ledger
	Store *eventstore.Store
	Dir   string
	Token string
}

// Start opens a ledger built from o (Store and Secrets are made here; o.Clock, if set, is the
// store's clock too), bootstraps it and runs its projector until the test ends.
func Start(t testing.TB, o handlers.Options) *Ledger {
	t.Helper()
	l, ctx := open(t, o)
	if _, err := l.Bootstrap(ctx, l.Dir); err != nil {
		t.Fatal(err)
	}
	go l.Run(ctx)
	tok, err := os.ReadFile(l.Dir + "/" + handlers.BootstrapTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	l.Token = strings.TrimSpace(string(tok))
	return l
}

// StartPartition is Start for partition o.Partition of a partitioned ledger other than 0: not
// bootstrapped (such a partition copies its administrators from partition 0), so with no token.
func StartPartition(t testing.TB, o handlers.Options) *Ledger {
	t.Helper()
	l, ctx := open(t, o)
	go l.Run(ctx)
	return l
}

// open builds the ledger Start and StartPartition run, and the context that ends with the test.
func open(t testing.TB, o handlers.Options) (*Ledger, context.Context) {
	t.Helper()
	dir := t.TempDir()
	store, err := eventstore.Open(dir+"/log", eventstore.Options{Clock: o.Clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if o.Secrets, err = handlers.NewSecrets(bytes.Repeat([]byte{7}, handlers.ServerKeySize)); err != nil {
		t.Fatal(err)
	}
	o.Store = store
	if o.LicenseKeys == nil {
		o.LicenseKeys = []handlers.LicenseKey{{Private: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))}}
	}
	l, err := handlers.NewLedger(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &Ledger{Ledger: l, Store: store, Dir: dir}, ctx
}

// Must sends a command or query as the bootstrap admin and returns its reply's result; a refusal
// fails the test.
func (l *Ledger) Must(t testing.TB, name, body string) json.RawMessage {
	t.Helper()
	r := handlers.Request{Name: name, Body: []byte(body), Token: l.Token}
	run := l.Command
	if handlers.IsQuery(name) {
		run = l.Query
	}
	reply, f := run(context.Background(), r)
	if f != nil {
		t.Fatalf("%s %s: %s", name, body, f.Body())
	}
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(reply, &out); err != nil {
		t.Fatal(err)
	}
	return out.Result
}

// StartNATS runs a real nats-server on a free loopback port until the test ends; opts add to
// that (JetStream, an authenticator).
func StartNATS(t testing.TB, opts server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	ns, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return ns
}
