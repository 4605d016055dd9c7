package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/wire"
)

// TestResellerFeedOverNATS: a reseller-scoped credential follows its own events on the event
// stream, live and from any sequence, with its one consumer (named from its token) filtered on
// its reseller's subjects; it cannot read another reseller's, the whole stream, another
// consumer, or the stream's info, and a narrower credential gets no feed at all.
func TestResellerFeedOverNATS(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	licA := setupLicense(t, admin, "fa", 5) // reseller "far"
	licB := setupLicense(t, admin, "fb", 5) // reseller "fbr"
	for _, l := range []string{licA, licB} {
		if _, err := admin.Command(ctx, "seat.register", seat(l, "ann"), ""); err != nil {
			t.Fatal(err)
		}
	}
	url := nc.ConnectedUrl()
	_, tokenA := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "far"}})
	connA, err := client.Connect(url, tokenA)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close()
	js, err := jetstream.New(connA)
	if err != nil {
		t.Fatal(err)
	}
	follow := func(conn *nats.Conn, token, reseller string, from uint64) (jetstream.Consumer, error) {
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return client.Follow(short, conn, token, reseller, from)
	}
	type event struct {
		Type     string
		Reseller string
		Sequence uint64
	}
	read := func(c jetstream.Consumer, n int) []event {
		t.Helper()
		var out []event
		for len(out) < n {
			m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
			if err != nil {
				t.Fatalf("after %d events: %v", len(out), err)
			}
			var e event
			if err := json.Unmarshal(m.Data(), &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}

	// From the start: only far's events (its reseller, tenant, license, seat and this credential).
	feed, err := follow(connA, tokenA, "far", 1)
	if err != nil {
		t.Fatalf("the reseller's own feed: %v", err)
	}
	var types []string
	for _, e := range read(feed, 5) {
		if e.Reseller != "far" {
			t.Fatalf("the feed of far shows %+v", e)
		}
		types = append(types, e.Type)
	}
	if want := "reseller.created.v1 tenant.created.v1 license.created.v1 seat.registered.v1 credential.issued.v1"; strings.Join(types, " ") != want {
		t.Errorf("the feed's history: %v; want %s", types, want)
	}
	// Live: a new event of far's arrives; fbr's never does.
	if _, err := admin.Command(ctx, "seat.register", seat(licB, "bob"), ""); err != nil {
		t.Fatal(err)
	}
	r, err := admin.Command(ctx, "seat.register", seat(licA, "bob"), "")
	if err != nil {
		t.Fatal(err)
	}
	if live := read(feed, 1)[0]; live.Sequence != r.Events[0].Sequence || live.Reseller != "far" {
		t.Fatalf("live: %+v; want far's seat at %d", live, r.Events[0].Sequence)
	}
	// From any sequence: the feed starts over at the last event.
	tail, err := follow(connA, tokenA, "far", r.Events[0].Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if e := read(tail, 1)[0]; e.Sequence != r.Events[0].Sequence {
		t.Fatalf("from sequence %d: %+v", r.Events[0].Sequence, e)
	}

	// Another reseller's subjects, the whole stream, another consumer, the stream's info: refused.
	if _, err := follow(connA, tokenA, "fbr", 1); err == nil {
		t.Error("far's credential followed fbr's events")
	}
	for _, cfg := range []jetstream.ConsumerConfig{
		{Name: wire.FeedConsumer(tokenA), FilterSubject: "ledger.v1.evt.>"},
		{Name: wire.FeedConsumer(tokenA)},
		{Name: "guessed", FilterSubject: "ledger.v1.evt.far.>"},
	} {
		short, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.CreateConsumer(short, "LEDGER_EVENTS", cfg)
		cancel()
		if err == nil {
			t.Errorf("far's credential made the consumer %+v", cfg)
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := js.Stream(short, "LEDGER_EVENTS"); err == nil {
		t.Error("far's credential read the stream's info, whose subject counts name other resellers")
	}
	// A narrower credential (a client role, a tenant scope) has no feed.
	for _, body := range []map[string]any{
		{"role": "client-all", "scope": map[string]any{"resellerId": "far", "tenantId": "fat"}},
		{"role": "reseller-limited", "scope": map[string]any{"resellerId": "far"}},
	} {
		_, tok := issueCredential(t, admin, body)
		conn, err := client.Connect(url, tok)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := follow(conn, tok, "far", 1); err == nil {
			t.Errorf("%v followed far's events", body["role"])
		}
	}
}
