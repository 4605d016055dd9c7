package natsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/handlerstest"
	"github.com/licledger/licledger/internal/testreport"
	"github.com/licledger/licledger/wire"
)

// TestOverloadIsAnsweredNotQueued floods a service that has one worker and a backlog of eight
// with a thousand commands at once. Past the backlog each request must be answered 503
// OVERLOADED at once (not queued, so memory stays bounded, and not dropped, so no client waits for
// its timeout); what was accepted is exactly what the log gained; and the service serves again
// when the flood is over.
func TestOverloadIsAnsweredNotQueued(t *testing.T) {
	l := handlerstest.Start(t, handlers.Options{})
	ns := handlerstest.StartNATS(t, server.Options{})
	serverSide, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(serverSide.Close)
	svc, err := Serve(context.Background(), serverSide, l.Ledger, ServiceOptions{Workers: 1, Backlog: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop() })
	// Replies go only into the inbox of the token a request carries.
	nc, err := nats.Connect(ns.ClientURL(), nats.CustomInboxPrefix(wire.InboxPrefix(l.Token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	const flood = 1000
	replies := make(chan *nats.Msg, flood)
	inbox := nc.NewRespInbox()
	sub, err := nc.ChanSubscribe(inbox+".*", replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	before := l.Store.Durable()
	for i := range flood {
		m := nats.NewMsg(wire.CommandPrefix + "product.create")
		m.Reply = fmt.Sprintf("%s.%d", inbox, i)
		m.Header.Set("Authorization", "Bearer "+l.Token)
		m.Data = fmt.Appendf(nil, `{"name":"flood %d"}`, i)
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	accepted, overloaded := 0, 0
	for range flood {
		select {
		case m := <-replies:
			switch code := m.Header.Get(micro.ErrorCodeHeader); code {
			case "":
				accepted++
			case "503":
				var r struct{ Error struct{ Code string } }
				if json.Unmarshal(m.Data, &r); r.Error.Code != string(handlers.CodeOverloaded) {
					t.Fatalf("503 with %s", m.Data)
				}
				overloaded++
			default:
				t.Fatalf("reply %s: %s", code, m.Data)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d requests answered", accepted+overloaded, flood)
		}
	}
	if overloaded == 0 {
		t.Fatalf("a thousand requests at once on one worker and a backlog of 8: none refused (%d accepted)", accepted)
	}
	if grew := l.Store.Durable() - before; grew != uint64(accepted) {
		t.Fatalf("accepted %d commands, the log grew by %d", accepted, grew)
	}
	m := nats.NewMsg(wire.CommandPrefix + "product.create")
	m.Header.Set("Authorization", "Bearer "+l.Token)
	m.Data = []byte(`{"name":"after the flood"}`)
	if r, err := nc.RequestMsg(m, 10*time.Second); err != nil || r.Header.Get(micro.ErrorCodeHeader) != "" {
		t.Fatalf("after the flood: %v %v", err, r)
	}
	testreport.Line(t, "flood of %d: %d accepted, %d answered 503 OVERLOADED, none lost", flood, accepted, overloaded)
}
