package eventstore

import (
	"context"
	"sync"
	"sync/atomic"
)

// mark is a sequence that goroutines read without a lock and can wait on: the store's durable
// mark, the outbox relay's published position.
type mark struct {
	seq   atomic.Uint64
	mu    sync.Mutex
	moved chan struct{} // closed and dropped by wake; nil while nobody waits
}

// Load returns the mark.
func (m *mark) Load() uint64 { return m.seq.Load() }

// set changes the mark and wakes whoever waits on it.
func (m *mark) set(seq uint64) {
	m.seq.Store(seq)
	m.wake()
}

// wake wakes whoever waits on the mark. A writer that must make a new value visible before it
// lets the waiters run stores it (seq.Store) and wakes them later.
func (m *mark) wake() {
	m.mu.Lock()
	if m.moved != nil {
		close(m.moved)
		m.moved = nil
	}
	m.mu.Unlock()
}

// wait blocks until the mark is at least seq and returns it; or, with the mark as it stands, ctx's
// error once ctx ends or ErrClosed once stop is closed (nil: never).
func (m *mark) wait(ctx context.Context, seq uint64, stop <-chan struct{}) (uint64, error) {
	for {
		m.mu.Lock()
		if m.moved == nil {
			m.moved = make(chan struct{})
		}
		ch := m.moved
		m.mu.Unlock()
		// Read after taking the channel: a set from now on closes it.
		if v := m.seq.Load(); v >= seq {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return m.seq.Load(), ctx.Err()
		case <-stop:
			if v := m.seq.Load(); v >= seq {
				return v, nil
			}
			return m.seq.Load(), ErrClosed
		}
	}
}
