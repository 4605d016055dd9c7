package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/internal/datadir"
)

// TestPersonalDataIsSealedAndShredded: an admin's names, email address and password hash reach
// the log, the stream and audit.events only sealed under a key of that admin's; replies show them
// in the clear; deleting the admin destroys the key, and the history stays as it was.
func TestPersonalDataIsSealedAndShredded(t *testing.T) {
	data := t.TempDir()
	url, _, stop := startInProcess(t, data)
	token := readToken(t, data)
	nc := connect(t, url, token)
	admin := client.New(nc, token)
	ctx := context.Background()
	setupLicense(t, admin, "pd", 1)
	r, err := admin.Command(ctx, "admin.create", map[string]any{"resellerId": "pdr", "username": "ada", "userProfileType": "reseller-admin",
		"firstName": "Augusta", "lastName": "Lovelace", "emailAddress": "ada@analytical.example", "password": "Engine1843x"}, "")
	if err != nil || !strings.Contains(string(r.Result), `"emailAddress":"ada@analytical.example"`) || !strings.Contains(string(r.Result), `"lastName":"Lovelace"`) {
		t.Fatalf("admin.create: %v %s", err, r.Raw)
	}
	r, err = admin.Command(ctx, "admin.update", map[string]any{"username": "ada", "emailAddress": "countess@analytical.example"}, "")
	if err != nil || !strings.Contains(string(r.Result), `"emailAddress":"countess@analytical.example"`) || !strings.Contains(string(r.Result), `"firstName":"Augusta"`) {
		t.Fatalf("admin.update: %v %s", err, r.Raw)
	}
	personal := [][]byte{[]byte("analytical.example"), []byte("Lovelace"), []byte("Augusta"), []byte("$argon2id$")}
	scan := func(where string, b []byte) {
		t.Helper()
		for _, p := range personal {
			if bytes.Contains(b, p) {
				t.Errorf("%s holds %q in the clear", where, p)
			}
		}
	}
	last := lastSequence(t, admin, ctx)
	js, _ := jetstream.New(nc)
	waitStreamAt(t, js, last)
	before := readStream(t, js)
	sealed := 0
	for _, m := range before {
		scan("the stream", m.data)
		sealed += bytes.Count(m.data, []byte(`"pii:v1:`))
	}
	if sealed < 5 { // names, email and hash on create; the new email on update
		t.Fatalf("only %d sealed values in the stream", sealed)
	}
	raw, err := admin.Query(ctx, "audit.events", map[string]any{"type": "admin.created.v1", "limit": 10})
	if err != nil || !strings.Contains(string(raw), `piiKey`) {
		t.Fatalf("audit.events: %v %s", err, raw)
	}
	scan("audit.events", raw)

	if _, err := admin.Command(ctx, "admin.delete", map[string]any{"username": "ada"}, ""); err != nil {
		t.Fatal(err)
	}
	stop()
	// The key is gone from the store, and the history before the deletion is byte for byte
	// what it was.
	store, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys := 0
	if err := store.ScanMeta("pii/", func(string, []byte) error { keys++; return nil }); err != nil || keys != 0 {
		t.Fatalf("%d personal data keys after the admin's deletion (%v)", keys, err)
	}
	_, err = store.Read(1, len(before), func(e eventstore.Event) error {
		if !bytes.Equal(e.Bytes, before[e.Sequence-1].data) {
			t.Errorf("event %d changed", e.Sequence)
		}
		scan("the log", e.Bytes)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// And the history verifies against every checkpoint the ledger signed, as `ledgerctl audit
	// verify --data` checks it.
	vkey, err := datadir.CheckpointVerifierKey(data)
	if err != nil {
		t.Fatal(err)
	}
	checkpoints, err := store.StoredCheckpoints(vkey)
	if err != nil || len(checkpoints) == 0 {
		t.Fatalf("%d checkpoints (%v)", len(checkpoints), err)
	}
	if err := store.VerifyLog(eventstore.NewVerifier(checkpoints...), nil); err != nil {
		t.Fatalf("the history after the admin's deletion: %v", err)
	}
}
