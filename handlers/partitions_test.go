package handlers

import (
	"context"
	"errors"
	"testing"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/wire"
)

// TestOnlyPartitionZeroDecidesSystemWideData: every partition holds the system-wide data, but a
// partition other than 0 only copies it. Asked to decide some (here the bootstrap credential; in
// ledgerd, a system webhook's pause or an unaddressed HTTP command), it refuses with
// MISADDRESSED and appends nothing; partition 0 decides it.
func TestOnlyPartitionZeroDecidesSystemWideData(t *testing.T) {
	for _, part := range []wire.Partition{{Index: 0, Count: 2}, {Index: 1, Count: 2}} {
		dir := t.TempDir()
		store, err := eventstore.Open(dir+"/log", eventstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		l, err := NewLedger(Options{Store: store, Secrets: testSecrets(t), LicenseKeys: testLicenseKeys(), Partition: part})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Bootstrap(context.Background(), dir)
		var de *domain.Error
		switch {
		case part.Index == 0 && err != nil:
			t.Errorf("%s: bootstrap: %v", part, err)
		case part.Index > 0 && (!errors.As(err, &de) || de.Code != CodeMisaddressed):
			t.Errorf("%s decided system-wide data (bootstrap: %v); want MISADDRESSED", part, err)
		case part.Index > 0 && store.Durable() != 0:
			t.Errorf("%s refused, yet its log holds %d events", part, store.Durable())
		}
	}
}
