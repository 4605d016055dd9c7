package handlers

import (
	"context"
	"sync"

	"github.com/licledger/licledger/domain"
)

// replayGate bounds the replays that answer asOf queries, whose cost grows with the log: one runs
// at a time (each holds a whole read model), at most maxWaiting wait for their turn, and each
// credential has at most one running or waiting. A request beyond that is refused at once (503
// OVERLOADED when the queue is full, 429 RATE_LIMITED for a credential's second), so replays
// hold at most maxWaiting+1 of the NATS workers, and commands and cheap queries never queue
// behind them.
type replayGate struct {
	running    chan struct{} // a token while a replay runs
	maxWaiting int

	mu       sync.Mutex
	waiting  int
	inFlight map[string]bool // credential id -> has a replay running or waiting
}

func newReplayGate(maxWaiting int) *replayGate {
	return &replayGate{running: make(chan struct{}, 1), maxWaiting: maxWaiting, inFlight: map[string]bool{}}
}

// enter waits for the caller's turn to replay, or refuses at once; release ends the replay.
func (g *replayGate) enter(ctx context.Context, caller, field string) (release func(), err error) {
	g.mu.Lock()
	switch {
	case g.inFlight[caller]:
		g.mu.Unlock()
		return nil, domain.Errorf(CodeRateLimited, field, "this credential already has a replay of the log (asOf, or a chart's history) running or waiting; retry once it is answered")
	case g.waiting >= g.maxWaiting:
		g.mu.Unlock()
		return nil, domain.Errorf(CodeOverloaded, field, "%d replays of the log are already waiting for their turn; retry in a few seconds", g.waiting)
	}
	g.inFlight[caller] = true
	g.waiting++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		delete(g.inFlight, caller)
		g.mu.Unlock()
	}
	select {
	case g.running <- struct{}{}:
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
		return func() { <-g.running; leave() }, nil
	case <-ctx.Done():
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
		leave()
		return nil, ctx.Err()
	}
}
