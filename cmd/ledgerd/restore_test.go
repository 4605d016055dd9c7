package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
	jspub "github.com/licledger/licledger/eventstore/jetstream"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/internal/testreport"
)

// TestRestoreFromStream runs ledgerd on an external nats-server under load, kills it with SIGKILL
// once the stream has caught up, and deletes its data dir. `ledgerd restore --from-stream` rebuilds
// the log from LEDGER_EVENTS, byte for byte, checked against the latest checkpoint in
// LEDGER_CHECKPOINTS; ledgerd starts on it and serves every acknowledged command's effect, with
// the tokens issued before (the server key came back from the key backup). A retried command
// is not applied twice, and new commands go on at the next sequence, published on the same
// stream. Restores that must not happen (a wrong key, a data dir that has a log) change nothing.
func TestRestoreFromStream(t *testing.T) { restoreFromStream(t, false) }

// TestClusterLosesNothing is TestRestoreFromStream on a three-node cluster run from
// deploy/nats-cluster.conf, with --replicas 3; under load, one NATS node is killed with SIGKILL
// and, once more commands were acknowledged without it, started again.
func TestClusterLosesNothing(t *testing.T) { restoreFromStream(t, true) }

func restoreFromStream(t *testing.T, cluster bool) {
	if testing.Short() {
		t.Skip("runs nats-server and ledgerd as subprocesses")
	}
	root := t.TempDir()
	ledgerd := buildLedgerd(t)
	data, backup := filepath.Join(root, "data"), filepath.Join(root, "keys")
	d := prepareNATS(t, root, data)
	nodes := []*natsServer{d.server(t, root, "nats-server.conf", "nats")}
	replicas := "1"
	if cluster {
		nodes, replicas = natsCluster(t, d, root), "3"
	}
	var urls []string
	for _, ns := range nodes {
		ns.start(t)
		t.Cleanup(func() {
			if ns.p.cmd.ProcessState == nil {
				ns.stop(t)
			}
		})
		urls = append(urls, "nats://"+ns.addr)
	}
	url, password := strings.Join(urls, ","), d.password
	t.Cleanup(func() { // what the servers said, for a failure
		if t.Failed() {
			for _, f := range append([]string{filepath.Join(root, "ledgerd.log")}, logPaths(nodes)...) {
				b, _ := os.ReadFile(f)
				t.Logf("%s, last 3000 bytes:\n%s", f, b[max(0, len(b)-3000):])
			}
		}
	})
	env := []string{"LICLEDGER_NATS_PASSWORD=" + password}
	getenv := func(name string) string {
		if name == "LICLEDGER_NATS_PASSWORD" {
			return password
		}
		return ""
	}
	httpAddr := freeAddr(t)
	ledger := startSubprocess(t, ledgerd, filepath.Join(root, "ledgerd.log"), env,
		"--data", data, "--nats-url", url, "--http-listen", httpAddr, "--checkpoint-interval", "50ms", "--replicas", replicas)
	token := readToken(t, data)
	// The operator's backup of the data dir's keys, taken after the first start.
	if err := os.MkdirAll(backup, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, file := range handlers.KeyFiles {
		if b, err := os.ReadFile(filepath.Join(data, file)); err == nil {
			if err := os.WriteFile(filepath.Join(backup, file), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}

	admin := client.New(connect(t, url, token), token)
	admin.Timeout = 5 * time.Second
	lic := setupLicense(t, admin, "restore", 1_000_000)
	clients := loadClients(t, url, token, 4, 5*time.Second)
	load := startSeatLoad(t, clients, 2, lic, "", nil)
	load.more(t, 1000, "before any fault")
	if cluster {
		killed := nodes[1]
		if err := killed.p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = killed.p.wait()
		load.more(t, 300, "with one NATS node killed")
		killed.start(t)
		load.more(t, 300, "after the NATS node came back")
	}
	acked := load.stop()
	// A checkpoint in LEDGER_CHECKPOINTS covers what was acknowledged so far.
	owner, err := nats.Connect(url, nats.UserInfo("ledgerd", password), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	js, err := jetstream.New(owner)
	if err != nil {
		t.Fatal(err)
	}
	covered := acked[len(acked)-1].event.Sequence
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// An error is retried: a cluster whose node just came back may be electing the stream's
		// leader.
		signed, err := jspub.LatestCheckpoint(t.Context(), js)
		if err == nil && signed != nil {
			if c, err := eventstore.OpenCheckpoint(signed, checkpointVerifier(t, backup)); err != nil {
				t.Fatal(err)
			} else if c.Size >= covered {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint in the stream covers sequence %d (last error: %v)", covered, err)
		}
	}
	// Then more commands, which the next checkpoint may not cover when ledgerd dies; everything
	// acknowledged is published. (An event on the lost disk only, not yet in the stream, cannot
	// come back: see README, "Restoring a lost data dir".)
	load = startSeatLoad(t, clients[:1], 1, lic, "tail-", nil)
	for deadline := time.Now().Add(30 * time.Second); load.count() < 20; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ledger stopped acknowledging")
		}
	}
	acked = append(acked, load.stop()...)
	for deadline := time.Now().Add(30 * time.Second); metric(t, httpAddr, "licledger_publication_lag_events") != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the outbox did not catch up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := ledger.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = ledger.wait()
	original := logBytes(t, filepath.Join(data, "log"))
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}

	args := []string{"--from-stream", "--nats-url", url, "--data", data, "--keys", backup}
	// A wrong verifier key: refused before anything is written.
	other, err := eventstore.GenerateCheckpointKey("someone-else")
	if err != nil {
		t.Fatal(err)
	}
	otherV, _ := eventstore.VerifierKey(other)
	if err := restore(t.Context(), append(args, "--key", otherV), getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("restore with another key: %v, want the checkpoint refused", err)
	}
	if _, err := os.Stat(filepath.Join(data, "log")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused restore left a log: %v", err)
	}

	var out bytes.Buffer
	if err := restore(t.Context(), args, getenv, &out, io.Discard); err != nil {
		b, _ := os.ReadFile(filepath.Join(root, "ledgerd.log"))
		t.Fatalf("restore: %v\n%s", err, b)
	}
	t.Log(strings.TrimSpace(out.String()))
	restored := logBytes(t, filepath.Join(data, "log"))
	if len(restored) != len(original) {
		t.Fatalf("restored %d events, the lost log had %d", len(restored), len(original))
	}
	for i := range original {
		if !bytes.Equal(restored[i], original[i]) {
			t.Fatalf("event %d differs from the lost log's", i+1)
		}
	}
	if err := restore(t.Context(), args, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "holds a log") {
		t.Fatalf("restore over a log: %v, want it refused", err)
	}

	// ledgerd serves the restored log: the old token works, every acknowledged registration is
	// an active seat, a retry is refused, and a new command lands at the next sequence.
	httpAddr = freeAddr(t)
	ledger = startSubprocess(t, ledgerd, filepath.Join(root, "ledgerd-restored.log"), env,
		"--data", data, "--nats-url", url, "--http-listen", httpAddr, "--checkpoint-interval", "50ms", "--replicas", replicas)
	waitReady(t, httpAddr, 60*time.Second)
	nc := connect(t, url, token)
	admin = client.New(nc, token)
	admin.Timeout = 5 * time.Second
	verifyReadModel(t, admin, lic, verifyStream(t, js, acked)) // every registration is an active seat
	_, err = admin.Command(t.Context(), "seat.register", seat(lic, acked[0].id), acked[0].id)
	wantCode(t, err, 409, string(handlers.CodeCommandRestored))
	r, err := admin.Command(t.Context(), "seat.register", seat(lic, "after-restore"), "after-restore")
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(len(original) + 1); r.Events[0].Sequence != want {
		t.Fatalf("the first command after the restore is at sequence %d, want %d", r.Events[0].Sequence, want)
	}
	for deadline := time.Now().Add(30 * time.Second); metric(t, httpAddr, "licledger_publication_lag_events") != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the restored ledger did not publish its new event")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stream := verifyStream(t, js, acked)
	if err := ledger.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ledger.wait(); err != nil {
		t.Fatalf("ledgerd did not stop cleanly: %v", err)
	}
	n := streamEqualsLog(t, data, stream)
	if cluster {
		info, err := js.Stream(t.Context(), jspub.StreamName)
		if err != nil {
			t.Fatal(err)
		}
		if c := info.CachedInfo(); c.Config.Replicas != 3 || c.Cluster == nil || len(c.Cluster.Replicas) != 2 {
			t.Fatalf("LEDGER_EVENTS is not kept in three copies: config %d replicas, cluster %+v", c.Config.Replicas, c.Cluster)
		}
		testreport.Line(t, "3-node NATS cluster: one node SIGKILLed under load and restarted, then ledgerd SIGKILLed and its data dir restored from the R3 stream: %d events, acknowledged commands: %d, lost: 0, stream equals log: %d events", len(restored), len(acked), n)
		return
	}
	testreport.Line(t, "restored from the stream: %d events after SIGKILL and a deleted data dir, acknowledged commands: %d, lost: 0, stream equals log: %d events", len(restored), len(acked), n)
}

func logPaths(nodes []*natsServer) []string {
	var out []string
	for _, ns := range nodes {
		out = append(out, ns.logPath)
	}
	return out
}

// checkpointVerifier is the verifier key of the signing key backed up in dir.
func checkpointVerifier(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, handlers.CheckpointKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := eventstore.VerifierKey(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// logBytes reads every event of the stopped log in dir.
func logBytes(t *testing.T, dir string) [][]byte {
	t.Helper()
	s, err := eventstore.Open(dir, eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out [][]byte
	if _, err := s.Read(1, 0, func(e eventstore.Event) error {
		out = append(out, bytes.Clone(e.Bytes))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRestoreRefusesAStreamThatDoesNotReproduceItsCheckpoint: a stream whose events were changed,
// or that ends before its latest checkpoint, is refused, and so is a key backup without the server
// key; the data dir gets neither a log nor keys.
func TestRestoreRefusesAStreamThatDoesNotReproduceItsCheckpoint(t *testing.T) {
	skey, err := eventstore.GenerateCheckpointKey(handlers.CheckpointKeyName)
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	for file, content := range map[string]string{handlers.ServerKeyFile: "a server key\n", handlers.CheckpointKeyFile: skey + "\n"} {
		if err := os.WriteFile(filepath.Join(keys, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A log of 30 events and its checkpoint.
	src, err := eventstore.Open(t.TempDir(), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := range 30 {
		if _, err := src.Submit(t.Context(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
			return nil, tx.Append("s", eventstore.AnyVersion, eventstore.Record{Type: "thing.happened.v1", Subject: "s", Data: []byte(`{"i":` + strconv.Itoa(i) + `}`)})
		}}); err != nil {
			t.Fatal(err)
		}
	}
	var checkpoint []byte
	ctx, stop := context.WithCancel(t.Context())
	stop() // Run hashes the whole log and signs a last checkpoint, then returns
	tw := &eventstore.TreeWriter{Store: src, SigningKey: skey, OnCheckpoint: func(c eventstore.Checkpoint) { checkpoint = c.Signed }}
	if err := tw.Run(ctx); !errors.Is(err, context.Canceled) || checkpoint == nil {
		t.Fatalf("signing: %v, checkpoint %q", err, checkpoint)
	}
	var events [][]byte
	if _, err := src.Read(1, 0, func(e eventstore.Event) error { events = append(events, bytes.Clone(e.Bytes)); return nil }); err != nil {
		t.Fatal(err)
	}
	changed := slices.Clone(events)
	changed[6] = bytes.Replace(changed[6], []byte(`{"i":6}`), []byte(`{"i":7}`), 1)

	noServerKey := t.TempDir()
	if err := os.WriteFile(filepath.Join(noServerKey, handlers.CheckpointKeyFile), []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		stream [][]byte
		keys   string
		want   string
	}{
		{"changed", changed, keys, "do not give checkpoint 30"},
		{"cut short", events[:20], keys, "missing"},
		{"no server key in the backup", events, noServerKey, handlers.ServerKeyFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := startJetStream(t)
			nc, err := nats.Connect(ns.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			if _, err := js.CreateStream(t.Context(), jspub.Config(1)); err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.stream {
				if _, err := js.Publish(t.Context(), jspub.Subject("", "s", "thing.happened.v1"), e); err != nil {
					t.Fatal(err)
				}
			}
			if err := jspub.PublishCheckpoint(t.Context(), js, 1, checkpoint); err != nil {
				t.Fatal(err)
			}
			data := t.TempDir()
			err = restore(t.Context(), []string{"--from-stream", "--nats-url", ns.ClientURL(), "--data", data, "--keys", tc.keys}, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want an error naming %q", err, tc.want)
			}
			if left, _ := os.ReadDir(data); len(left) != 0 {
				t.Fatalf("a refused restore left %v in the data dir", left)
			}
		})
	}
}
