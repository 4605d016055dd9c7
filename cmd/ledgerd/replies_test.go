package main

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
)

// TestRepliesGoOnlyIntoInboxes: a request that names as its reply subject the event stream, the
// views bucket or the checkpoint subject is not answered there, nor at all; the stream stays an
// exact copy of the log, and /metrics counts the dropped requests.
func TestRepliesGoOnlyIntoInboxes(t *testing.T) {
	data := t.TempDir()
	url, httpAddr, _ := startInProcess(t, data)
	adminToken := readToken(t, data)
	nc := connect(t, url, adminToken)
	admin := client.New(nc, adminToken)
	ctx := context.Background()
	lic := setupLicense(t, admin, "rp", 5)

	anon, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	forged := []string{"ledger.v1.evt.rpr." + lic + ".license.terminated.v1", "$KV.ledger-views.forged", "ledger.v1.checkpoint"}
	for _, reply := range forged {
		if err := anon.PublishMsg(&nats.Msg{Subject: "ledger.v1.q.license.validate", Reply: reply, Data: []byte(`{"key":"x"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := anon.Flush(); err != nil {
		t.Fatal(err)
	}

	// The stream holds the log and nothing else.
	last := lastSequence(t, admin, ctx)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitStreamAt(t, js, last); got != last {
		t.Fatalf("the stream is at %d, the log at %d", got, last)
	}
	msgs := readStream(t, js)
	validateEvents(t, msgs) // a forged message is no event
	if uint64(len(msgs)) != last {
		t.Fatalf("the stream holds %d messages for %d events", len(msgs), last)
	}
	kv, err := js.KeyValue(ctx, "ledger-views")
	if err == nil {
		if _, err := kv.Get(ctx, "forged"); err == nil {
			t.Fatal("the views bucket holds the forged key")
		}
	}
	body := getMetrics(t, httpAddr)
	if !strings.Contains(string(body), `licledger_requests_dropped_total{endpoint="license.validate"} 3`) {
		t.Fatalf("/metrics does not count the dropped requests:\n%s", grepLines(string(body), "dropped"))
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
