package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
)

// TestRestartResumesAndRebuildRebuilds: a restart restores the read models from their stored
// checkpoints (it says so in the log) and answers as before; `ledgerd rebuild` refuses an
// unknown read model and a running ledger, and otherwise rebuilds from sequence 0, after which
// the ledger answers the same again; `ledgerd check` finds the stored state equal to a rebuild,
// and names a seat record damaged on disk.
func TestRestartResumesAndRebuildRebuilds(t *testing.T) {
	data := t.TempDir()
	url, _, stop := startInProcess(t, data)
	token := readToken(t, data)
	nc := connect(t, url, token)
	c := client.New(nc, token)
	lic := setupLicense(t, c, "rb", 100)
	for i := range 7 {
		if _, err := c.Command(context.Background(), "seat.register", seat(lic, fmt.Sprint("user", i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Command(context.Background(), "seat.unregister", seat(lic, "user0"), ""); err != nil {
		t.Fatal(err)
	}
	if err := rebuild([]string{"--data", data}, func(string) string { return "" }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "is ledgerd running") {
		t.Fatalf("rebuild on a running ledger: %v", err)
	}
	want := usage{Seats: 100, Active: 6, Consumed: 7, Remaining: 93}
	if u := quota(t, c, lic); u != want {
		t.Fatalf("before restarting: %+v", u)
	}
	nc.Close()
	stop()

	check := func(what string, logs *bytes.Buffer, wantLog string) {
		t.Helper()
		url, _, stop := startLogging(t, data, &lockedWriter{w: logs})
		defer stop()
		nc := connect(t, url, token)
		defer nc.Close()
		if u := quota(t, client.New(nc, token), lic); u != want {
			t.Fatalf("%s: quota %+v, want %+v", what, u, want)
		}
		nc.Close()
		stop() // the log is read once ledgerd has stopped writing it
		if !strings.Contains(logs.String(), wantLog) {
			t.Fatalf("%s: the log does not say %q:\n%s", what, wantLog, logs)
		}
	}
	check("after a restart", &bytes.Buffer{}, `msg="projection restored" name=licenses`)

	noEnv := func(string) string { return "" }
	if err := run(context.Background(), []string{"--data", data, "rebuidl"}, noEnv, io.Discard); err == nil || !strings.Contains(err.Error(), `unexpected argument "rebuidl"`) {
		t.Fatalf("a mistyped command started a ledger: %v", err)
	}
	if err := rebuild([]string{"--data", t.TempDir()}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no ledger in") {
		t.Fatalf("rebuild of an empty dir: %v", err)
	}
	if err := rebuild([]string{"--data", data, "licences"}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `no read model "licences"`) {
		t.Fatalf("rebuild of an unknown read model: %v", err)
	}
	var out, logs bytes.Buffer
	if err := rebuild([]string{"--data", data, "licenses"}, noEnv, &out, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "rebuilt licenses from ") {
		t.Fatalf("rebuild said %q", out.String())
	}
	// Only the named read model is rebuilt; the other is restored.
	for _, line := range []string{`msg="projection built from sequence 0" name=licenses`, `msg="projection restored" name=credentials`} {
		if !strings.Contains(logs.String(), line) {
			t.Fatalf("rebuild's log does not say %q:\n%s", line, logs.String())
		}
	}
	check("after a rebuild", &bytes.Buffer{}, `msg="projection restored" name=licenses`)

	// ledgerd check compares what is stored with a rebuild, and finds a seat record gone wrong.
	out.Reset()
	if err := checkData([]string{"--data", data}, noEnv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "equal a rebuild from sequence 0") {
		t.Fatalf("ledgerd check: %v %q", err, out.String())
	}
	store, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := store.NewDerivedBatch()
	b.Set([]byte("licenses/r/s/"+lic+"\x00Acme\x00user3"), []byte{0, 0, 0, 0, 0}) // user3 holds a seat
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	store.Close()
	err = checkData([]string{"--data", data}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `user3`) {
		t.Fatalf("ledgerd check on a damaged record: %v", err)
	}
}
