package projections

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Meta is what a projection may know of an event besides its payload.
type Meta struct {
	Sequence         uint64
	Time             time.Time
	Reseller, Tenant string
}

// Projection is a read model fed one event at a time, in log order, from one goroutine.
type Projection interface {
	Apply(m Meta, e domain.Event)
}

// Runner feeds projections from the log and tracks the sequence they reflect.
type Runner struct {
	store       *eventstore.Store
	projections []Projection

	position atomic.Uint64
	mu       sync.Mutex
	advance  chan struct{}
}

// NewRunner returns a runner for projections over store.
func NewRunner(store *eventstore.Store, ps ...Projection) *Runner {
	return &Runner{store: store, projections: ps, advance: make(chan struct{})}
}

// Position is the last sequence every projection reflects.
func (r *Runner) Position() uint64 { return r.position.Load() }

// CatchUp applies every durable event not applied yet and returns the new position. Call it before
// Run to have the read models ready at start.
//
// Reading and decoding run on one goroutine and applying on another, so a rebuild uses two cores:
// the decoder hands over batches of decoded events, and the applier feeds them to the
// projections in order.
func (r *Runner) CatchUp() (uint64, error) {
	batches := make(chan []decoded, 8)
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		for b := range batches {
			for _, d := range b {
				for _, p := range r.projections {
					p.Apply(d.meta, d.event)
				}
			}
			r.moved(b[len(b)-1].meta.Sequence)
		}
	}()
	batch := make([]decoded, 0, catchUpBatch)
	_, err := r.store.Read(r.position.Load()+1, 0, func(e eventstore.Event) error {
		m, ev, err := decode(e)
		if err != nil {
			return err
		}
		if batch = append(batch, decoded{m, ev}); len(batch) == catchUpBatch {
			batches <- batch
			batch = make([]decoded, 0, catchUpBatch)
		}
		return nil
	})
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	<-applied
	return r.position.Load(), err
}

// catchUpBatch is how many decoded events the decoder hands to the applier at a time.
const catchUpBatch = 512

type decoded struct {
	meta  Meta
	event domain.Event
}

// Run applies events as they become durable until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	return r.store.Subscribe(ctx, r.position.Load()+1, func(e eventstore.Event) error {
		if err := r.apply(e); err != nil {
			return err
		}
		r.moved(e.Sequence)
		return nil
	})
}

func (r *Runner) apply(e eventstore.Event) error {
	m, ev, err := decode(e)
	if err != nil {
		return err
	}
	for _, p := range r.projections {
		p.Apply(m, ev)
	}
	return nil
}

// decode takes the domain event the writer attached when the event comes from the store's tail,
// and decodes the stored bytes otherwise.
func decode(e eventstore.Event) (Meta, domain.Event, error) {
	if t := e.Tail; t != nil {
		if ev, ok := t.Payload.(domain.Event); ok {
			return Meta{Sequence: e.Sequence, Time: t.Time, Reseller: t.Reseller, Tenant: t.Tenant}, ev, nil
		}
	}
	env, err := eventstore.DecodeEnvelope(e.Bytes)
	if err != nil {
		return Meta{}, nil, err
	}
	ev, err := domain.DecodeEvent(env.Type, env.Data)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("projections: event %d: %w", e.Sequence, err)
	}
	return Meta{Sequence: env.Sequence, Time: env.Time, Reseller: env.Reseller, Tenant: env.Tenant}, ev, nil
}

func (r *Runner) moved(seq uint64) {
	if seq <= r.position.Load() {
		return
	}
	r.position.Store(seq)
	r.mu.Lock()
	close(r.advance)
	r.advance = make(chan struct{})
	r.mu.Unlock()
}

// WaitFor blocks until the projections reflect seq or ctx ends.
func (r *Runner) WaitFor(ctx context.Context, seq uint64) error {
	for {
		r.mu.Lock()
		ch := r.advance
		r.mu.Unlock()
		if r.position.Load() >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
