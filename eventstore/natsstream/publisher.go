// Package natsstream publishes the ledger's log to the JetStream stream LEDGER_EVENTS so that the
// stream is an exact copy of the log: stream sequence == ledger sequence, one message per event,
// the same bytes.
//
// Every message carries Nats-Msg-Id = event id (JetStream drops a duplicate within its window) and
// Nats-Expected-Last-Sequence = sequence-1 (JetStream refuses a message that would land anywhere
// but at its own sequence). Together they make re-publication after any crash harmless.
package natsstream

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/wire"
)

// StreamName is the stream that carries every ledger event.
const StreamName = wire.EventStream

// SubjectPrefix is the subject space of LEDGER_EVENTS; only the ledger may publish under it.
const SubjectPrefix = wire.EventPrefix

// SystemToken stands for "no reseller" in subjects (products, plans, system credentials).
const SystemToken = wire.SystemToken

// Subject returns the subject an event of the unpartitioned ledger is published on:
// ledger.v1.evt.<reseller or _>.<aggregate id>.<type>.
func Subject(reseller, aggregate, typ string) string {
	return wire.Partition{}.Subject(reseller, aggregate, typ)
}

// Config is the partition's event stream (LEDGER_EVENTS unpartitioned). Replicas 1 for the
// embedded server, 3 on a cluster.
func StreamConfig(p wire.Partition, replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        p.StreamName(),
		Description: "licledger: every accepted change, in ledger order (stream seq == ledger seq), " + p.String(),
		Subjects:    []string{p.SubjectPrefix() + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    max(replicas, 1),
		Duplicates:  2 * time.Minute,
		DenyDelete:  true,
		DenyPurge:   true,
	}
}

// Publisher implements eventstore.Publisher on JetStream.
type Publisher struct {
	JS        jetstream.JetStream
	Partition wire.Partition // which stream: LEDGER_EVENTS unless partitioned
	Replicas  int
	// AckTimeout bounds the wait for the next acknowledgement of a batch: a publication that
	// gets none for this long is given up, and the relay starts over from the stream's state.
	// Default 2 s. It is a wait for progress, not for the whole batch, so a large batch on a busy
	// cluster is not cut short, while a stream whose leader died with its node (which leaves the
	// publications sent to it unanswered) is noticed in seconds: under --ack-replicated, every
	// command waits for the relay meanwhile.
	AckTimeout time.Duration
}

// Last ensures the stream exists and returns its last sequence.
func (p *Publisher) Last(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := p.JS.CreateOrUpdateStream(ctx, StreamConfig(p.Partition, p.Replicas))
	if err != nil {
		return 0, fmt.Errorf("jetstream: ensure stream %s: %w", p.Partition.StreamName(), err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("jetstream: stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// At returns the data of the stream's message at sequence seq.
func (p *Publisher) At(ctx context.Context, seq uint64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := p.JS.Stream(ctx, p.Partition.StreamName())
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %s: %w", p.Partition.StreamName(), err)
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("jetstream: message %d: %w", seq, err)
	}
	return m.Data, nil
}

// routing is the part of the envelope a subject needs.
type routing struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Subject  string `json:"subject"`
	Reseller string `json:"reseller"`
}

// Publish sends events asynchronously and waits for all acknowledgements.
func (p *Publisher) Publish(ctx context.Context, events []eventstore.Event) error {
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	for _, e := range events {
		var r routing
		if e.Tail != nil {
			r = routing{ID: e.Tail.ID, Type: e.Tail.Type, Subject: e.Tail.Subject, Reseller: e.Tail.Reseller}
		} else if err := json.Unmarshal(e.Bytes, &r); err != nil {
			return fmt.Errorf("jetstream: event %d: %w", e.Sequence, err)
		}
		m := &nats.Msg{
			Subject: p.Partition.Subject(r.Reseller, r.Subject, r.Type),
			Data:    e.Bytes,
			Header: nats.Header{
				jetstream.MsgIDHeader:           []string{r.ID},
				jetstream.ExpectedLastSeqHeader: []string{strconv.FormatUint(e.Sequence-1, 10)},
			},
		}
		f, err := p.JS.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("jetstream: publish event %d: %w", e.Sequence, err)
		}
		futures = append(futures, f)
	}
	timeout := p.AckTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Sequence != events[i].Sequence {
				return fmt.Errorf("jetstream: event %d landed at stream sequence %d", events[i].Sequence, ack.Sequence)
			}
			timer.Reset(timeout)
		case err := <-f.Err():
			return fmt.Errorf("jetstream: event %d: %w", events[i].Sequence, err)
		case <-timer.C:
			return fmt.Errorf("jetstream: no acknowledgement for event %d within %s of the one before", events[i].Sequence, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
