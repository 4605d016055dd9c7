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
	"github.com/licledger/licledger/eventstore/natsstream"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/internal/testreport"
	"github.com/licledger/licledger/wire"
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
// deploy/nats-cluster.conf, with --replicas 3 and --ack-replicated. Under load, one NATS node is
// killed with SIGKILL and, once more commands were acknowledged without it, started again. At
// the end two nodes are killed (JetStream loses its quorum, and nothing more may be acknowledged)
// and ledgerd with them, without waiting for its outbox: every acknowledged command is still
// in the stream, so the restore loses none.
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
	replicas, ackReplicated := "1", "false"
	if cluster {
		nodes, replicas, ackReplicated = natsCluster(t, d, root), "3", "true"
	}
	url, password := startNATS(t, nodes, filepath.Join(root, "ledgerd.log")), d.password
	env, getenv := []string{"LICLEDGER_NATS_PASSWORD=" + password}, passwordEnv(password)
	httpAddr := freeAddr(t)
	ledger := startSubprocess(t, ledgerd, filepath.Join(root, "ledgerd.log"), env,
		"--data", data, "--nats-url", url, "--http-listen", httpAddr, "--checkpoint-interval", "50ms", "--replicas", replicas, "--ack-replicated", ackReplicated)
	token := readToken(t, data)
	// The operator's backup of the data dir's keys, taken after the first start.
	if err := os.MkdirAll(backup, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, file := range datadir.KeyFiles {
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
	js := ownerJetStream(t, url, password)
	covered := acked[len(acked)-1].event.Sequence
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// An error is retried: a cluster whose node just came back may be electing the stream's
		// leader.
		all, err := natsstream.Checkpoints(t.Context(), js, wire.Partition{})
		if err == nil && len(all) > 0 {
			if c, err := eventstore.OpenCheckpoint(all[len(all)-1], mustVerifierKey(t, backup)); err != nil {
				t.Fatal(err)
			} else if c.Size >= covered {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint in the stream covers sequence %d (last error: %v)", covered, err)
		}
	}
	// Then more commands, which the next checkpoint may not cover when ledgerd dies.
	load = startSeatLoad(t, clients[:1], 1, lic, "tail-", nil)
	load.more(t, 20, "after the checkpoint")
	if cluster {
		// --ack-replicated: a command is answered only once the stream holds its events. Two
		// nodes die, so JetStream has no quorum and nothing more is acknowledged, though commands
		// still reach the ledger (and are fsynced there) through the third. Then ledgerd dies
		// too, with no wait for anything: what it acknowledged is in the stream all the same.
		for _, ns := range nodes[1:] {
			if err := ns.p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = ns.p.wait()
		}
		time.Sleep(500 * time.Millisecond) // answers already on their way arrive
		before := load.count()
		time.Sleep(2 * time.Second)
		if more := load.count() - before; more > 0 {
			t.Fatalf("%d commands acknowledged while JetStream had no quorum", more)
		}
		if err := ledger.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = ledger.wait()
		acked = append(acked, load.stop()...)
		for _, ns := range nodes[1:] {
			ns.start(t)
		}
		waitStreamSettled(t, js)
	} else {
		// Without --ack-replicated, what is acknowledged but not yet published cannot come back
		// from the stream (docs/OPERATIONS.md, "Restoring a lost data dir"): wait for the outbox.
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
	}
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
	// The stream is the lost log, or (on the cluster) its prefix: the commands that reached the
	// ledger while JetStream had no quorum are on the lost disk only, and none was acknowledged.
	if len(restored) > len(original) || !cluster && len(restored) != len(original) {
		t.Fatalf("restored %d events, the lost log had %d", len(restored), len(original))
	}
	for i := range restored {
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
	noteMetricsToken(httpAddr, token) // a restored data dir has no token file
	ledger = startSubprocess(t, ledgerd, filepath.Join(root, "ledgerd-restored.log"), env,
		"--data", data, "--nats-url", url, "--http-listen", httpAddr, "--checkpoint-interval", "50ms", "--replicas", replicas, "--ack-replicated", ackReplicated)
	waitReady(t, httpAddr, 60*time.Second)
	nc := connect(t, url, token)
	admin = client.New(nc, token)
	admin.Timeout = 5 * time.Second
	waitStreamSettled(t, js)                                   // a cluster whose nodes died a moment ago may still be electing
	verifyReadModel(t, admin, lic, verifyStream(t, js, acked)) // every registration is an active seat
	_, err = admin.Command(t.Context(), "seat.register", seat(lic, acked[0].id), acked[0].id)
	wantCode(t, err, 409, string(handlers.CodeCommandRestored))
	r, err := admin.Command(t.Context(), "seat.register", seat(lic, "after-restore"), "after-restore")
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(len(restored) + 1); r.Events[0].Sequence != want {
		t.Fatalf("the first command after the restore is at sequence %d, want %d", r.Events[0].Sequence, want)
	}
	for deadline := time.Now().Add(30 * time.Second); metric(t, httpAddr, "licledger_publication_lag_events") != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the restored ledger did not publish its new event")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitStreamSettled(t, js)
	stream := verifyStream(t, js, acked)
	if err := ledger.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ledger.wait(); err != nil {
		t.Fatalf("ledgerd did not stop cleanly: %v", err)
	}
	n := streamEqualsLog(t, data, stream)
	if cluster {
		info, err := js.Stream(t.Context(), natsstream.StreamName)
		if err != nil {
			t.Fatal(err)
		}
		if c := info.CachedInfo(); c.Config.Replicas != 3 || c.Cluster == nil || len(c.Cluster.Replicas) != 2 {
			t.Fatalf("LEDGER_EVENTS is not kept in three copies: config %d replicas, cluster %+v", c.Config.Replicas, c.Cluster)
		}
		testreport.Line(t, "3-node NATS cluster, --ack-replicated: one node SIGKILLed under load and restarted, then two nodes and ledgerd SIGKILLed (no wait for the outbox) and its data dir restored from the R3 stream: %d events, acknowledged commands: %d, lost: 0, stream equals log: %d events", len(restored), len(acked), n)
		return
	}
	testreport.Line(t, "restored from the stream: %d events after SIGKILL and a deleted data dir, acknowledged commands: %d, lost: 0, stream equals log: %d events", len(restored), len(acked), n)
}

// waitStreamSettled waits until LEDGER_EVENTS has a leader with every replica current and its
// last sequence has not moved for a second: a cluster that regained its quorum has committed what
// its leader took before (a restore reads only what is there).
func waitStreamSettled(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	waitStreamNamedSettled(t, js, natsstream.StreamName)
}

// waitStreamNamedSettled is waitStreamSettled for the stream name (a partition's).
func waitStreamNamedSettled(t *testing.T, js jetstream.JetStream, name string) {
	t.Helper()
	var last uint64
	stableSince := time.Now()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not settle within 60 s", name)
		}
		s, err := js.Stream(t.Context(), name)
		if err != nil {
			continue
		}
		info, err := s.Info(t.Context())
		if err != nil || info.Cluster != nil && info.Cluster.Leader == "" {
			continue
		}
		current := true
		if info.Cluster != nil { // nil on a single server
			for _, r := range info.Cluster.Replicas {
				current = current && r.Current
			}
		}
		if !current || info.State.LastSeq != last {
			last, stableSince = info.State.LastSeq, time.Now()
			continue
		}
		if time.Since(stableSince) >= time.Second {
			return
		}
	}
}

func mustVerifierKey(t *testing.T, dir string) string {
	t.Helper()
	v, err := datadir.CheckpointVerifierKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRestoreRefusesAStreamThatDoesNotReproduceItsCheckpoint: a stream whose events were changed,
// or that ends before every checkpoint, is refused, and so is a key backup without the server key;
// the data dir gets neither a log nor keys. A stream that ends between two checkpoints is restored
// against the older one, and the restore says which events are lost.
func TestRestoreRefusesAStreamThatDoesNotReproduceItsCheckpoint(t *testing.T) {
	skey, err := eventstore.GenerateCheckpointKey(datadir.CheckpointKeyName)
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	for file, content := range map[string]string{datadir.ServerKeyFile: "a server key\n", datadir.CheckpointKeyFile: skey + "\n"} {
		if err := os.WriteFile(filepath.Join(keys, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A log of 30 events, with checkpoints at 20 and at 30.
	src, err := eventstore.Open(t.TempDir(), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var checkpoints [][]byte
	for i := range 30 {
		if _, err := src.Submit(t.Context(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
			return nil, tx.Append("s", eventstore.AnyVersion, eventstore.Record{Type: "thing.happened.v1", Subject: "s", Data: []byte(`{"i":` + strconv.Itoa(i) + `}`)})
		}}); err != nil {
			t.Fatal(err)
		}
		if i == 19 || i == 29 {
			ctx, stop := context.WithCancel(t.Context())
			stop() // Run hashes the whole log and signs a last checkpoint, then returns
			tw := &eventstore.TreeWriter{Store: src, SigningKey: skey, OnCheckpoint: func(c eventstore.Checkpoint) { checkpoints = append(checkpoints, c.Signed) }}
			if err := tw.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("signing: %v", err)
			}
		}
	}
	if len(checkpoints) != 2 {
		t.Fatalf("%d checkpoints signed, want 2", len(checkpoints))
	}
	var events [][]byte
	if _, err := src.Read(1, 0, func(e eventstore.Event) error { events = append(events, bytes.Clone(e.Bytes)); return nil }); err != nil {
		t.Fatal(err)
	}
	changed := slices.Clone(events)
	changed[6] = bytes.Replace(changed[6], []byte(`{"i":6}`), []byte(`{"i":7}`), 1)

	noServerKey := t.TempDir()
	if err := os.WriteFile(filepath.Join(noServerKey, datadir.CheckpointKeyFile), []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		stream [][]byte
		keys   string
		want   string
	}{
		{"changed", changed, keys, "do not give checkpoint 30"},
		{"cut short", events[:15], keys, "can reproduce"},
		{"no server key in the backup", events, noServerKey, datadir.ServerKeyFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := startJetStream(t)
			publishCopy(t, ns.ClientURL(), tc.stream, checkpoints)
			data := t.TempDir()
			err := restore(t.Context(), []string{"--from-stream", "--nats-url", ns.ClientURL(), "--data", data, "--keys", tc.keys}, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want an error naming %q", err, tc.want)
			}
			if left, _ := os.ReadDir(data); len(left) != 0 {
				t.Fatalf("a refused restore left %v in the data dir", left)
			}
		})
	}

	// The newest checkpoint covers events the stream never got (the lost ledger signed them
	// before it could publish them): the restore checks the stream against the newest checkpoint
	// it can reproduce, and says what is lost.
	ns := startJetStream(t)
	publishCopy(t, ns.ClientURL(), events[:25], checkpoints)
	data := t.TempDir()
	var out bytes.Buffer
	if err := restore(t.Context(), []string{"--from-stream", "--nats-url", ns.ClientURL(), "--data", data, "--keys", keys}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("restore of a stream behind the newest checkpoint: %v", err)
	}
	if got := logBytes(t, filepath.Join(data, "log")); len(got) != 25 || !strings.Contains(out.String(), "checkpoint 20") || !strings.Contains(out.String(), "events 26 to 30 were on its disk only") {
		t.Fatalf("restored %d events, said:\n%s", len(got), out.String())
	}
}

// publishCopy fills LEDGER_EVENTS and LEDGER_CHECKPOINTS on the server at url with a log's events
// and checkpoints, as a ledger would have.
func publishCopy(t *testing.T, url string, events, checkpoints [][]byte) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(t.Context(), natsstream.StreamConfig(wire.Partition{}, 1)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if _, err := js.Publish(t.Context(), natsstream.Subject("", "s", "thing.happened.v1"), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range checkpoints {
		if err := natsstream.PublishCheckpoint(t.Context(), js, wire.Partition{}, 1, c); err != nil {
			t.Fatal(err)
		}
	}
}
