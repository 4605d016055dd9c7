package eventstore

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

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
