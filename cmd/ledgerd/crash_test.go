package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
)

// buildLedgerd compiles the real binary once per test run.
func buildLedgerd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ledgerd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
	err    error         // its exit status, valid once exited is closed
}

func (p *process) wait() error { <-p.exited; return p.err }

func startProcess(t *testing.T, bin, data, natsAddr, httpAddr string) *process {
	t.Helper()
	// The read models store their state every few milliseconds and a checkpoint is signed every
	// 50 events or 5 ms, so kills land before, during and after many projection flushes and
	// checkpoint signatures, as well as in group commits and outbox publication, which run all
	// the time under load.
	return startSubprocess(t, bin, filepath.Join(data, "..", "ledgerd.log"), nil,
		"--data", data, "--nats-listen", natsAddr, "--http-listen", httpAddr,
		"--projection-flush", "3ms", "--checkpoint-every", "50", "--checkpoint-interval", "5ms")
}

// startSubprocess starts bin with args and env (added to the test's), its output appended to
// logPath. When args name an --http-listen address it waits for /readyz there.
func startSubprocess(t *testing.T, bin, logPath string, env []string, args ...string) *process {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); logf.Close(); close(p.exited) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.wait() })
	if i := slices.Index(args, "--http-listen"); i >= 0 {
		if d := slices.Index(args, "--data"); d >= 0 {
			if _, known := metricsReaders.Load(args[i+1]); !known {
				noteMetricsReader(args[i+1], args[d+1])
			}
		}
		waitReady(t, args[i+1], 30*time.Second)
	}
	return p
}

// ack is what a client was told about one acknowledged command.
type ack struct {
	id    string
	reply []byte
	event client.EventRef
}

// TestCrashLosesNothingAcknowledged kills ledgerd with SIGKILL at random moments under concurrent
// load from several clients (separate NATS connections). After every kill, on the dead ledger's
// data dir: the read models stored on disk, caught up with the log, equal a rebuild from sequence
// 0; the audit tree verifies against every signed checkpoint, both at start (the fast path) and in
// full; and the stream as read after the previous restart equals the log byte for byte. After
// every restart, each acknowledged command's event is in the stream exactly once at the sequence
// its reply named and the sequence has no gap.
// LICLEDGER_CRASH_KILLS sets the number of kills (20 by default; `make soak` runs 200).
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts ledgerd many times")
	}
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("LICLEDGER_CRASH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	bin := buildLedgerd(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	p := startProcess(t, bin, data, natsAddr, httpAddr)
	token := readToken(t, data)
	nc := connect(t, "nats://"+natsAddr, token)
	c := client.New(nc, token)
	c.Timeout = 2 * time.Second
	lic := setupLicense(t, c, "crash", 1_000_000)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	_, vkey, err := datadir.LoadCheckpointKey(data)
	if err != nil {
		t.Fatal(err)
	}
	const connections, perConnection = 4, 2
	conns, clients := []*nats.Conn{nc}, []*client.Client{c}
	for range connections - 1 {
		conn := connect(t, "nats://"+natsAddr, token)
		cc := client.New(conn, token)
		cc.Timeout = 2 * time.Second
		conns, clients = append(conns, conn), append(clients, cc)
	}

	var (
		acked     []ack
		behind    int // kills after which the stored read models were behind the log
		verified  uint64
		published []streamMsg // the stream as read after the last restart
	)
	for round := range kills {
		load := startSeatLoad(t, clients, perConnection, lic, fmt.Sprintf("k%d-", round), nil)
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait()
		acked = append(acked, load.stop()...)
		if checkStoredReadModels(t, data) {
			behind++
		}
		verified = checkDeadLog(t, data, vkey, published)
		p = startProcess(t, bin, data, natsAddr, httpAddr)
		for _, conn := range conns {
			waitConnected(t, conn)
		}
		published = verifyStream(t, js, acked)
		verifyReadModel(t, c, lic, published)
	}

	// Retries after all those crashes still return the first reply, byte for byte.
	for i := 0; i < len(acked); i += max(1, len(acked)/50) {
		r, err := c.Command(context.Background(), "seat.register", seat(lic, acked[i].id), acked[i].id)
		if err != nil || !bytes.Equal(r.Raw, acked[i].reply) {
			t.Fatalf("retry of %s after crashes: %v\n got %s\nwant %s", acked[i].id, err, r.Raw, acked[i].reply)
		}
	}
	stream := verifyStream(t, js, acked)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatalf("ledgerd did not stop cleanly on SIGTERM: %v", err)
	}

	n := streamEqualsLog(t, data, stream)
	if behind == 0 {
		t.Error("no kill left stored read models behind the log: the resume path was not tested")
	}
	testreport.Line(t, "kills survived: %d (read models stored behind the log at %d of them, caught up equal to a rebuild at all; tree verified in full after each, %d events at the last), acknowledged commands: %d, events checked: %d, lost: 0",
		kills, behind, verified, len(acked), n)
}

// checkDeadLog checks the data dir of a killed ledgerd: the audit tree passes the start check and
// a full verify against every stored checkpoint, and the stream as last read (published) is the
// log's prefix byte for byte. It returns how many events were verified.
func checkDeadLog(t *testing.T, data, vkey string, published []streamMsg) uint64 {
	t.Helper()
	log, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if _, err := log.CheckTree(vkey); err != nil {
		t.Fatalf("after a kill -9 the start check fails: %v", err)
	}
	cs, err := log.StoredCheckpoints(vkey)
	if err != nil {
		t.Fatal(err)
	}
	v := eventstore.NewVerifier(cs...)
	v.Trusted = log.ProvenTreeHash
	if err := log.VerifyLog(v, nil); err != nil {
		t.Fatalf("after a kill -9 the log does not verify: %v", err)
	}
	if len(published) == 0 {
		return v.Events() // before the first restart
	}
	i := 0
	if _, err := log.Read(1, len(published), func(e eventstore.Event) error {
		if m := published[i]; m.seq != e.Sequence || !bytes.Equal(m.data, e.Bytes) {
			return fmt.Errorf("stream message %d differs from log event %d", m.seq, e.Sequence)
		}
		i++
		return nil
	}); err != nil || i != len(published) {
		t.Fatalf("stream as read after the last restart against the log: %v (%d of %d compared)", err, i, len(published))
	}
	return v.Events()
}

// checkStoredReadModels checks, on the data dir of a killed ledgerd, that the read models a
// restart restores (stored records as of their last flush, caught up with the log) equal read
// models rebuilt from sequence 0.
// It returns whether there was stored state and it was behind the log (a restart had events to
// catch up on).
func checkStoredReadModels(t *testing.T, data string) (behind bool) {
	t.Helper()
	log, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	stored, err := handlers.CheckReadModels(log)
	if err != nil {
		t.Fatalf("after a kill -9: %v", err)
	}
	return stored > 0 && stored < log.Durable()
}

// verifyStream checks the whole stream against what clients were told, and returns it.
func verifyStream(t *testing.T, js jetstream.JetStream, acked []ack) []streamMsg {
	t.Helper()
	return verifyStreamNamed(t, js, natsstream.StreamName, acked)
}

// verifyStreamNamed is verifyStream for the stream name (a partition's).
func verifyStreamNamed(t *testing.T, js jetstream.JetStream, name string, acked []ack) []streamMsg {
	t.Helper()
	msgs := readStreamNamed(t, js, name)
	seen := make(map[string]uint64, len(msgs))
	for i, m := range msgs {
		var env struct {
			ID       string `json:"id"`
			Sequence uint64 `json:"sequence"`
		}
		if err := json.Unmarshal(m.data, &env); err != nil {
			t.Fatalf("stream message %d: %v", m.seq, err)
		}
		if m.seq != uint64(i+1) || env.Sequence != m.seq {
			t.Fatalf("gap or mismatch: message %d has stream seq %d, ledger seq %d", i+1, m.seq, env.Sequence)
		}
		if prev, dup := seen[env.ID]; dup {
			t.Fatalf("event %s appears twice, at %d and %d", env.ID, prev, m.seq)
		}
		seen[env.ID] = m.seq
	}
	for _, a := range acked {
		if seq, ok := seen[a.event.ID]; !ok || seq != a.event.Sequence {
			t.Fatalf("acknowledged command %s: event %s (sequence %d) is missing or moved (found at %d)", a.id, a.event.ID, a.event.Sequence, seq)
		}
	}
	return msgs
}

// verifyReadModel checks that the read model rebuilt after the crash agrees with the log: every
// registration in the stream (acknowledged or not) is one active, consumed seat.
func verifyReadModel(t *testing.T, c *client.Client, lic string, msgs []streamMsg) {
	t.Helper()
	registered := 0
	for _, m := range msgs {
		var env struct {
			Type string `json:"type"`
			Data struct {
				LicenseID string `json:"licenseId"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.data, &env); err != nil {
			t.Fatal(err)
		}
		if env.Type == "seat.registered.v1" && env.Data.LicenseID == lic {
			registered++
		}
	}
	if u := quota(t, c, lic); u.Active != registered || u.Consumed != registered {
		t.Fatalf("after restart the read model says %+v, the log has %d registrations", u, registered)
	}
}

// waitConnected waits until the client has reconnected to the restarted server.
func waitConnected(t *testing.T, nc *nats.Conn) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			t.Fatal("the client did not reconnect within 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
