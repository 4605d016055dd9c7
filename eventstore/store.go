package eventstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Errors returned by the store. Callers map them to wire codes.
var (
	ErrClosed               = errors.New("eventstore: closed")
	ErrOverloaded           = errors.New("eventstore: overloaded")
	ErrFailed               = errors.New("eventstore: failed (a commit did not reach disk)")
	ErrCommandIDReused      = errors.New("eventstore: command id reused with a different request")
	ErrWrongExpectedVersion = errors.New("eventstore: wrong expected version")
	ErrReadOnly             = errors.New("eventstore: opened read-only")
	ErrInUse                = errors.New("eventstore: the log is held by another process")
)

// Options configure a Store. The zero value works.
type Options struct {
	// Source is the CloudEvents source attribute of every event. Default "licledger".
	Source string
	// MaxBatch is the most commands one group commit holds. Default 1024.
	MaxBatch int
	// QueueSize bounds the commands waiting for the sequencer; past it Submit answers
	// ErrOverloaded at once instead of queueing without bound. Default 8192.
	QueueSize int
	// Clock gives the time stamped on commands and events. Default time.Now. The store never
	// lets event time go backwards, whatever the clock does.
	Clock func() time.Time
	// Fatal is called once, from the committer goroutine, when a commit fails. The store is
	// unusable afterwards. Default: panic, so the process stops and recovers from the log.
	Fatal func(error)
	// OnCommit, if set, is called after every group commit with the number of commands and
	// events in it and how long the synced commit took. Used for metrics.
	OnCommit func(commands, events int, took time.Duration)
	// TailSize is how many recent events are kept in memory for readers near the head of the log.
	// Default 65536.
	TailSize int
	// Logger receives Pebble's warnings and errors. Default: discarded.
	Logger *slog.Logger
	// ReadOnly opens the log for reading only (auditing a copy, tests). Submit is ErrClosed.
	ReadOnly bool
}

func (o *Options) fill() {
	if o.Source == "" {
		o.Source = "licledger"
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.TailSize <= 0 {
		o.TailSize = 1 << 16
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Fatal == nil {
		o.Fatal = func(err error) { panic(err) }
	}
}

// Store is the event log. Its methods are safe for concurrent use.
type Store struct {
	db   *pebble.DB
	opts Options
	dir  string // the log's directory

	in        chan *request // submitted commands, bounded
	commitQ   chan *batch   // sequencer -> committer, unbuffered: a send succeeds only when idle
	committed chan *batch   // committer -> sequencer, so the sequencer can forget pending ids
	quit      chan struct{} // closed by Close
	stopped   chan struct{} // closed when sequencer and committer have exited
	closing   atomic.Bool
	failed    atomic.Bool
	closeOnce sync.Once

	durable  mark          // the last sequence whose fsync returned
	assigned atomic.Uint64 // the last sequence the sequencer gave an event (Settled)
	treeSize atomic.Uint64 // events covered by the stored audit tree (tree.go)

	derived *pebble.DB // derived state (see derived.go); nil for a read-only store without any
	// dbMu keeps Close from closing Pebble under a derived-state write or scan, which run on
	// their callers' goroutines (Pebble panics on a closed DB).
	dbMu     sync.RWMutex
	dbClosed bool

	seq  *sequencerState // owned by the sequencer goroutine after Open
	tail *tailRing
}

// Open opens (or creates) the log in dir and recovers its position from what is on disk.
func Open(dir string, opts Options) (*Store, error) { return openFS(dir, opts, nil) }

// logBlockSize is the target size of the log's table blocks (see openFS).
const logBlockSize = 32 << 10

// openFS opens the log on fs (nil: the real disk). Tests inject faults through it; no Pebble type
// appears in the package's API.
func openFS(dir string, opts Options, fs vfs.FS) (*Store, error) {
	opts.fill()
	s := &Store{
		opts:      opts,
		dir:       dir,
		in:        make(chan *request, opts.QueueSize),
		commitQ:   make(chan *batch),
		committed: make(chan *batch, 1),
		quit:      make(chan struct{}),
		stopped:   make(chan struct{}),
		tail:      newTailRing(opts.TailSize),
	}
	pebbleOpts := &pebble.Options{
		FS:       fs,
		ReadOnly: opts.ReadOnly,
		Logger:   pebbleLogger{s},
		// Larger memtables flush less often: the log is append-mostly, and every flush and L0
		// compaction takes CPU from the write path on a small machine.
		MemTableSize:       64 << 20,
		FormatMajorVersion: tableFormat,
	}
	// 32 KiB blocks instead of Pebble's 4 KiB: a rebuild scans the whole log, and each block
	// costs a read, a cache insertion and an index step. Measured on the 5-million-event
	// generated log: a full scan reads 1.3 M events/s with 4 KiB blocks, 3.3 M/s with 32 KiB.
	// A point read decompresses a larger block (about 10 µs), which a license's history read
	// (asOf) pays per event outside the block cache. Tables written before keep their blocks
	// until compaction rewrites them.
	for i := range pebbleOpts.Levels {
		pebbleOpts.Levels[i].BlockSize = logBlockSize
		pebbleOpts.Levels[i].Compression = tableCompression
	}
	db, err := pebble.Open(dir, pebbleOpts)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || err != nil && strings.Contains(err.Error(), "lock held by current process") {
		// Pebble's lock on the directory: another process (or store) has the log open.
		return nil, fmt.Errorf("eventstore: %s is in use by another process (a running ledgerd?): stop it, or verify a copy of the data dir: %w", dir, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("eventstore: open %s: %w", dir, err)
	}
	s.db = db
	if s.derived, err = openDerived(dir, fs, opts.ReadOnly, pebbleLogger{s}); err != nil {
		db.Close()
		return nil, err
	}
	st, err := s.recover()
	if err != nil {
		db.Close()
		if s.derived != nil {
			s.derived.Close()
		}
		return nil, err
	}
	s.seq = st
	s.durable.set(st.lastSeq)
	s.assigned.Store(st.lastSeq)
	if err := s.loadTreeSize(); err != nil {
		db.Close()
		if s.derived != nil {
			s.derived.Close()
		}
		return nil, err
	}
	if opts.ReadOnly {
		s.closing.Store(true)
		close(s.stopped)
		return s, nil
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.sequence() }()
	go func() { defer wg.Done(); s.commit() }()
	go func() { wg.Wait(); close(s.stopped) }()
	return s, nil
}

// recover finds the last sequence and every stream's version. Everything found on disk at open is
// durable: Pebble replays only what reached its WAL.
func (s *Store) recover() (*sequencerState, error) {
	st := newSequencerState(s.opts)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixEvent), UpperBound: upperBound([]byte(prefixEvent))})
	if err != nil {
		return nil, err
	}
	if it.Last() {
		st.lastSeq = decodeSeq(it.Key()[len(prefixEvent):])
		env, err := DecodeEnvelope(it.Value())
		if err != nil {
			it.Close()
			return nil, fmt.Errorf("eventstore: last event %d: %w", st.lastSeq, err)
		}
		st.lastTime = env.Time
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixStream), UpperBound: upperBound([]byte(prefixStream))})
	if err != nil {
		return nil, err
	}
	var last []byte
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		// Keys of one stream are adjacent and in version order: only the last one matters.
		if last != nil && bytes.Equal(last[:len(last)-4], k[:len(k)-4]) {
			last = append(last[:0], k...)
			continue
		}
		if last != nil {
			if err := st.noteStreamKey(last); err != nil {
				it.Close()
				return nil, err
			}
		}
		last = append(last[:0], k...)
	}
	if last != nil {
		if err := st.noteStreamKey(last); err != nil {
			it.Close()
			return nil, err
		}
	}
	return st, it.Close()
}

// Durable returns the durable mark: the last sequence whose fsync has returned.
func (s *Store) Durable() uint64 { return s.durable.Load() }

// Settled reports whether every event timed at or before t is durable: the sequencer has given
// out no sequence above the durable mark, or the first one above it is an event timed after t.
// It reads the mark before the sequencer's position, so an event appended meanwhile counts as
// not yet durable. Events decided later are timed later (the sequencer's clock never goes back),
// so for a t in the past the answer stays true once it is; a caller keeps t a little in the past
// to cover a decision that read the clock just before this call. An import in flight, whose
// events keep their own times and are not in the tail, is never settled.
func (s *Store) Settled(t time.Time) bool {
	durable := s.durable.Load()
	if s.assigned.Load() <= durable {
		return true
	}
	var first [1]*tailEntry
	next := s.tail.span(durable+1, durable+1, first[:0])
	return len(next) == 1 && next[0].info.Time.After(t)
}

// WaitDurable blocks until the durable mark is above after, the context ends or the store stops,
// and returns the mark.
func (s *Store) WaitDurable(ctx context.Context, after uint64) (uint64, error) {
	return s.durable.wait(ctx, after+1, s.stopped)
}

// Close stops taking commands, lets the batch in flight commit, answers the queued commands
// ErrClosed, and closes Pebble.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		if !s.opts.ReadOnly {
			close(s.quit)
		}
		<-s.stopped
		s.dbMu.Lock()
		defer s.dbMu.Unlock()
		s.dbClosed = true
		err = s.db.Close()
		if s.derived != nil {
			err = errors.Join(err, s.derived.Close())
		}
	})
	return err
}

// GetMeta reads a metadata value (nil if absent).
func (s *Store) GetMeta(name string) ([]byte, error) { return getCopy(s.db, metaKey(name)) }

// getCopy reads one value from db and copies it out (nil if absent).
func getCopy(db *pebble.DB, key []byte) ([]byte, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetMeta writes a metadata value without waiting for fsync: metadata (cursors, checkpoints of
// derived state) must always be recomputable from the log, so losing the last write is harmless.
func (s *Store) SetMeta(name string, value []byte) error {
	return s.db.Set(metaKey(name), value, pebble.NoSync)
}

// SetMetaSynced writes a metadata value that the log cannot recompute (a key the ledger keeps
// outside the log) and returns once it is fsynced.
func (s *Store) SetMetaSynced(name string, value []byte) error {
	return s.db.Set(metaKey(name), value, pebble.Sync)
}

// DeleteMeta removes a metadata value, with an fsync: what is deleted (a destroyed key) must not
// come back after a crash.
func (s *Store) DeleteMeta(name string) error {
	return s.db.Delete(metaKey(name), pebble.Sync)
}

// pebbleLogger passes Pebble's errors to slog and drops its chatter (WAL replay notes, etc.).
// Pebble reports a failed WAL write or sync through Fatalf and would carry on if Fatalf returned,
// so Fatalf puts the store in its failed state, calls Options.Fatal, and unwinds with a
// fatalPanic that the committer turns into ErrFailed (elsewhere it crashes the process).
type pebbleLogger struct{ s *Store }

func (p pebbleLogger) Infof(string, ...any) {}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.s.opts.Logger.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	err := fmt.Errorf("pebble: "+format, args...)
	p.s.fatal(err)
	panic(fatalPanic{err})
}

// fatalPanic carries a fatal Pebble error up to the committer.
type fatalPanic struct{ err error }

// fatal marks the store failed and calls Options.Fatal the first time.
func (s *Store) fatal(err error) {
	if s.failed.CompareAndSwap(false, true) {
		s.opts.Fatal(err)
	}
}

// ScanMeta calls fn for every metadata value whose name starts with prefix, in name order.
func (s *Store) ScanMeta(prefix string, fn func(name string, value []byte) error) error {
	lower := metaKey(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upperBound(lower)})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(string(it.Key()[len(prefixMeta):]), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}
