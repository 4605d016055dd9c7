package natsstream_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/eventstore/natsstream"
)

func startServer(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return ns
}

func appendN(t *testing.T, s *eventstore.Store, n int) {
	t.Helper()
	for i := range n {
		_, err := s.Submit(context.Background(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
			return nil, tx.Append("license/l"+strconv.Itoa(i%3), eventstore.AnyVersion,
				eventstore.Record{Type: "seat.registered.v1", Subject: "l" + strconv.Itoa(i%3), Reseller: "r1", Data: []byte(`{"i":` + strconv.Itoa(i) + `}`)})
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// waitConverged waits until the stream holds exactly the log, byte for byte, at the same sequences.
func waitConverged(t *testing.T, nc *nats.Conn, s *eventstore.Store) {
	t.Helper()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := compare(js, s)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream did not converge to the log: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type mismatch string

func (m mismatch) Error() string { return string(m) }

func compare(js jetstream.JetStream, s *eventstore.Store) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, natsstream.StreamName)
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.LastSeq != s.Durable() || info.State.Msgs != s.Durable() {
		return mismatch("stream at " + strconv.FormatUint(info.State.LastSeq, 10) + " with " + strconv.FormatUint(info.State.Msgs, 10) + " messages, log at " + strconv.FormatUint(s.Durable(), 10))
	}
	_, err = s.Read(1, 0, func(e eventstore.Event) error {
		m, err := st.GetMsg(ctx, e.Sequence)
		if err != nil {
			return err
		}
		env, _ := eventstore.DecodeEnvelope(e.Bytes)
		if !bytes.Equal(m.Data, e.Bytes) || m.Subject != natsstream.Subject(env.Reseller, env.Subject, env.Type) || m.Header.Get(nats.MsgIdHdr) != env.ID {
			return mismatch("message " + strconv.FormatUint(e.Sequence, 10) + " differs")
		}
		return nil
	})
	return err
}

func TestRelayCopiesTheLogThroughOutagesAndLoss(t *testing.T) {
	natsDir := t.TempDir()
	ns := startServer(t, -1, natsDir)
	addr := ns.ClientURL()
	store, err := eventstore.Open(t.TempDir(), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(addr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	relay := &eventstore.Relay{Store: store, Publisher: &natsstream.Publisher{JS: js, AckTimeout: 2 * time.Second}, Backoff: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		nc.Close()
		store.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
	}()

	appendN(t, store, 100)
	waitConverged(t, nc, store)
	if relay.Lag() != 0 {
		t.Fatalf("lag %d after convergence", relay.Lag())
	}

	// NATS goes away while the log grows; it comes back with its store intact.
	port := ns.Addr().(*net.TCPAddr).Port
	ns.Shutdown()
	ns.WaitForShutdown()
	appendN(t, store, 50)
	if relay.Lag() == 0 {
		t.Fatal("no lag while NATS is down")
	}
	ns = startServer(t, port, natsDir)
	waitConverged(t, nc, store)

	// The stream is lost (its store deleted): the relay republishes everything from the log.
	if err := js.DeleteStream(context.Background(), natsstream.StreamName); err != nil {
		t.Fatal(err)
	}
	appendN(t, store, 10)
	waitConverged(t, nc, store)
	if c, _ := store.OutboxCursor(); c != store.Durable() {
		t.Fatalf("outbox cursor %d, durable %d", c, store.Durable())
	}
}

// TestRelayTrustsNothingItDidNotPublish: a message someone else slipped into the stream is never
// counted as published, even once the log reaches its sequence: publication stops there, says
// so (Foreign), and no real event is skipped.
func TestRelayTrustsNothingItDidNotPublish(t *testing.T) {
	ns := startServer(t, -1, t.TempDir())
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	store, err := eventstore.Open(t.TempDir(), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	relay := &eventstore.Relay{Store: store, Publisher: &natsstream.Publisher{JS: js, AckTimeout: 2 * time.Second}, Backoff: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	defer func() { cancel(); <-done }()

	appendN(t, store, 10)
	waitConverged(t, nc, store)
	// A forger publishes into the stream's subjects; it lands at sequence 11.
	if _, err := js.Publish(ctx, natsstream.Subject("r1", "l1", "license.terminated.v1"), []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	appendN(t, store, 5) // the log's own event 11 and more
	deadline := time.Now().Add(10 * time.Second)
	for relay.Foreign() != 11 {
		if time.Now().After(deadline) {
			t.Fatalf("the relay did not notice the forged message (foreign %d, published %d)", relay.Foreign(), relay.Published())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a few more reconciliations
	if p := relay.Published(); p != 10 {
		t.Fatalf("published %d: the forged message was counted as the log's event 11", p)
	}
}
