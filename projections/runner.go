package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
//
// After Restore, the runner also keeps the Persistent projections on disk: every FlushInterval
// or FlushEvents events it writes each one's changed records and its checkpoint in one batch.
// Projections that are not Persistent must not hold state built from the log (they are fed only
// the events after the restored checkpoints); watchers that react to events are fine.
type Runner struct {
	store       *eventstore.Store
	projections []Projection
	from        []uint64 // projection i is fed events after from[i] (its restored checkpoint)

	// FlushInterval and FlushEvents bound how much applied work a restart may have to redo: a
	// flush happens when either is reached. Defaults 1 s and 1,000,000 events (the count
	// matters in a rebuild, where fewer, larger flushes write each busy license fewer times).
	FlushInterval time.Duration
	FlushEvents   int
	// Log receives notes on restoring and rebuilding. Default: discarded.
	Log *slog.Logger
	// SnapshotEvery and SnapshotsKept: once Restore was called, a flush at least SnapshotEvery
	// events after the last snapshot also saves a snapshot of the whole stored state
	// (eventstore.SaveDerivedSnapshot), keeping the newest SnapshotsKept; a question about the
	// past that needs many licenses starts from one (LicensesReplayed). Defaults 1,000,000 and
	// 4; SnapshotEvery 0 saves none.
	SnapshotEvery uint64
	SnapshotsKept int
	lastSnapshot  uint64 // the newest snapshot's sequence
	rebuilding    bool   // Restore dropped a stored projection

	// flushing reports the flush being written (nil: none); lastFlushBytes and lastSnapshot are
	// the writing goroutine's, read after it has reported.
	flushing       chan error
	lastFlushBytes int // the size of the last flush's batch

	persist   bool       // Restore was called: flush Persistent projections
	applyMu   sync.Mutex // serializes applying and flushing
	unflushed int        // events applied since the last flush
	// flushFailed is the first failed flush's error. The projections had already handed over
	// (and forgotten) their changes, so no later flush may write a checkpoint past them.
	flushFailed error

	position atomic.Uint64
	mu       sync.Mutex
	advance  chan struct{}
}

// NewRunner returns a runner for projections over store.
func NewRunner(store *eventstore.Store, ps ...Projection) *Runner {
	return &Runner{store: store, projections: ps, from: make([]uint64, len(ps)), advance: make(chan struct{}),
		FlushInterval: time.Second, FlushEvents: 1_000_000, Log: slog.New(slog.DiscardHandler),
		SnapshotEvery: 1_000_000, SnapshotsKept: 4}
}

// Restore loads each Persistent projection from its stored records and checkpoint, and turns
// flushing on. A projection stored by another version, or ahead of the log (a data dir whose log
// was replaced), is dropped and rebuilt from sequence 0. Call it before CatchUp.
func (r *Runner) Restore() error {
	if err := r.restore(true, r.store); err != nil {
		return err
	}
	if r.rebuilding {
		// The snapshots copied state that is being rebuilt; the rebuild saves new ones.
		return r.store.DropDerivedSnapshots()
	}
	if seqs, err := r.store.DerivedSnapshots(); err == nil && len(seqs) > 0 {
		r.lastSnapshot = seqs[len(seqs)-1]
	}
	return nil
}

// Inspect loads the Persistent projections as Restore does but never writes: a projection
// whose stored state is unusable starts empty at sequence 0, nothing is dropped, and nothing is
// flushed. For checking a stopped ledger's stored state (on a read-only store, too).
func (r *Runner) Inspect() error { return r.restore(false, r.store) }

// InspectFrom is Inspect with the stored state read from src: a snapshot of the derived state
// (eventstore.DerivedSnapshot), to start from the past it reflects.
func (r *Runner) InspectFrom(src DerivedSource) error { return r.restore(false, src) }

func (r *Runner) restore(write bool, src DerivedSource) error {
	start := ^uint64(0)
	durable := r.store.Durable()
	for i, p := range r.projections {
		pp, ok := p.(Persistent)
		if !ok {
			continue
		}
		c, found, err := ReadCheckpoint(src, pp.Name())
		if err != nil {
			return err
		}
		if found && c.Version == pp.Version() && c.Sequence <= durable {
			r.from[i] = c.Sequence
			r.Log.Info("projection restored", "name", pp.Name(), "checkpoint", c.Sequence, "log", durable)
		} else {
			if found {
				r.Log.Warn("projection rebuilt from sequence 0", "name", pp.Name(),
					"storedVersion", c.Version, "version", pp.Version(), "checkpoint", c.Sequence, "log", durable)
			} else {
				r.Log.Info("projection built from sequence 0", "name", pp.Name(), "log", durable)
			}
			if write {
				if err := Drop(r.store, pp.Name()); err != nil {
					return err
				}
				r.rebuilding = true
			}
		}
		scan := loadRecords
		if r.from[i] == 0 {
			scan = loadNothing // starting over (Inspect leaves unusable records in place: skip them)
		}
		if err := scan(src, pp); err != nil {
			return fmt.Errorf("projections: load %s: %w", pp.Name(), err)
		}
		start = min(start, r.from[i])
	}
	if start == ^uint64(0) {
		start = 0
	}
	r.position.Store(start)
	r.persist = write
	return nil
}

// Position is the last sequence every projection reflects.
func (r *Runner) Position() uint64 { return r.position.Load() }

// Run applies events as they become durable until ctx ends, flushing the Persistent
// projections on the way (and once more when ctx ends).
func (r *Runner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tickErr error // a failed timed flush; written and read under applyMu
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		if !r.persist {
			return
		}
		tick := time.NewTicker(r.FlushInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				r.applyMu.Lock()
				tickErr = r.flush()
				r.applyMu.Unlock()
				if tickErr != nil {
					cancel()
					return
				}
			}
		}
	}()
	err := r.store.Subscribe(ctx, r.position.Load()+1, func(e eventstore.Event) error {
		m, ev, err := decode(e, nil) // live events mostly come decoded from the store's tail
		if err != nil {
			return err
		}
		r.applyMu.Lock()
		defer r.applyMu.Unlock()
		r.applyOne(m, ev)
		r.moved(e.Sequence)
		if r.unflushed >= r.FlushEvents {
			return r.flush()
		}
		return nil
	})
	cancel()
	<-ticking
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if tickErr != nil {
		return tickErr
	}
	if ferr := r.flushNow(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// applyOne feeds one event to every projection not already past it. Called with applyMu held.
func (r *Runner) applyOne(m Meta, ev domain.Event) {
	for i, p := range r.projections {
		if m.Sequence > r.from[i] {
			p.Apply(m, ev)
		}
	}
	r.unflushed++
}

// flush saves every Persistent projection's changed records and its checkpoint in one batch.
// Called with applyMu held; does nothing before Restore or when nothing was applied since the
// last flush, and fails for good once a flush has failed.
//
// What the projections have to write is taken now (Save, or a cutSaver's cut); building and
// committing the batch happen on a goroutine of their own while applying goes on (in a rebuild,
// the larger part of a flush), one flush at a time: a flush first waits for the one before it.
// flushNow also waits for its own.
func (r *Runner) flush() error {
	if err := r.waitFlush(); err != nil {
		return err
	}
	if !r.persist || r.unflushed == 0 {
		return nil
	}
	write, err := r.cutFlush()
	if err != nil {
		r.flushFailed = err
		return err
	}
	r.unflushed = 0
	done := make(chan error, 1)
	r.flushing = done
	go func() { done <- write() }()
	return nil
}

// flushNow is flush, returning once the batch is committed.
func (r *Runner) flushNow() error {
	if err := r.flush(); err != nil {
		return err
	}
	return r.waitFlush()
}

// waitFlush waits for the flush being written, if any, and returns the first failed flush's
// error. Called with applyMu held.
func (r *Runner) waitFlush() error {
	if r.flushing != nil {
		if err := <-r.flushing; err != nil && r.flushFailed == nil {
			r.flushFailed = err
		}
		r.flushing = nil
	}
	return r.flushFailed
}

// cutSaver is a Persistent projection that can take what Save would write as of now quickly, and
// write it later without holding up its applying.
type cutSaver interface {
	cutSave() (func(RecordWriter) error, error)
}

// cutFlush takes what a flush at the current position writes, and returns the writing and
// committing of it.
func (r *Runner) cutFlush() (func() error, error) {
	seq := r.position.Load()
	// Sized like the last one: a rebuild's flushes are alike (and large), live ones small.
	b := r.store.NewDerivedBatchSized(r.lastFlushBytes + r.lastFlushBytes/8)
	var later []func() error
	for i, p := range r.projections {
		pp, ok := p.(Persistent)
		if !ok {
			continue
		}
		w := &prefixedWriter{b: b, prefix: recordsPrefix(pp.Name()), history: historyPrefix(pp.Name())}
		if c, ok := pp.(cutSaver); ok {
			write, err := c.cutSave()
			if err != nil {
				b.Discard()
				return nil, fmt.Errorf("projections: save %s: %w", pp.Name(), err)
			}
			later = append(later, func() error { return write(w) })
		} else if err := pp.Save(w); err != nil {
			b.Discard()
			return nil, fmt.Errorf("projections: save %s: %w", pp.Name(), err)
		}
		c, _ := json.Marshal(Checkpoint{Version: pp.Version(), Sequence: max(seq, r.from[i])})
		b.Set(checkpointKey(pp.Name()), c)
	}
	return func() error {
		for _, write := range later {
			if err := write(); err != nil {
				b.Discard()
				return fmt.Errorf("projections: flush at %d: %w", seq, err)
			}
		}
		r.lastFlushBytes = b.Len()
		if err := b.Commit(); err != nil {
			return fmt.Errorf("projections: flush at %d: %w", seq, err)
		}
		r.maybeSnapshot(seq)
		return nil
	}, nil
}

// maybeSnapshot saves a snapshot of the stored state after the flush at seq, when one is due. A
// failure is only logged: snapshots spare work, the stored state is whole without them.
func (r *Runner) maybeSnapshot(seq uint64) {
	if r.SnapshotEvery == 0 || seq < r.lastSnapshot+r.SnapshotEvery {
		return
	}
	if err := r.store.SaveDerivedSnapshot(seq, r.SnapshotsKept); err != nil {
		r.Log.Warn("derived snapshot not saved", "sequence", seq, "err", err)
		return
	}
	r.lastSnapshot = seq
	r.Log.Info("derived snapshot saved", "sequence", seq)
}

// decode takes the domain event the writer attached when the event comes from the store's tail,
// and decodes the stored bytes otherwise, with the ids that repeat taken from in (nil: none).
func decode(e eventstore.Event, in *eventstore.Interner) (Meta, domain.Event, error) {
	if t := e.Tail; t != nil {
		if ev, ok := t.Payload.(domain.Event); ok {
			return Meta{Sequence: e.Sequence, Time: t.Time, Reseller: t.Reseller, Tenant: t.Tenant}, ev, nil
		}
	}
	env, err := eventstore.DecodeReplay(e.Bytes, in) // Data aliases e.Bytes: decoded right below
	if err != nil {
		return Meta{}, nil, err
	}
	ev, err := domain.DecodeEventWith(env.Type, env.Data, in.Intern)
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
