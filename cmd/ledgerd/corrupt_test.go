package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licledger/licledger/eventstore"
)

// TestRefusesALogItCannotRead: an event the model cannot decode stops ledgerd at start, naming
// the event, instead of serving state that silently skipped it.
func TestRefusesALogItCannotRead(t *testing.T) {
	data := t.TempDir()
	s, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Submit(context.Background(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		return nil, tx.Append("license/x", 0, eventstore.Record{Type: "license.exploded.v1", Subject: "x", Data: []byte(`{}`)})
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = run(context.Background(), []string{"--data", data, "--nats-listen", freeAddr(t), "--http-listen", freeAddr(t)}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "event 1") || !strings.Contains(err.Error(), "license.exploded.v1") {
		t.Fatalf("run on a log with an unknown event: %v", err)
	}
}
