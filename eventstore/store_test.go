package eventstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/goleak"

	"github.com/licledger/licledger/eventstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, dir string, opts eventstore.Options) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendTo returns a command that appends n events to stream at the expected version and
// replies with the sequences it got.
func appendTo(stream string, expected int64, n int) eventstore.Command {
	return eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		recs := make([]eventstore.Record, n)
		for i := range recs {
			recs[i] = eventstore.Record{Type: "thing.happened.v1", Subject: stream, Data: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
		}
		if err := tx.Append(stream, expected, recs...); err != nil {
			return nil, err
		}
		return func(r eventstore.Receipt) []byte {
			out := ""
			for _, e := range r.Events {
				out += fmt.Sprintf("%d@%d ", e.Sequence, e.Version)
			}
			return []byte(out)
		}, nil
	}}
}

func submit(t *testing.T, s *eventstore.Store, c eventstore.Command) eventstore.Result {
	t.Helper()
	res, err := s.Submit(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readAll(t *testing.T, s *eventstore.Store, from uint64) []eventstore.Envelope {
	t.Helper()
	var out []eventstore.Envelope
	if _, err := s.Read(from, 0, func(e eventstore.Event) error {
		env, err := eventstore.DecodeEnvelope(e.Bytes)
		if err != nil {
			return err
		}
		if env.Sequence != e.Sequence {
			return fmt.Errorf("event at key %d says sequence %d", e.Sequence, env.Sequence)
		}
		out = append(out, env)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendAssignsSequenceVersionAndEnvelope(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{Source: "test"})
	if got := string(submit(t, s, appendTo("a", 0, 2)).Reply); got != "1@1 2@2 " {
		t.Fatalf("reply %q", got)
	}
	if got := string(submit(t, s, appendTo("b", 0, 1)).Reply); got != "3@1 " {
		t.Fatalf("reply %q", got)
	}
	if got := string(submit(t, s, appendTo("a", 2, 1)).Reply); got != "4@3 " {
		t.Fatalf("reply %q", got)
	}
	evs := readAll(t, s, 1)
	if len(evs) != 4 {
		t.Fatalf("read %d events, want 4", len(evs))
	}
	for i, e := range evs {
		if e.Sequence != uint64(i+1) || e.Source != "test" || e.SpecVersion != "1.0" || e.Type != "thing.happened.v1" || len(e.ID) != 26 {
			t.Errorf("event %d: %+v", i, e)
		}
		if i > 0 && (e.Time.Before(evs[i-1].Time) || e.ID <= evs[i-1].ID) {
			t.Errorf("event %d: time or id went backwards", i)
		}
	}
	if evs[3].Stream != "a" || evs[3].Version != 3 || string(evs[3].Data) != `{"n":0}` {
		t.Errorf("last event %+v", evs[3])
	}
}

func TestWrongExpectedVersionAppendsNothing(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{})
	submit(t, s, appendTo("a", 0, 1))
	_, err := s.Submit(context.Background(), appendTo("a", 0, 1))
	if !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("err = %v, want ErrWrongExpectedVersion", err)
	}
	if d := s.Durable(); d != 1 {
		t.Fatalf("durable = %d after a refused command, want 1", d)
	}
	if got := string(submit(t, s, appendTo("a", eventstore.AnyVersion, 1)).Reply); got != "2@2 " {
		t.Fatalf("reply %q", got)
	}
}

func TestRefusedDecisionAppendsNothing(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{})
	refuse := errors.New("no")
	_, err := s.Submit(context.Background(), eventstore.Command{ID: "x", Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		_ = tx.Append("a", 0, eventstore.Record{Type: "t.v1", Subject: "a"})
		return nil, refuse
	}})
	if !errors.Is(err, refuse) {
		t.Fatalf("err = %v", err)
	}
	if s.Durable() != 0 || len(readAll(t, s, 1)) != 0 {
		t.Fatal("a refused command appended")
	}
	// A refused command's id is not recorded: a retry is decided afresh.
	c := appendTo("a", 0, 1)
	c.ID = "x"
	if res := submit(t, s, c); res.Replayed || string(res.Reply) != "1@1 " {
		t.Fatalf("retry after refusal: %+v", res)
	}
}

func TestConcurrentAppendsAreGapFree(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{MaxBatch: 16})
	const writers, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := "s" + strconv.Itoa(w%4)
			for range each {
				if _, err := s.Submit(context.Background(), appendTo(stream, eventstore.AnyVersion, 2)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	evs := readAll(t, s, 1)
	if len(evs) != writers*each*2 {
		t.Fatalf("%d events, want %d", len(evs), writers*each*2)
	}
	versions := map[string]uint32{}
	for i, e := range evs {
		if e.Sequence != uint64(i+1) {
			t.Fatalf("event %d has sequence %d", i, e.Sequence)
		}
		if e.Version != versions[e.Stream]+1 {
			t.Fatalf("stream %s: version %d after %d", e.Stream, e.Version, versions[e.Stream])
		}
		versions[e.Stream] = e.Version
	}
	for stream, v := range versions {
		n := 0
		if err := s.ReadStream(stream, 1, func(eventstore.Event) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if uint32(n) != v {
			t.Errorf("ReadStream(%s) gave %d events, want %d", stream, n, v)
		}
	}
}

func TestReopenContinuesWhereItStopped(t *testing.T) {
	dir := t.TempDir()
	s, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	submit(t, s, appendTo("a", 0, 3))
	idem := appendTo("b", 0, 1)
	idem.ID, idem.Digest = "cmd-1", sha256.Sum256([]byte("body"))
	first := submit(t, s, idem)
	lastTime := readAll(t, s, 1)[3].Time
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(context.Background(), appendTo("a", 3, 1)); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}

	// A clock behind the log's last event must not make time go backwards.
	s = open(t, dir, eventstore.Options{Clock: func() time.Time { return lastTime.Add(-time.Hour) }})
	if s.Durable() != 4 {
		t.Fatalf("durable after reopen = %d, want 4", s.Durable())
	}
	if _, err := s.Submit(context.Background(), appendTo("a", 0, 1)); !errors.Is(err, eventstore.ErrWrongExpectedVersion) {
		t.Fatalf("stream version lost on reopen: %v", err)
	}
	if got := string(submit(t, s, appendTo("a", 3, 1)).Reply); got != "5@4 " {
		t.Fatalf("reply after reopen %q", got)
	}
	again := submit(t, s, idem)
	if !again.Replayed || string(again.Reply) != string(first.Reply) {
		t.Fatalf("idempotent retry after reopen: %+v, first %q", again, first.Reply)
	}
	evs := readAll(t, s, 5)
	if len(evs) != 1 || evs[0].Time.Before(lastTime) {
		t.Fatalf("after reopen: %+v", evs)
	}
}

func TestReadFromAnyPosition(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{})
	for range 10 {
		submit(t, s, appendTo("a", eventstore.AnyVersion, 1))
	}
	for from := uint64(0); from <= 11; from++ {
		evs := readAll(t, s, from)
		want := 10 - int(max(from, 1)) + 1
		if want < 0 {
			want = 0
		}
		if len(evs) != want || (want > 0 && evs[0].Sequence != max(from, 1)) {
			t.Fatalf("Read(%d): %d events, want %d", from, len(evs), want)
		}
	}
	n := 0
	last, err := s.Read(4, 3, func(eventstore.Event) error { n++; return nil })
	if err != nil || n != 3 || last != 6 {
		t.Fatalf("Read(4, limit 3) = last %d, n %d, %v", last, n, err)
	}
	n = 0
	if err := s.ReadStream("a", 8, func(eventstore.Event) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("ReadStream(a, 8) = %d events, %v", n, err)
	}
}

func TestIdempotentRetry(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{})
	c := appendTo("a", eventstore.AnyVersion, 1)
	c.ID, c.Digest = "cmd-1", sha256.Sum256([]byte("body"))

	// Concurrent retries of one command: exactly one is decided, all get the same bytes.
	var wg sync.WaitGroup
	replies := make(chan eventstore.Result, 8)
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); replies <- submit(t, s, c) }()
	}
	wg.Wait()
	close(replies)
	decided := 0
	for r := range replies {
		if !r.Replayed {
			decided++
		}
		if string(r.Reply) != "1@1 " {
			t.Errorf("reply %q", r.Reply)
		}
	}
	if decided != 1 || s.Durable() != 1 {
		t.Fatalf("decided %d times, durable %d; want once, 1", decided, s.Durable())
	}
	other := c
	other.Digest = sha256.Sum256([]byte("another body"))
	if _, err := s.Submit(context.Background(), other); !errors.Is(err, eventstore.ErrCommandIDReused) {
		t.Fatalf("reused id: %v", err)
	}
}

func TestSubscribeSeesEveryEventInOrder(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan uint64, 100)
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, 1, func(e eventstore.Event) error {
			if e.Sequence > s.Durable() {
				return fmt.Errorf("saw %d beyond the durable mark %d", e.Sequence, s.Durable())
			}
			got <- e.Sequence
			return nil
		})
	}()
	for range 20 {
		submit(t, s, appendTo("a", eventstore.AnyVersion, 2))
	}
	for want := uint64(1); want <= 40; want++ {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("got %d, want %d", seq, want)
			}
		case err := <-done:
			t.Fatalf("subscription ended: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %d", want)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscription ended with %v", err)
	}
}

func TestOverloadAnswersAtOnce(t *testing.T) {
	s := open(t, t.TempDir(), eventstore.Options{QueueSize: 1})
	hold := make(chan struct{})
	holding := make(chan struct{})
	blocked := eventstore.Command{Decide: func(*eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		close(holding)
		<-hold
		return nil, nil
	}}
	first := make(chan error, 1)
	go func() { _, err := s.Submit(context.Background(), blocked); first <- err }()
	<-holding // the sequencer is busy deciding; the queue (size 1) is empty
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		// A probe that gets into the queue waits behind the held command: give up on it quickly.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, err = s.Submit(ctx, appendTo("b", eventstore.AnyVersion, 1))
		cancel()
		if errors.Is(err, eventstore.ErrOverloaded) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, eventstore.ErrOverloaded) {
		t.Fatalf("full queue answered %v, want ErrOverloaded", err)
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The queue drains once the sequencer is free again: a client retrying gets through.
	for {
		_, err := s.Submit(context.Background(), appendTo("c", 0, 1))
		if err == nil {
			break
		}
		if !errors.Is(err, eventstore.ErrOverloaded) || time.Now().After(deadline.Add(5*time.Second)) {
			t.Fatalf("after the queue drained: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCloseAnswersQueuedCommands(t *testing.T) {
	s, err := eventstore.Open(t.TempDir(), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Submit(context.Background(), appendTo("a", eventstore.AnyVersion, 1))
			if err != nil && !errors.Is(err, eventstore.ErrClosed) {
				t.Error(err)
			}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// TestReadAcrossTailAndDisk reads with a tail ring far smaller than the log, so reads mix events
// served from memory with events read back from Pebble, and after a reopen (empty ring).
func TestReadAcrossTailAndDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := eventstore.Open(dir, eventstore.Options{TailSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		submit(t, s, appendTo("a", eventstore.AnyVersion, 1))
	}
	check := func(s *eventstore.Store, from uint64, wantTail bool) {
		t.Helper()
		var got []uint64
		sawTail := false
		if _, err := s.Read(from, 0, func(e eventstore.Event) error {
			env, err := eventstore.DecodeEnvelope(e.Bytes)
			if err != nil || env.Sequence != e.Sequence {
				return fmt.Errorf("event %d: %v", e.Sequence, err)
			}
			if e.Tail != nil {
				sawTail = true
				if e.Tail.ID != env.ID || e.Tail.Type != env.Type || !e.Tail.Time.Equal(env.Time) {
					return fmt.Errorf("tail of %d disagrees with its bytes: %+v", e.Sequence, e.Tail)
				}
			}
			got = append(got, e.Sequence)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != int(21-from) || got[0] != from {
			t.Fatalf("Read(%d) gave %v", from, got)
		}
		if sawTail != wantTail {
			t.Fatalf("Read(%d): served from the tail = %v, want %v", from, sawTail, wantTail)
		}
	}
	check(s, 1, false) // sequence 1 left the ring long ago: all from Pebble
	check(s, 18, true) // the last few are in the ring
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, eventstore.Options{TailSize: 4, ReadOnly: true})
	check(s, 18, false) // a reopened store starts with an empty ring
}

func TestSequenceAt(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	s := open(t, t.TempDir(), eventstore.Options{Clock: func() time.Time { return clock() }})
	if seq, err := s.SequenceAt(at); err != nil || seq != 0 {
		t.Fatalf("empty log: %d, %v", seq, err)
	}
	// Three commands an hour apart: sequences 1-2, 3-4, 5-6.
	for range 3 {
		submit(t, s, appendTo("a", eventstore.AnyVersion, 2))
		at = at.Add(time.Hour)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want uint64
	}{
		{start.Add(-time.Second), 0},
		{start, 2},
		{start.Add(59 * time.Minute), 2},
		{start.Add(time.Hour), 4},
		{start.Add(2 * time.Hour), 6},
		{start.Add(100 * time.Hour), 6},
	} {
		if got, err := s.SequenceAt(c.t); err != nil || got != c.want {
			t.Errorf("SequenceAt(%s) = %d, %v; want %d", c.t.Format(time.TimeOnly), got, err, c.want)
		}
	}
}

// TestOpenUpgradesAnOlderFormat: a log written in the Pebble format of ledgers before MinLZ
// (format 13) opens, ratchets to tableFormat, keeps its events and takes new ones; a read-only
// open of an old log leaves its format alone.
func TestOpenUpgradesAnOlderFormat(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatFlushableIngest, Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	marker := func() string {
		m, _ := filepath.Glob(filepath.Join(dir, "marker.format-version.*"))
		if len(m) != 1 {
			t.Fatalf("format markers: %v", m)
		}
		return m[0][len(m[0])-3:]
	}
	ro := open(t, dir, eventstore.Options{ReadOnly: true})
	ro.Close()
	if got, want := marker(), fmt.Sprintf("%03d", pebble.FormatFlushableIngest); got != want {
		t.Fatalf("a read-only open changed the format from %s to %s", want, got)
	}
	s := open(t, dir, eventstore.Options{})
	submit(t, s, appendTo("a", eventstore.AnyVersion, 2))
	s.Close()
	if got, want := marker(), fmt.Sprintf("%03d", pebble.FormatTableFormatV6); got != want {
		t.Fatalf("format after a writable open: %s, want %s (FormatTableFormatV6)", got, want)
	}
	s = open(t, dir, eventstore.Options{})
	if r := submit(t, s, appendTo("a", 2, 1)); string(r.Reply) != "3@3 " {
		t.Fatalf("after the upgrade: %q", r.Reply)
	}
}

// TestTheMarkMovesBeforeTheAnswers: when a group commit is reported (just before its commands
// are answered), the durable mark already covers it, so a query that arrives after an answer
// reflects that command (read-your-writes starts from the mark), even though the goroutines
// waiting on the mark are woken only after the answers.
func TestTheMarkMovesBeforeTheAnswers(t *testing.T) {
	var (
		s       *eventstore.Store
		total   atomic.Uint64
		behind  atomic.Int64
		commits atomic.Int64
	)
	s = open(t, t.TempDir(), eventstore.Options{MaxBatch: 8, OnCommit: func(_, events int, _ time.Duration) {
		n := total.Add(uint64(events))
		commits.Add(1)
		if s.Durable() != n {
			behind.Add(1)
		}
	}})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				res, err := s.Submit(context.Background(), appendTo("s"+strconv.Itoa(w), eventstore.AnyVersion, 1))
				if err != nil {
					t.Error(err)
					return
				}
				if s.Durable() < res.Sequence {
					behind.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if commits.Load() == 0 || total.Load() != 320 {
		t.Fatalf("%d commits reported, %d events; want 320 events", commits.Load(), total.Load())
	}
	if n := behind.Load(); n != 0 {
		t.Errorf("%d times the mark did not cover a commit reported or answered", n)
	}
}
