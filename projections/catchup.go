package projections

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// CatchUp applies every durable event not applied yet and returns the new position. Call it before
// Run to have the read models ready at start.
//
// A catch-up is a pipeline of three goroutines, so that a rebuild keeps two cores busy whatever
// the split of work between its stages (docs/BENCHMARKS.md):
//   - reading: this one walks the log and copies each event into a raw batch;
//   - decoding: turns each raw batch into a batch of decoded events (seat events into SeatFacts
//     when every projection takes them);
//   - applying: feeds the decoded batches to the projections in order, and flushes.
//
// The batches come from two fixed pools and go back once used: a catch-up allocates them once,
// and writes into memory that is still in the cache.
func (r *Runner) CatchUp() (uint64, error) { return r.CatchUpTo(^uint64(0)) }

// CatchUpTo is CatchUp that stops after sequence seq: for a read model of the log as it stood then.
func (r *Runner) CatchUpTo(seq uint64) (uint64, error) {
	return r.catchUpTo(context.Background(), seq)
}

// catchUpTo is CatchUpTo that gives up, with ctx's error, once ctx ends.
func (r *Runner) catchUpTo(ctx context.Context, seq uint64) (uint64, error) {
	c := catchUp{r: r, ctx: ctx, until: seq, seats: r.seatProjections(), in: eventstore.NewInterner(internLimit),
		raws: make(chan *rawBatch, catchUpBatches), freeRaws: make(chan *rawBatch, catchUpBatches),
		batches: make(chan []decoded, catchUpBatches), free: make(chan []decoded, catchUpBatches),
		decodedAll: make(chan struct{}), applied: make(chan struct{})}
	if c.seats != nil {
		c.facts = newSeatDecoder(c.in)
	}
	for range catchUpBatches {
		c.freeRaws <- &rawBatch{events: make([]eventstore.Event, 0, catchUpBatch), ends: make([]int, 0, catchUpBatch)}
		c.free <- make([]decoded, 0, catchUpBatch)
	}
	go c.decode()
	go c.apply()
	err := c.read()
	<-c.decodedAll
	<-c.applied
	for _, e := range []error{c.decodeErr, c.flushErr} {
		if err == nil {
			err = e
		}
	}
	r.applyMu.Lock()
	if err == nil {
		err = r.flushNow()
	} else {
		_ = r.waitFlush() // a flush still being written finishes; err already says what went wrong
	}
	r.applyMu.Unlock()
	return r.position.Load(), err
}

// catchUp is one CatchUp's pipeline. Each stage takes a batch from its pool (blocking while the
// next stage holds them all), fills it and hands it on; the stage after hands it back. A stage
// that fails sets failed and goes on draining, so that no other blocks.
type catchUp struct {
	r     *Runner
	ctx   context.Context
	until uint64           // the last sequence to apply
	seats []SeatProjection // nil unless every projection is one
	in    *eventstore.Interner
	facts *seatDecoder // nil: decode every event as a domain.Event

	raws, freeRaws chan *rawBatch
	batches, free  chan []decoded
	failed         atomic.Bool // a stage failed: the reader stops, the others drain

	decodedAll chan struct{} // closed when decoding is done; decodeErr is then safe to read
	decodeErr  error
	applied    chan struct{} // closed when applying is done; flushErr is then safe to read
	flushErr   error
}

// rawBatch is a run of events as read: each one's bytes, copied into one buffer (Pebble's are
// good only until the next), or the tail's own (immutable) with its decoded payload.
type rawBatch struct {
	events []eventstore.Event
	ends   []int // for events read from Pebble (Tail nil): where its bytes end in buf
	buf    []byte
}

// catchUpBatch is how many events a batch holds, and catchUpBatches how many batches each pool
// has.
const (
	catchUpBatch   = 256
	catchUpBatches = 8
)

// internLimit bounds the ids a catch-up's decoder shares between events (types, resellers,
// tenants, licenses, companies): a few megabytes at most.
const internLimit = 1 << 16

// read is the reading stage.
func (c *catchUp) read() error {
	defer close(c.raws)
	from, limit := c.r.position.Load()+1, 0 // 0: up to the log's end
	if c.until < from {
		return nil
	}
	if c.until-from < math.MaxInt32 {
		limit = int(c.until - from + 1)
	}
	rb := <-c.freeRaws
	_, err := c.r.store.Read(from, limit, func(e eventstore.Event) error {
		if c.failed.Load() {
			return eventstore.ErrStop
		}
		if e.Tail == nil {
			rb.buf = append(rb.buf, e.Bytes...)
			rb.ends = append(rb.ends, len(rb.buf))
		}
		rb.events = append(rb.events, e)
		if len(rb.events) == catchUpBatch {
			if err := c.ctx.Err(); err != nil {
				c.failed.Store(true)
				return err
			}
			c.raws <- rb.seal()
			rb = <-c.freeRaws
		}
		return nil
	})
	if len(rb.events) > 0 {
		c.raws <- rb.seal()
	}
	return err
}

// seal points the events read from Pebble at their bytes in buf, which no longer grows.
func (rb *rawBatch) seal() *rawBatch {
	start, k := 0, 0
	for i := range rb.events {
		if e := &rb.events[i]; e.Tail == nil {
			e.Bytes = rb.buf[start:rb.ends[k]]
			start = rb.ends[k]
			k++
		}
	}
	return rb
}

// decode is the decoding stage: one decoded batch per raw batch.
func (c *catchUp) decode() {
	defer close(c.decodedAll)
	defer close(c.batches)
	for rb := range c.raws {
		if !c.failed.Load() {
			batch := <-c.free
			if err := c.decodeBatch(rb, &batch); err != nil {
				c.decodeErr = err
				c.failed.Store(true)
				c.free <- batch[:0]
			} else {
				c.batches <- batch
			}
		}
		rb.events, rb.ends, rb.buf = rb.events[:0], rb.ends[:0], rb.buf[:0]
		c.freeRaws <- rb
	}
}

func (c *catchUp) decodeBatch(rb *rawBatch, batch *[]decoded) error {
	b := (*batch)[:len(rb.events)]
	var seat []bool // which events the seat decoder decoded
	if c.facts != nil {
		seat = c.facts.decodeBatch(rb.events, b)
	}
	for i, e := range rb.events {
		if d := &b[i]; seat == nil || !seat[i] {
			m, ev, err := decode(e, c.in)
			if err != nil {
				return err
			}
			*d = decoded{meta: m, event: ev}
		}
	}
	*batch = b
	return nil
}

// apply is the applying stage.
func (c *catchUp) apply() {
	defer close(c.applied)
	for b := range c.batches {
		if c.flushErr == nil {
			c.applyBatch(b)
		}
		c.free <- b[:0]
	}
}

func (c *catchUp) applyBatch(b []decoded) {
	r := c.r
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	for i, p := range r.projections {
		if bp, ok := p.(batchProjection); ok {
			bp.applyBatch(b, r.from[i])
			continue
		}
		for k := range b {
			switch d := &b[k]; {
			case d.meta.Sequence <= r.from[i]:
			case d.event != nil:
				p.Apply(d.meta, d.event)
			default:
				c.seats[i].ApplySeat(d.meta, &d.seat)
			}
		}
	}
	r.unflushed += len(b)
	r.moved(b[len(b)-1].meta.Sequence)
	if r.unflushed >= r.FlushEvents {
		c.flushErr = r.flush()
		c.failed.Store(c.flushErr != nil)
	}
}

// batchProjection is a projection of this package that takes a catch-up's decoded batches whole,
// the events after sequence after: one lock per batch rather than per event.
type batchProjection interface {
	applyBatch(b []decoded, after uint64)
}

// decoded is an event as the decoder hands it to the applier: event, or (event nil) seat.
type decoded struct {
	meta  Meta
	event domain.Event
	seat  SeatFact
}

// seatProjections returns the projections as SeatProjections, or nil unless every one is.
func (r *Runner) seatProjections() []SeatProjection {
	out := make([]SeatProjection, len(r.projections))
	for i, p := range r.projections {
		sp, ok := p.(SeatProjection)
		if !ok {
			return nil
		}
		out[i] = sp
	}
	return out
}
