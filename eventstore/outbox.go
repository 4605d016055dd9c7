package eventstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Publisher is where the outbox relay sends events: in licledger, the JetStream stream
// LEDGER_EVENTS (see package eventstore/natsstream). The store does not know NATS.
type Publisher interface {
	// Last returns the sequence of the last event the destination holds (0 if none). The relay
	// resumes after it, so the destination itself is the cursor that cannot drift.
	Last(ctx context.Context) (uint64, error)
	// At returns the bytes the destination holds at sequence seq. The relay checks that they are
	// the log's own before it counts seq as published.
	At(ctx context.Context, seq uint64) ([]byte, error)
	// Publish sends events in order and returns once the destination acknowledged all of them,
	// or the first error. Each event must land at its own sequence (no gap, no duplicate).
	Publish(ctx context.Context, events []Event) error
}

// Relay copies the log to a Publisher, in order, resuming after crashes and outages.
// Its cursor (m/outbox) is advanced after every acknowledged batch.
type Relay struct {
	Store     *Store
	Publisher Publisher
	Logger    *slog.Logger
	// Batch is the most events published before waiting for acknowledgements. Default 4096.
	Batch int
	// Backoff is the wait after a failure before reconciling again. Default 500 ms.
	Backoff time.Duration

	published mark
	foreign   atomic.Uint64 // the destination's sequence holding what the log did not publish; 0 if none
}

// Foreign returns the sequence at which the destination holds a message that is not the log's
// event there (a foreign writer's), or 0. While it is set, the relay publishes nothing: it would
// either skip a real event or build on a forgery. /readyz and the alerts watch it.
func (r *Relay) Foreign() uint64 { return r.foreign.Load() }

const outboxCursor = "outbox"

// Published returns the last sequence the destination acknowledged.
func (r *Relay) Published() uint64 { return r.published.Load() }

// WaitPublished blocks until the destination acknowledged sequence seq, or ctx ends, and returns
// the published position. A ledger that acknowledges a command only once its events are
// replicated (ledgerd --ack-replicated) waits here.
func (r *Relay) WaitPublished(ctx context.Context, seq uint64) (uint64, error) {
	return r.published.wait(ctx, seq, nil)
}

// Lag is how many durable events have not been acknowledged by the destination yet.
func (r *Relay) Lag() uint64 {
	d, p := r.Store.Durable(), r.published.Load()
	if p >= d {
		return 0
	}
	return d - p
}

// OutboxCursor returns the relay cursor stored in the log's metadata (0 if never written).
func (s *Store) OutboxCursor() (uint64, error) {
	v, err := s.GetMeta(outboxCursor)
	if err != nil || len(v) != 8 {
		return 0, err
	}
	return binary.BigEndian.Uint64(v), nil
}

// Run relays until ctx ends. Every failure (destination down, a rejected publish, a gap) leads to
// a fresh reconciliation: ask the destination where it stands, and continue from there.
func (r *Relay) Run(ctx context.Context) error {
	if r.Batch <= 0 {
		r.Batch = 4096
	}
	if r.Backoff <= 0 {
		r.Backoff = 500 * time.Millisecond
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if c, err := r.Store.OutboxCursor(); err == nil {
		r.published.set(c)
	}
	for {
		err := r.runOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		r.Logger.Warn("outbox relay interrupted; will reconcile", "err", err, "published", r.published.Load())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.Backoff):
		}
	}
}

func (r *Relay) runOnce(ctx context.Context) error {
	last, err := r.Publisher.Last(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if mark := r.Store.Durable(); last > mark {
		// The destination holds events the log does not: a foreign writer or a log restored from
		// an older copy. Publishing on would break stream seq == ledger seq; refuse loudly.
		return fmt.Errorf("destination is at sequence %d, beyond the log's %d: refusing to publish", last, mark)
	}
	if err := r.checkOwn(ctx, last); err != nil {
		return err
	}
	r.advance(last)
	events := make([]Event, 0, r.Batch)
	for {
		events = events[:0]
		_, err := r.Store.Read(last+1, r.Batch, func(e Event) error {
			if e.Tail == nil { // read from Pebble: the bytes are only lent to us
				e.Bytes = append([]byte(nil), e.Bytes...)
			}
			events = append(events, e)
			return nil
		})
		if err != nil {
			return err
		}
		if len(events) == 0 {
			if _, err := r.Store.WaitDurable(ctx, last); err != nil {
				return err
			}
			continue
		}
		if err := r.Publisher.Publish(ctx, events); err != nil {
			return err
		}
		last = events[len(events)-1].Sequence
		r.advance(last)
	}
}

// checkOwn checks that the destination's message at seq is the log's event at seq, byte for
// byte. Only the relay's own publications carry the expected-last-sequence that keeps the stream
// gap-free, so a message someone else slipped in can only be the last: checking it at every
// reconciliation is enough to never count a forgery as published.
func (r *Relay) checkOwn(ctx context.Context, seq uint64) error {
	if seq == 0 {
		r.foreign.Store(0)
		return nil
	}
	theirs, err := r.Publisher.At(ctx, seq)
	if err != nil {
		return fmt.Errorf("reconcile: read the destination at %d: %w", seq, err)
	}
	var ours []byte
	if _, err := r.Store.Read(seq, 1, func(e Event) error { ours = append(ours, e.Bytes...); return nil }); err != nil {
		return err
	}
	if !bytes.Equal(theirs, ours) {
		r.foreign.Store(seq)
		r.Logger.Error("the destination holds a message the ledger did not publish: publication stopped", "sequence", seq)
		return fmt.Errorf("destination's message at sequence %d is not the log's event: refusing to publish", seq)
	}
	r.foreign.Store(0)
	return nil
}

func (r *Relay) advance(seq uint64) {
	r.published.set(seq)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	if err := r.Store.SetMeta(outboxCursor, b[:]); err != nil {
		r.Logger.Warn("outbox cursor not saved", "err", err)
	}
}
