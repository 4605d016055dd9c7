package main

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/licledger/licledger/internal/testreport"
	"github.com/licledger/licledger/wire"
)

// TestReplayFloodDoesNotStallOthers: a low-privilege token floods asOf queries, each a replay of
// the log, without waiting for answers. Its second and later replays are refused at once (429),
// every request is answered, and another partner's commands meanwhile keep their latency.
func TestReplayFloodDoesNotStallOthers(t *testing.T) {
	nc, admin := startAsAdmin(t)
	url := nc.ConnectedUrl()
	ctx := context.Background()
	lic := setupLicense(t, admin, "rf", 100000)
	for i := range 1500 {
		if _, err := admin.Command(ctx, "seat.register", seat(lic, "u"+strconv.Itoa(i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	asOf := strconv.FormatUint(lastSequence(t, admin, ctx), 10)
	_, token := issueCredential(t, admin, map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "rfr"}})
	flooder := connect(t, url, token)
	replies := make(chan *nats.Msg, 1024)
	sub, err := flooder.ChanSubscribe(wire.InboxPrefix(token)+".flood.*", replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	const flood = 700
	for i := range flood {
		m := &nats.Msg{Subject: "ledger.v1.q.usage.summary", Reply: wire.InboxPrefix(token) + ".flood." + strconv.Itoa(i),
			Header: nats.Header{"Authorization": []string{"Bearer " + token}}, Data: []byte(`{"asOf":"` + asOf + `"}`)}
		if err := flooder.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	var slowest time.Duration
	for i := range 50 {
		start := time.Now()
		if _, err := admin.Command(ctx, "license.note", map[string]any{"licenseId": lic, "note": fmt.Sprint("during the flood ", i)}, ""); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
	}
	codes := map[string]int{}
	for range flood {
		select {
		case m := <-replies:
			codes[m.Header.Get(micro.ErrorCodeHeader)]++
		case <-time.After(30 * time.Second):
			t.Fatalf("only %v of %d flood requests answered", codes, flood)
		}
	}
	if codes[""] < 1 || codes["429"] < flood/2 {
		t.Fatalf("flood answers by status %v: want replays answered one at a time per credential, the rest 429", codes)
	}
	// Generous: the point is that no command waits behind the replays (it took 16 s before).
	if slowest > 2*time.Second {
		t.Fatalf("a command took %s during the flood", slowest)
	}
	testreport.Line(t, "replay flood: %d asOf queries from one token (%d answered, %d refused 429, %d 503); another partner's slowest command %s",
		flood, codes[""], codes["429"], codes["503"], slowest.Round(time.Millisecond))
}
