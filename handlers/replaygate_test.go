package handlers

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
)

func TestReplayGate(t *testing.T) {
	g := newReplayGate(2)
	ctx := context.Background()
	release, err := g.enter(ctx, "a", "asOf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.enter(ctx, "a", "asOf"); domain.ErrorCode(err) != CodeRateLimited {
		t.Fatalf("a credential's second replay: %v; want %s", err, CodeRateLimited)
	}
	// Two others wait their turn; a third is refused at once.
	waiting, cancel := context.WithCancel(ctx)
	defer cancel()
	entered := make(chan error, 2)
	for i := range 2 {
		go func() {
			rel, err := g.enter(waiting, "w"+strconv.Itoa(i), "asOf")
			if err == nil {
				rel()
			}
			entered <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		n := g.waiting
		g.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting; want 2", n)
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := g.enter(ctx, "c", "asOf"); domain.ErrorCode(err) != CodeOverloaded {
		t.Fatalf("a replay past the queue: %v; want %s", err, CodeOverloaded)
	}
	release()
	for range 2 {
		if err := <-entered; err != nil {
			t.Fatalf("a waiting replay: %v", err)
		}
	}
	// A waiter whose asker goes away leaves the queue and its credential's place.
	release, _ = g.enter(ctx, "a", "asOf")
	gone, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := g.enter(gone, "b", "asOf"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	stop()
	if err := <-done; err != context.Canceled {
		t.Fatalf("a cancelled waiter: %v", err)
	}
	release()
	if rel, err := g.enter(ctx, "b", "asOf"); err != nil {
		t.Fatalf("after its cancelled wait, b: %v", err)
	} else {
		rel()
	}
}
