package handlers

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/wire"
)

// testLedger is a real ledger on a Pebble log in a temp dir, bootstrapped, with its projector
// running until the test ends.
type testLedger struct {
	*Ledger
	store *eventstore.Store
	dir   string
	token string // the bootstrap system-admin's
}

func newTestLedger(t testing.TB) *testLedger { return newTestLedgerWith(t, eventstore.Options{}) }

// newTestLedgerWith is newTestLedger with the store's options (a test's clock).
func newTestLedgerWith(t testing.TB, opts eventstore.Options) *testLedger {
	t.Helper()
	return newTestLedgerIn(t, opts, wire.Partition{})
}

// newTestLedgerIn is newTestLedgerWith for partition part of a partitioned ledger (it must be
// partition 0: no other bootstraps an admin).
func newTestLedgerIn(t testing.TB, opts eventstore.Options, part wire.Partition) *testLedger {
	t.Helper()
	l, store, dir := openTestLedger(t, opts, part)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := l.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	go l.Run(ctx)
	tok, err := os.ReadFile(dir + "/" + BootstrapTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return &testLedger{Ledger: l, store: store, dir: dir, token: strings.TrimSpace(string(tok))}
}

// openTestLedger opens a ledger (partition part of a partitioned one, or the zero Partition) on a
// fresh Pebble log in a temp dir, neither bootstrapped nor running.
func openTestLedger(t testing.TB, opts eventstore.Options, part wire.Partition) (*Ledger, *eventstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	store, err := eventstore.Open(dir+"/log", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	l, err := NewLedger(Options{Store: store, Secrets: testSecrets(t), LicenseKeys: testLicenseKeys(), Partition: part})
	if err != nil {
		t.Fatal(err)
	}
	return l, store, dir
}
