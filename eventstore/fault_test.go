package eventstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestFailedFsyncIsFatal makes the WAL's fsync fail: the command in that batch is not
// acknowledged, Fatal is called once, and the store refuses all further work. After a restart on a
// healthy disk, everything acknowledged before the fault is there.
func TestFailedFsyncIsFatal(t *testing.T) {
	dir := t.TempDir()
	failSync := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if (op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) && strings.HasSuffix(op.Path, ".log") {
			return errorfs.ErrInjected
		}
		return nil
	})}
	var fatals atomic.Int32
	var fatalErr atomic.Value
	s, err := openFS(dir, Options{Fatal: func(err error) { fatals.Add(1); fatalErr.Store(err) }}, errorfs.Wrap(vfs.Default, failSync))
	if err != nil {
		t.Fatal(err)
	}
	appendOne := Command{Decide: func(tx *Tx) (func(Receipt) []byte, error) {
		return nil, tx.Append("a", AnyVersion, Record{Type: "t.v1", Subject: "a", Data: []byte(`{}`)})
	}}
	for range 3 {
		if _, err := s.Submit(context.Background(), appendOne); err != nil {
			t.Fatal(err)
		}
	}
	failSync.On()
	if _, err := s.Submit(context.Background(), appendOne); !errors.Is(err, ErrFailed) {
		t.Fatalf("command in a batch whose fsync failed: %v, want ErrFailed", err)
	}
	if _, err := s.Submit(context.Background(), appendOne); !errors.Is(err, ErrFailed) {
		t.Fatalf("command after the failure: %v, want ErrFailed", err)
	}
	if n := fatals.Load(); n != 1 {
		t.Fatalf("Fatal called %d times, want once", n)
	}
	if err, _ := fatalErr.Load().(error); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Fatal got %v", err)
	}
	if s.Durable() != 3 {
		t.Fatalf("durable mark moved past the failed commit: %d", s.Durable())
	}
	failSync.Off()
	_ = s.Close() // Pebble may report the earlier failure; the process would have exited anyway

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Durable() < 3 {
		t.Fatalf("after restart the log has %d events; the 3 acknowledged ones are missing", s.Durable())
	}
}

// TestSettledCoversTheCommitInFlight stalls the WAL's fsync while a command commits: until its
// event is durable, times before the event are settled and the event's own time and later ones
// are not; once it is durable, every time is.
func TestSettledCoversTheCommitInFlight(t *testing.T) {
	var stall atomic.Pointer[chan struct{}]
	stalling := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if (op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) && strings.HasSuffix(op.Path, ".log") {
			if release := stall.Load(); release != nil {
				<-*release
			}
		}
		return nil
	})
	start := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	var now atomic.Pointer[time.Time]
	set := func(t time.Time) { now.Store(&t) }
	set(start)
	s, err := openFS(t.TempDir(), Options{Clock: func() time.Time { return *now.Load() }}, errorfs.Wrap(vfs.Default, stalling))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	unstall := sync.OnceFunc(func() { stall.Store(nil); close(release) })
	t.Cleanup(func() { _ = s.Close() })
	t.Cleanup(unstall) // first, so that a failed test does not leave Close waiting on the fsync
	appendOne := Command{Decide: func(tx *Tx) (func(Receipt) []byte, error) {
		return nil, tx.Append("a", AnyVersion, Record{Type: "t.v1", Subject: "a", Data: []byte(`{}`)})
	}}
	if _, err := s.Submit(context.Background(), appendOne); err != nil {
		t.Fatal(err)
	}
	if !s.Settled(start.Add(time.Hour)) {
		t.Fatal("nothing is in flight, yet a later time is not settled")
	}

	stall.Store(&release)
	at := start.Add(time.Minute)
	set(at)
	done := make(chan error, 1)
	go func() { _, err := s.Submit(context.Background(), appendOne); done <- err }()
	for deadline := time.Now().Add(10 * time.Second); s.assigned.Load() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sequencer never appended the second event")
		}
	}
	set(at.Add(time.Hour)) // the clock moves on while the commit hangs
	for _, c := range []struct {
		t       time.Time
		settled bool
	}{{at.Add(-time.Second), true}, {at, false}, {at.Add(30 * time.Minute), false}} {
		if got := s.Settled(c.t); got != c.settled {
			t.Errorf("with the event of %s in flight: Settled(%s) = %v, want %v", at.Format(time.TimeOnly), c.t.Format(time.TimeOnly), got, c.settled)
		}
	}
	unstall()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !s.Settled(at.Add(30 * time.Minute)) {
		t.Error("the event is durable, yet a time after it is not settled")
	}
}
