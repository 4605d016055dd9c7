package natsapi

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/handlerstest"
	"github.com/licledger/licledger/wire"
)

// TestTheServingIdentityAnswersOnlyIntoInboxes: the NATS server itself (not only a check in the
// ledger's code) refuses the serving identity a publish anywhere but the inboxes and partition
// queries, the writer's acknowledgement inbox included; the writer identity may publish events.
func TestTheServingIdentityAnswersOnlyIntoInboxes(t *testing.T) {
	l := handlerstest.Start(t, handlers.Options{})
	auth := NewNATSAuth(l.Ledger, slog.New(slog.DiscardHandler))
	ns := handlerstest.StartNATS(t, server.Options{CustomClientAuthentication: auth})
	auth.Attach(ns)
	violations := make(chan error, 16)
	onError := nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err })
	serving, err := nats.Connect(ns.ClientURL(), append(auth.LedgerOptions(), onError)...)
	if err != nil {
		t.Fatal(err)
	}
	defer serving.Close()
	for _, subject := range []string{"ledger.v1.evt.r1.l1.license.terminated.v1", "$KV.ledger-views.x", CheckpointSubject,
		"$JS.API.STREAM.PURGE.LEDGER_EVENTS", wire.LedgerWriterInboxPrefix + ".ack", "ledger.v1.cmd.license.terminate"} {
		if err := serving.Publish(subject, []byte("forged")); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-violations:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Fatalf("publish to %s: %v; want a permissions violation", subject, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the serving identity published to %s", subject)
		}
	}
	for _, subject := range []string{"_INBOX.abc.1", "_INBOX_LEDGER.0123abcd.1", "ledger.v1.q.license.validate"} {
		if err := serving.Publish(subject, []byte("answer")); err != nil {
			t.Fatal(err)
		}
	}
	if err := serving.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-violations:
		t.Fatalf("an answer into an inbox was refused: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	writer, err := nats.Connect(ns.ClientURL(), append(auth.WriterOptions(), onError)...)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if err := writer.Publish("ledger.v1.evt.r1.l1.license.terminated.v1", []byte("event")); err != nil {
		t.Fatal(err)
	}
	if err := writer.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-violations:
		t.Fatalf("the writer was refused: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestReplyAllowed(t *testing.T) {
	for _, c := range []struct {
		reply string
		want  bool
	}{
		{"", true},
		{"_INBOX.abc.1", true},
		{wire.InboxPrefix("lic_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") + ".x.1", true},
		{wire.LedgerInboxPrefix + ".x.1", true},
		{wire.LedgerWriterInboxPrefix + ".1", false},
		{"ledger.v1.evt.r.l.license.terminated.v1", false},
		{"$KV.ledger-views.k", false},
		{CheckpointSubject, false},
		{"$JS.API.STREAM.PURGE.LEDGER_EVENTS", false},
		{"_INBOX", false},
		{"_INBOX_LEDGERX.1", false},
	} {
		if got := replyAllowed(c.reply); got != c.want {
			t.Errorf("replyAllowed(%q) = %t; want %t", c.reply, got, c.want)
		}
	}
}
