package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
)

// buildLedgerctl builds ledgerctl into a temp dir, for tests that run it as an auditor would.
func buildLedgerctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ledgerctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../ledgerctl").CombinedOutput(); err != nil {
		t.Fatalf("go build ledgerctl: %v\n%s", err, out)
	}
	return bin
}

// TestAuditorVerifiesTheHistory runs the auditor's whole path against a real ledgerd: an auditor
// credential that can read the history and nothing else; signed checkpoints; inclusion and
// consistency proofs checked with the public key alone; replay from the query API and straight
// from JetStream, byte for byte the same; export and verify of the export, the stream and the
// stopped data dir. Then tampering: a gap in the stream and a cut log are caught, and ledgerd
// refuses to start on the cut log.
func TestAuditorVerifiesTheHistory(t *testing.T) {
	ctl := buildLedgerctl(t)
	ctx := context.Background()
	data := t.TempDir()
	url, _, stop := startLogging(t, data, io.Discard, "--checkpoint-every", "50", "--checkpoint-interval", "50ms")
	admin := client.New(connect(t, url, readToken(t, data)), readToken(t, data))
	license := setupLicense(t, admin, "au-", 100)
	early := waitCheckpoint(t, admin, 1)
	for i := range 60 {
		if _, err := admin.Command(ctx, "seat.register", seat(license, fmt.Sprintf("user-%d", i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	// A note with characters JSON encoders like to escape: the bytes must survive every path.
	if _, err := admin.Command(ctx, "license.note", map[string]any{"licenseId": license, "note": "<b>&amp;</b> \u2028 é"}, ""); err != nil {
		t.Fatal(err)
	}
	_, auditorToken := issueCredential(t, admin, map[string]any{"role": "auditor", "description": "external auditor"})
	durable := waitCheckpoint(t, admin, 0)
	for durable.TreeSize < 67 { // 5 setup + 60 seats + note + credential
		durable = waitCheckpoint(t, admin, durable.TreeSize+1)
	}

	ctlRun := func(token string, args ...string) (string, string, error) {
		cmd := exec.Command(ctl, append([]string{"--nats-url", url, "--token", token}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.Env = append(os.Environ(), "LICLEDGER_TOKEN_FILE=")
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	must := func(token string, args ...string) string {
		t.Helper()
		out, errOut, err := ctlRun(token, args...)
		if err != nil {
			t.Fatalf("ledgerctl %v: %v\n%s%s", args, err, out, errOut)
		}
		return out
	}

	// The key, offline from the data dir and from the ledger, is the same.
	key := strings.TrimSpace(must(auditorToken, "audit", "key", "--data", data))
	if got := strings.TrimSpace(must(auditorToken, "audit", "key")); got != key || !strings.HasPrefix(key, "licledger+") {
		t.Fatalf("audit key: %q from the data dir, %q from the ledger", key, got)
	}

	// Proofs, checked with the key alone.
	if out := must(auditorToken, "audit", "prove", "--sequence", "3", "--key", key); !strings.HasPrefix(out, "verified: event 3 ") {
		t.Fatalf("audit prove: %s", out)
	}
	var ev struct{ ID string }
	if err := json.Unmarshal([]byte(eventAt(t, admin, 10)), &ev); err != nil {
		t.Fatal(err)
	}
	if out := must(auditorToken, "audit", "prove", "--event", ev.ID, "--key", key); !strings.HasPrefix(out, "verified: event 10 ") {
		t.Fatalf("audit prove --event: %s", out)
	}
	earlyFile := filepath.Join(t.TempDir(), "early.json") // as `ledgerctl audit checkpoint > FILE` saves it
	earlyJSON, _ := json.Marshal(map[string]any{"result": early})
	os.WriteFile(earlyFile, earlyJSON, 0o644)
	if out := must(auditorToken, "audit", "consistency", "--from", earlyFile, "--key", key); !strings.Contains(out, "only appended to") {
		t.Fatalf("audit consistency: %s", out)
	}
	// Without --to, up to the newest checkpoint, not the first one past --from.
	newest := waitCheckpoint(t, admin, 0)
	if newest.TreeSize <= early.TreeSize {
		t.Fatalf("the newest checkpoint (%d) is not past the early one (%d)", newest.TreeSize, early.TreeSize)
	}
	prefixOfNewest := fmt.Sprintf("is a prefix of the signed tree of %d ", newest.TreeSize)
	for _, from := range []string{earlyFile, "1"} {
		if out := must(auditorToken, "audit", "consistency", "--from", from, "--key", key); !strings.Contains(out, prefixOfNewest) {
			t.Errorf("audit consistency --from %s without --to: %s; want the newest checkpoint, %d", from, out, newest.TreeSize)
		}
	}
	other, _ := eventstore.GenerateCheckpointKey("licledger")
	otherKey, _ := eventstore.VerifierKey(other)
	if _, errOut, err := ctlRun(auditorToken, "audit", "prove", "--sequence", "3", "--key", otherKey); err == nil || !strings.Contains(errOut, "not signed by the given key") {
		t.Fatalf("audit prove with another ledger's key: %v %s", err, errOut)
	}

	// Replay from the query API and from the stream: the same bytes, and the log's.
	viaAPI := must(auditorToken, "audit", "replay", "--to", fmt.Sprint(durable.TreeSize))
	viaStream := must(auditorToken, "audit", "replay", "--stream", "--to", fmt.Sprint(durable.TreeSize))
	lines := strings.Split(strings.TrimSuffix(viaAPI, "\n"), "\n")
	if viaAPI != viaStream || uint64(len(lines)) != durable.TreeSize || lines[9] != eventAt(t, admin, 10) {
		t.Fatalf("replay: %d lines from the API, stream equal: %v", len(lines), viaAPI == viaStream)
	}
	if !strings.Contains(viaAPI, `\u003cb\u003e`) && !strings.Contains(viaAPI, `<b>`) {
		t.Fatal("the note is missing from the replay")
	}
	notes := must(auditorToken, "audit", "replay", "--type", "license.noted.v1", "--subject", license)
	if strings.Count(notes, "\n") != 1 || !strings.Contains(notes, `"type":"license.noted.v1"`) {
		t.Fatalf("filtered replay: %q", notes)
	}
	// A reseller that never existed is said so, not answered with nothing.
	if out, errOut, err := ctlRun(auditorToken, "audit", "replay", "--reseller", "no-such-reseller"); err == nil ||
		!strings.Contains(errOut, "RESELLER_NOT_FOUND") || out != "" {
		t.Errorf("replay of an unknown reseller: %v %q %s", err, out, errOut)
	}

	// Export and verify: the file, the stream, and (below) the data dir.
	export := filepath.Join(t.TempDir(), "ledger.jsonl")
	must(auditorToken, "audit", "export", "--out", export)
	if out := must(auditorToken, "audit", "verify", "--file", export, "--key", key); !strings.HasPrefix(out, "verified: ") {
		t.Fatalf("verify --file: %s", out)
	}
	if out := must(auditorToken, "audit", "verify", "--stream", "--key", key); !strings.HasPrefix(out, "verified: ") {
		t.Fatalf("verify --stream: %s", out)
	}
	// A file with one event changed is caught, and named: the ledger proves where the trees part.
	b, _ := os.ReadFile(export)
	changed := bytes.Replace(b, []byte(`"endUserName":"user-7"`), []byte(`"endUserName":"user-X"`), 1)
	os.WriteFile(export, changed, 0o644)
	_, errOut, err := ctlRun(auditorToken, "audit", "verify", "--file", export, "--key", key)
	seq7 := seatSequence(t, viaAPI, "user-7")
	if err == nil || !strings.Contains(errOut, fmt.Sprintf("NOT VERIFIED: sequence %d: changed", seq7)) {
		t.Fatalf("verify of a changed export: %v %s (want sequence %d)", err, errOut, seq7)
	}
	// Offline (no ledger to ask), the export's record hashes, proven against its checkpoint,
	// name the same sequence; hashes changed too prove nothing, and the span is all it can say.
	offline := func() (string, error) {
		cmd := exec.Command(ctl, "--nats-url", "nats://127.0.0.1:1", "audit", "verify", "--file", export, "--key", key)
		cmd.Env = append(os.Environ(), "LICLEDGER_TOKEN_FILE=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := offline(); err == nil || !strings.Contains(out, fmt.Sprintf("NOT VERIFIED: sequence %d: changed", seq7)) {
		t.Fatalf("offline verify of a changed export: %v %s (want sequence %d)", err, out, seq7)
	}
	hashes, _ := os.ReadFile(export + ".hashes")
	if len(hashes)%32 != 0 || len(hashes) < 32*int(durable.TreeSize) {
		t.Fatalf("%d bytes of record hashes for at least %d events", len(hashes), durable.TreeSize)
	}
	hashes[32*(seq7-1)] ^= 1
	os.WriteFile(export+".hashes", hashes, 0o644)
	if out, err := offline(); err == nil || !strings.Contains(out, "could not be proven") {
		t.Fatalf("offline verify with changed hashes: %v %s", err, out)
	}

	// The auditor reads the history and nothing else.
	// The NATS server refuses its connection the publish, and the client says so at once
	// (client.ErrNotPermitted), not after its 10 s time-out.
	auditorNC := connect(t, url, auditorToken)
	start := time.Now()
	if _, err := client.New(auditorNC, auditorToken).Command(ctx, "seat.register", seat(license, "mallory"), ""); !errors.Is(err, client.ErrNotPermitted) {
		t.Fatalf("an auditor's seat.register: %v; want %v", err, client.ErrNotPermitted)
	}
	if _, err := client.New(auditorNC, auditorToken).Query(ctx, "usage.summary", map[string]any{}); !errors.Is(err, client.ErrNotPermitted) {
		t.Fatalf("an auditor's usage.summary: %v; want %v", err, client.ErrNotPermitted)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the refusals took %s", took)
	}
	if _, err := admin.Command(ctx, "credential.issue", map[string]any{"role": "auditor", "scope": map[string]any{"resellerId": "au-r"}}, ""); err == nil {
		t.Fatal("an auditor with a reseller scope was issued")
	}
	_, resellerToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "au-r"}})
	_, err = client.New(connect(t, url, resellerToken), resellerToken).Query(ctx, "audit.events", map[string]any{})
	wantCode(t, err, 403, "FORBIDDEN")

	// The data dir of a running ledgerd: said so, not the lock's bare errno.
	if _, errOut, err := ctlRun(auditorToken, "audit", "verify", "--data", data, "--key", key); err == nil ||
		!strings.Contains(errOut, "in use by another process (a running ledgerd?)") {
		t.Errorf("verify --data of a running ledgerd: %v %s", err, errOut)
	}
	stop()
	if out := must(auditorToken, "audit", "verify", "--data", data, "--key", key); !strings.HasPrefix(out, "verified: ") {
		t.Fatalf("verify --data: %s", out)
	}
	last := loggedSequence(t, data)

	// A gap in a stream: a copy of the history in a stream that allows deletes (the ledger's
	// own denies them) loses message 20.
	cpFile := filepath.Join(t.TempDir(), "latest.checkpoint")
	os.WriteFile(cpFile, storedLatestCheckpoint(t, data), 0o644)
	ns := startJetStream(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LEDGER_EVENTS", Subjects: []string{"ledger.v1.evt.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines {
		if _, err := js.Publish(ctx, "ledger.v1.evt.copy", []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteMsg(ctx, 20); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	out, err := exec.Command(ctl, "--nats-url", ns.ClientURL(), "--token", "x", "audit", "verify", "--stream", "--key", key, "--checkpoint", cpFile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "NOT VERIFIED: sequence 20: missing") {
		t.Fatalf("verify of a stream with a gap: %v\n%s", err, out)
	}
	ns.Shutdown()

	// A cut log: ledgerd refuses to start on it, naming the first missing sequence.
	db, err := pebble.Open(filepath.Join(data, "log"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for seq := last - 4; seq <= last; seq++ {
		db.Delete(binary.BigEndian.AppendUint64([]byte("e/"), seq), pebble.Sync)
	}
	db.Close()
	var logs bytes.Buffer
	err = run(context.Background(), []string{"--data", data, "--nats-listen", freeAddr(t), "--http-listen", freeAddr(t)}, func(string) string { return "" }, &logs)
	want := fmt.Sprintf("sequence %d: missing", last-4)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("ledgerd on a cut log: %v, want %q", err, want)
	}
	if out, err := exec.Command(ctl, "audit", "verify", "--data", data, "--key", key).CombinedOutput(); err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("verify --data of a cut log: %v %s", err, out)
	}
}

type checkpointReply struct {
	Checkpoint string `json:"checkpoint"`
	TreeSize   uint64 `json:"treeSize"`
}

// waitCheckpoint waits for a signed checkpoint of at least size events (0: the log's durable end).
func waitCheckpoint(t *testing.T, c *client.Client, size uint64) checkpointReply {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := c.Query(context.Background(), "audit.checkpoint", map[string]any{})
		var r checkpointReply
		if err == nil {
			json.Unmarshal(raw, &r)
			if r.TreeSize >= max(size, 1) {
				return r
			}
		} else if ce := new(client.Error); !errors.As(err, &ce) || ce.Code != "NOT_YET_CHECKPOINTED" {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %d events within 10 s (latest %d)", size, r.TreeSize)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eventAt(t *testing.T, c *client.Client, seq uint64) string {
	t.Helper()
	raw, err := c.Query(context.Background(), "audit.events", map[string]any{"from": fmt.Sprint(seq), "to": fmt.Sprint(seq)})
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Items []string }
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Items) != 1 {
		t.Fatalf("audit.events %d: %s", seq, raw)
	}
	return r.Items[0]
}

func seatSequence(t *testing.T, replay, user string) uint64 {
	for _, line := range strings.Split(replay, "\n") {
		if strings.Contains(line, `"endUserName":"`+user+`"`) {
			var e struct{ Sequence uint64 }
			json.Unmarshal([]byte(line), &e)
			return e.Sequence
		}
	}
	t.Fatalf("no seat event for %s", user)
	return 0
}

func loggedSequence(t *testing.T, data string) uint64 {
	s, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Durable()
}

func storedLatestCheckpoint(t *testing.T, data string) []byte {
	s, err := eventstore.Open(filepath.Join(data, "log"), eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, err := s.LatestCheckpoint()
	if err != nil || b == nil {
		t.Fatalf("latest checkpoint: %v", err)
	}
	return b
}
