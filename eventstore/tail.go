package eventstore

import (
	"sync"
	"time"
)

// Tail describes an event served from the in-memory tail: its routing attributes and the
// payload the writer attached to its Record, so that in-process readers near the head of the log
// (the outbox relay, the projector) need neither read Pebble nor decode JSON.
type Tail struct {
	ID, Type, Subject, Reseller, Tenant string
	Time                                time.Time
	Payload                             any // Record.Payload as given to Tx.Append (may be nil)
}

type tailEntry struct {
	seq   uint64
	bytes []byte // immutable once written
	info  Tail
}

// tailRing keeps the most recent events by sequence. The sequencer puts an event when it encodes
// it, before its commit; readers never ask for anything above the durable mark, so they never see
// an event that is not yet on disk. A slot overwritten before a slow reader got to it is simply a
// miss: the reader falls back to Pebble.
type tailRing struct {
	mu    sync.RWMutex
	slots []*tailEntry
	mask  uint64
}

func newTailRing(size int) *tailRing {
	n := 1
	for n < size {
		n <<= 1
	}
	return &tailRing{slots: make([]*tailEntry, n), mask: uint64(n - 1)}
}

func (r *tailRing) put(e *tailEntry) {
	r.mu.Lock()
	r.slots[e.seq&r.mask] = e
	r.mu.Unlock()
}

// span appends to out the entries from..to (inclusive) that are still in the ring, stopping at the
// first one that is not.
func (r *tailRing) span(from, to uint64, out []*tailEntry) []*tailEntry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for seq := from; seq <= to; seq++ {
		e := r.slots[seq&r.mask]
		if e == nil || e.seq != seq {
			break
		}
		out = append(out, e)
	}
	return out
}
