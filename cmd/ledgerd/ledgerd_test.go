package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
)

// startInProcess runs ledgerd's run() on free ports and returns its NATS URL, HTTP address,
// data dir and a stop function that waits for a clean shutdown.
func startInProcess(t *testing.T, dataDir string) (natsURL, httpAddr string, stop func()) {
	t.Helper()
	// Checkpoints every 20 ms, so that the audit queries have one to prove against at once;
	// webhooks may reach the tests' receivers on loopback.
	return startLogging(t, dataDir, io.Discard, "--checkpoint-interval", "20ms", "--webhook-allow-private", "true")
}

// startLogging is startInProcess with ledgerd's log written to logs, and any extra flags.
func startLogging(t *testing.T, dataDir string, logs io.Writer, flags ...string) (natsURL, httpAddr string, stop func()) {
	t.Helper()
	return startWithEnv(t, dataDir, logs, func(string) string { return "" }, flags...)
}

// startWithEnv is startLogging with an environment for ledgerd.
func startWithEnv(t *testing.T, dataDir string, logs io.Writer, getenv func(string) string, flags ...string) (natsURL, httpAddr string, stop func()) {
	t.Helper()
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := append([]string{"--data", dataDir, "--nats-listen", natsAddr, "--http-listen", httpAddr}, flags...)
	noteMetricsReader(httpAddr, dataDir)
	go func() {
		done <- run(ctx, args, getenv, logs)
	}()
	waitReady(t, httpAddr, 10*time.Second)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ledgerd: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("ledgerd did not shut down within 15s")
		}
	}
	t.Cleanup(stop)
	return "nats://" + natsAddr, httpAddr, stop
}

func TestPartnerSessionOverNATS(t *testing.T) {
	data := t.TempDir()
	url, httpAddr, stop := startInProcess(t, data)
	if st, err := os.Stat(filepath.Join(data, "bootstrap-admin.token")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap token file: %v %v", st, err)
	}
	nc := connect(t, url, readToken(t, data))
	c := client.New(nc, readToken(t, data))
	ctx := context.Background()
	lic := setupLicense(t, c, "a", 2)

	// DBSync's quota rule, step by step.
	for _, u := range []string{"ann", "bob"} {
		if _, err := c.Command(ctx, "seat.register", seat(lic, u), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Command(ctx, "seat.unregister", seat(lic, "bob"), ""); err != nil {
		t.Fatal(err)
	}
	before := quota(t, c, lic)
	_, err := c.Command(ctx, "seat.register", seat(lic, "cy"), "")
	wantCode(t, err, 422, "QUOTA_EXCEEDED")
	if after := quota(t, c, lic); after != before {
		t.Fatalf("a refused registration changed the quota: %+v -> %+v", before, after)
	}
	if before != (usage{Seats: 2, Active: 1, Consumed: 2, Remaining: 0}) {
		t.Fatalf("usage %+v", before)
	}
	// bob was counted this period: he may come back.
	if _, err := c.Command(ctx, "seat.register", seat(lic, "bob"), ""); err != nil {
		t.Fatal(err)
	}
	if u := quota(t, c, lic); u != (usage{Seats: 2, Active: 2, Consumed: 2, Remaining: 0}) {
		t.Fatalf("usage after bob came back: %+v", u)
	}

	// Idempotency: the same Nats-Msg-Id returns the first reply byte for byte and appends nothing.
	first, err := c.Command(ctx, "license.create", map[string]any{"resellerId": "ar", "tenantId": "at", "planId": "aplan"}, "create-once")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID, Key string }
	json.Unmarshal(first.Result, &created)
	if created.ID == "" || len(created.Key) != 39 {
		t.Fatalf("license.create result %s", first.Result)
	}
	again, err := c.Command(ctx, "license.create", map[string]any{"resellerId": "ar", "tenantId": "at", "planId": "aplan"}, "create-once")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Raw, again.Raw) {
		t.Fatalf("retry reply differs:\n%s\n%s", first.Raw, again.Raw)
	}
	_, err = c.Command(ctx, "license.create", map[string]any{"resellerId": "ar", "tenantId": "at", "planId": "other"}, "create-once")
	wantCode(t, err, 409, "COMMAND_ID_REUSED")
	// Another credential repeating the id and body does not get the first reply (and its key).
	other, err := c.Command(ctx, "credential.issue", map[string]any{"role": "sales-agent", "scope": map[string]any{}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var otherCred struct{ Token string }
	json.Unmarshal(other.Result, &otherCred)
	_, err = client.New(nc, otherCred.Token).Command(ctx, "license.create", map[string]any{"resellerId": "ar", "tenantId": "at", "planId": "aplan"}, "create-once")
	wantCode(t, err, 409, "COMMAND_ID_REUSED")
	// The body's commandId works like the header.
	b1, err := c.Command(ctx, "seat.register", map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": "ann", "commandId": "body-id"}, "")
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := c.Command(ctx, "seat.register", map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": "ann", "commandId": "body-id"}, "")
	if b2 == nil || !bytes.Equal(b1.Raw, b2.Raw) {
		t.Fatal("commandId in the body is not idempotent")
	}

	// Bad input: clear coded errors, nothing appended.
	_, err = client.New(nc, "").Command(ctx, "seat.register", seat(lic, "x"), "")
	wantCode(t, err, 401, "UNAUTHENTICATED")
	_, err = client.New(nc, "lic_0000000000000000000000000000000000000000000000000000000000").Command(ctx, "seat.register", seat(lic, "x"), "")
	wantCode(t, err, 401, "UNAUTHENTICATED")
	_, err = c.Command(ctx, "seat.register", []byte(`{"licenseId": `), "")
	wantCode(t, err, 400, "MALFORMED_JSON")
	e := wantCode(t, func() error {
		_, err := c.Command(ctx, "seat.register", []byte(`{"licenseId":"x","endUserCompany":"A","endUserName":"b","color":"red"}`), "")
		return err
	}(), 400, "SCHEMA_VIOLATION")
	if e.Field != "color" {
		t.Fatalf("unknown field error names %q", e.Field)
	}
	e = wantCode(t, func() error {
		_, err := c.Command(ctx, "plan.create", []byte(`{"productId":"ap","name":"x","seats":"many"}`), "")
		return err
	}(), 400, "SCHEMA_VIOLATION")
	if e.Field != "seats" || e.Pointer != "/seats" {
		t.Fatalf("type error names %q at %q", e.Field, e.Pointer)
	}
	_, err = c.Command(ctx, "seat.register", bytes.Repeat([]byte(" "), 70_000), "")
	wantCode(t, err, 413, "PAYLOAD_TOO_LARGE")
	_, err = c.Command(ctx, "seat.register", map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": "dee", "expectedVersion": 1}, "")
	wantCode(t, err, 409, "WRONG_EXPECTED_VERSION")
	_, err = c.Query(ctx, "usage.quota", map[string]any{"licenseId": "nope"})
	wantCode(t, err, 404, "LICENSE_NOT_FOUND")

	// The stream is an exact copy of the log: same count, stream seq == ledger seq.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Issuing the second credential was the last change: re-registering an active user and every
	// refused request after it appended nothing.
	lastSeq := other.Events[0].Sequence
	waitStreamAt(t, js, lastSeq)
	msgs := readStream(t, js)
	if uint64(len(msgs)) != lastSeq || msgs[len(msgs)-1].seq != lastSeq {
		t.Fatalf("stream has %d messages, want exactly %d", len(msgs), lastSeq)
	}
	validateEvents(t, msgs)
	for i, m := range msgs {
		var env struct {
			Sequence uint64 `json:"sequence"`
			ID       string `json:"id"`
		}
		if err := json.Unmarshal(m.data, &env); err != nil || env.Sequence != uint64(i+1) || m.seq != env.Sequence || m.msgID != env.ID {
			t.Fatalf("stream message %d: seq %d, msg id %s, envelope %+v (%v)", i+1, m.seq, m.msgID, env, err)
		}
		if bytes.Contains(m.data, []byte(created.Key)) || bytes.Contains(m.data, []byte(readToken(t, data))) {
			t.Fatalf("a secret was published in event %d", i+1)
		}
	}

	// Metrics are served and lint-clean names exist.
	body := getMetrics(t, httpAddr)
	for _, name := range []string{"licledger_durable_sequence", "licledger_publication_lag_events", "licledger_commit_duration_seconds_bucket", `licledger_requests_total{code="422",endpoint="seat.register"} 1`} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// Restart on the same data: state, idempotency and the stream survive.
	stop()
	url, _, _ = startInProcess(t, data)
	nc2 := connect(t, url, readToken(t, data))
	c = client.New(nc2, readToken(t, data))
	if u := quota(t, c, lic); u != (usage{Seats: 2, Active: 2, Consumed: 2, Remaining: 0}) {
		t.Fatalf("usage after restart: %+v", u)
	}
	again, err = c.Command(ctx, "license.create", map[string]any{"resellerId": "ar", "tenantId": "at", "planId": "aplan"}, "create-once")
	if err != nil || !bytes.Equal(first.Raw, again.Raw) {
		t.Fatalf("retry after restart: %v\n%s\n%s", err, first.Raw, again.Raw)
	}
}

type usage struct{ Seats, Active, Consumed, Remaining int }

func quota(t *testing.T, c *client.Client, license string) usage {
	t.Helper()
	raw, err := c.Query(context.Background(), "usage.quota", map[string]string{"licenseId": license})
	if err != nil {
		t.Fatal(err)
	}
	var u usage
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

type streamMsg struct {
	seq   uint64
	msgID string
	data  []byte
}

// waitStreamAt waits until LEDGER_EVENTS holds at least seq messages and returns its last sequence.
func waitStreamAt(t *testing.T, js jetstream.JetStream, seq uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := js.Stream(context.Background(), "LEDGER_EVENTS")
		if err == nil {
			info, err := s.Info(context.Background())
			if err == nil && info.State.LastSeq >= seq {
				return info.State.LastSeq
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream did not reach sequence %d: %v", seq, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readStream reads every message of LEDGER_EVENTS with an ordered consumer.
func readStream(t *testing.T, js jetstream.JetStream) []streamMsg {
	t.Helper()
	return readStreamNamed(t, js, "LEDGER_EVENTS")
}

// readStreamNamed reads the whole of the stream name (a partition's).
func readStreamNamed(t *testing.T, js jetstream.JetStream, name string) []streamMsg {
	t.Helper()
	ctx := context.Background()
	var info *jetstream.StreamInfo
	var cons jetstream.Consumer
	var err error
	// A cluster that lost a node a moment ago may briefly have no JetStream API to answer.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var s jetstream.Stream
		if s, err = js.Stream(ctx, name); err == nil {
			if info, err = s.Info(ctx); err == nil {
				if cons, err = s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{}); err == nil {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: %v", name, err)
		}
	}
	var out []streamMsg
	for retryUntil := time.Now().Add(30 * time.Second); uint64(len(out)) < info.State.Msgs; {
		// An ordered consumer is made by its first fetch, which the API may not answer yet either.
		batch, err := cons.Fetch(int(min(1000, info.State.Msgs-uint64(len(out)))), jetstream.FetchMaxWait(5*time.Second))
		if errors.Is(err, nats.ErrNoResponders) && time.Now().Before(retryUntil) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, streamMsg{seq: md.Sequence.Stream, msgID: m.Headers().Get(nats.MsgIdHdr), data: append([]byte(nil), m.Data()...)})
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			if errors.Is(err, nats.ErrNoResponders) && time.Now().Before(retryUntil) {
				time.Sleep(100 * time.Millisecond) // as above; the consumer goes on from where it is
				continue
			}
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("stream read stalled at %d of %d", len(out), info.State.Msgs)
		}
	}
	return out
}
