package eventstore

// The write path. Invariants:
//
//   - The sequencer goroutine (sequence) is the only goroutine that decides commands, assigns
//     sequences, versions, ids and times, and adds to Pebble batches. sequencerState is its alone.
//   - The committer goroutine (commit) commits one batch at a time with pebble.Sync, in the order
//     the sequencer handed them over, so the durable mark only moves forward and has no holes.
//   - While the committer is busy, the sequencer keeps adding commands to the next batch; it hands
//     a batch over when the committer is idle (commitQ is unbuffered) or the batch is full. One
//     fsync therefore covers everything that arrived during the previous one.
//   - Every command is answered after the batch holding it committed, even a refused or replayed
//     one: its answer may depend on state that is not yet durable.
//   - A failed commit is fatal. Nothing after it is acknowledged.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/oklog/ulid/v2"
)

// Command is one unit of work for the sequencer.
type Command struct {
	// ID is the idempotency key (empty: none). A committed ID is never decided again.
	ID string
	// Digest identifies the request that carried ID, to tell a retry from a reuse.
	Digest [sha256.Size]byte
	// Actor and CorrelationID are copied into every event's envelope.
	Actor, CorrelationID string
	// Decide runs on the sequencer goroutine. It may read and change the caller's write model
	// (no other goroutine may touch it), must Append before changing anything, and returns the
	// function that renders the reply once sequences and ids are assigned. A non-nil error refuses
	// the command: nothing it appended is kept, and Submit returns the error as is.
	//
	// render must not touch the write model: it runs on the sequencer only when the reply has to be
	// stored with ID, and otherwise on Submit's caller after the commit, off the single writer.
	Decide func(tx *Tx) (render func(Receipt) []byte, err error)
}

// Receipt tells a command's render function what was appended.
type Receipt struct {
	Time   time.Time
	Events []Committed
	// Sequence is the last sequence of the log once the command is applied: its last event's,
	// or, if it appended none, the one its decision saw. A reader that reflects it sees the
	// command's effect.
	Sequence uint64
}

// Committed describes one appended event.
type Committed struct {
	ID       string
	Type     string
	Sequence uint64
	Stream   string
	Version  uint32
}

// Result is Submit's answer to an accepted command.
type Result struct {
	Reply    []byte // what render returned (or, for a replay, what it returned the first time)
	Replayed bool   // true when ID had been committed before and nothing was decided
	Sequence uint64 // the durable mark when the reply was released
}

type request struct {
	cmd      Command
	imported [][]byte // an Import's events instead of a command
	done     chan struct{}
	res      Result
	err      error
	// render and receipt are set when the reply is rendered by Submit's caller after the commit.
	render  func(Receipt) []byte
	receipt Receipt
}

type batch struct {
	pb      *pebble.Batch
	reqs    []*request
	ids     []string // command ids recorded in this batch
	events  int
	lastSeq uint64
}

// sequencerState is owned by the sequencer goroutine.
type sequencerState struct {
	lastSeq  uint64
	lastTime time.Time
	versions map[string]uint32
	pending  map[string][]byte // command id -> stored value, for ids not yet known committed
	entropy  *ulid.MonotonicEntropy
	source   string
	timeBuf  []byte
}

func newSequencerState(o Options) *sequencerState {
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails
	return &sequencerState{
		versions: make(map[string]uint32),
		pending:  make(map[string][]byte),
		entropy:  ulid.Monotonic(mrand.NewChaCha8(seed), 0),
		source:   o.Source,
	}
}

func (st *sequencerState) noteStreamKey(k []byte) error {
	stream, v, err := parseStreamKey(k)
	if err != nil {
		return err
	}
	st.versions[stream] = v
	return nil
}

func decodeSeq(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// Submit hands cmd to the sequencer and waits for its answer. It returns ErrOverloaded at once if
// the queue is full. If ctx ends first, the command may still commit: retry with the same ID.
func (s *Store) Submit(ctx context.Context, cmd Command) (Result, error) {
	if s.closing.Load() {
		return Result{}, ErrClosed
	}
	if s.failed.Load() {
		return Result{}, ErrFailed
	}
	if cmd.Decide == nil {
		return Result{}, errors.New("eventstore: command without a Decide function")
	}
	r := &request{cmd: cmd, done: make(chan struct{})}
	select {
	case s.in <- r:
	default:
		return Result{}, ErrOverloaded
	}
	return s.await(ctx, r)
}

// await waits for the answer to a request the sequencer took.
func (s *Store) await(ctx context.Context, r *request) (Result, error) {
	select {
	case <-r.done:
		return r.finish()
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-s.stopped:
		select {
		case <-r.done:
			return r.finish()
		default:
			return Result{}, ErrClosed
		}
	}
}

// finish renders a reply left for the caller and returns the outcome.
func (r *request) finish() (Result, error) {
	if r.render != nil && r.err == nil {
		r.res.Reply = r.render(r.receipt)
	}
	return r.res, r.err
}

func (s *Store) newBatch() *batch { return &batch{pb: s.db.NewBatch()} }

// sequence is the sequencer goroutine.
func (s *Store) sequence() {
	defer close(s.commitQ)
	cur := s.newBatch()
	for {
		var send chan *batch
		if len(cur.reqs) > 0 {
			send = s.commitQ
		}
		in := s.in
		if len(cur.reqs) >= s.opts.MaxBatch {
			in = nil
		}
		select {
		case r := <-in:
			s.process(cur, r)
		case send <- cur:
			cur = s.newBatch()
		case b := <-s.committed:
			s.forget(b)
		case <-s.quit:
			// Stop taking commands: commit what this batch holds, refuse what is queued.
			if len(cur.reqs) > 0 {
				s.commitQ <- cur
			} else {
				cur.pb.Close()
			}
			for {
				select {
				case r := <-s.in:
					r.err = ErrClosed
					close(r.done)
				default:
					return
				}
			}
		}
	}
}

func (s *Store) forget(b *batch) {
	for _, id := range b.ids {
		delete(s.seq.pending, id)
	}
}

// process decides one command into the batch.
func (s *Store) process(b *batch, r *request) {
	b.reqs = append(b.reqs, r)
	st := s.seq
	if s.failed.Load() {
		r.err = ErrFailed
		return
	}
	if r.imported != nil {
		s.importEvents(b, r)
		return
	}
	if r.cmd.ID != "" {
		stored, found, err := s.lookupCommand(r.cmd.ID)
		if err != nil {
			r.err = err
			return
		}
		if found {
			if bytes.Equal(stored[:sha256.Size], restoredDigest[:]) {
				r.err = ErrCommandRestored
				return
			}
			if !bytes.Equal(stored[:sha256.Size], r.cmd.Digest[:]) {
				r.err = ErrCommandIDReused
				return
			}
			r.res = Result{Reply: stored[sha256.Size:], Replayed: true}
			return
		}
	}
	now := s.opts.Clock().UTC().Truncate(time.Microsecond)
	if now.Before(st.lastTime) {
		now = st.lastTime
	}
	tx := &Tx{st: st, now: now}
	render, err := decideSafely(r.cmd.Decide, tx)
	if err != nil {
		r.err = err
		return
	}
	st.lastTime = now
	st.timeBuf = now.AppendFormat(st.timeBuf[:0], TimeFormat)
	receipt := Receipt{Time: now, Events: make([]Committed, len(tx.records))}
	for i := range tx.records {
		rec := &tx.records[i]
		st.lastSeq++
		id := ulid.MustNew(ulid.Timestamp(now), st.entropy).String()
		env := Envelope{
			ID: id, Source: st.source, Type: rec.Type, Subject: rec.Subject,
			Sequence: st.lastSeq, Stream: rec.stream, Version: rec.version,
			Reseller: rec.Reseller, Tenant: rec.Tenant, Actor: r.cmd.Actor,
			CommandID: r.cmd.ID, CorrelationID: r.cmd.CorrelationID, Data: rec.Data,
		}
		encoded := appendEnvelope(make([]byte, 0, envelopeSize(&env, st.timeBuf)), &env, st.timeBuf)
		_ = b.pb.Set(eventKey(st.lastSeq), encoded, nil) // Set on a batch only copies
		s.tail.put(&tailEntry{seq: st.lastSeq, bytes: encoded, info: Tail{
			ID: id, Type: rec.Type, Subject: rec.Subject, Reseller: rec.Reseller, Tenant: rec.Tenant, Time: now, Payload: rec.Payload,
		}})
		_ = b.pb.Set(streamKey(rec.stream, rec.version), eventKey(st.lastSeq)[len(prefixEvent):], nil)
		st.versions[rec.stream] = rec.version
		receipt.Events[i] = Committed{ID: id, Type: rec.Type, Sequence: st.lastSeq, Stream: rec.stream, Version: rec.version}
	}
	receipt.Sequence = st.lastSeq
	b.events += len(tx.records)
	b.lastSeq = st.lastSeq
	s.assigned.Store(st.lastSeq) // after the tail has the events: see Settled
	if r.cmd.ID == "" {
		r.render, r.receipt = render, receipt
		return
	}
	var reply []byte
	if render != nil {
		reply = render(receipt)
	}
	r.res = Result{Reply: reply}
	{
		v := make([]byte, 0, sha256.Size+len(reply))
		v = append(append(v, r.cmd.Digest[:]...), reply...)
		_ = b.pb.Set(commandKey(r.cmd.ID), v, nil)
		st.pending[r.cmd.ID] = v
		b.ids = append(b.ids, r.cmd.ID)
	}
}

// decideSafely runs a decision. A panic in it is a bug that may have half-changed the write model,
// so it is not swallowed: it is re-raised with that said, the process stops, and a restart
// rebuilds the model from the log.
func decideSafely(decide func(*Tx) (func(Receipt) []byte, error), tx *Tx) (render func(Receipt) []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			panic(fmt.Sprintf("eventstore: decision panicked (write model may be inconsistent): %v", p))
		}
	}()
	return decide(tx)
}

func (s *Store) lookupCommand(id string) ([]byte, bool, error) {
	if v, ok := s.seq.pending[id]; ok {
		return v, true, nil
	}
	v, closer, err := s.db.Get(commandKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("eventstore: look up command %q: %w", id, err)
	}
	defer closer.Close()
	if len(v) < sha256.Size {
		return nil, false, fmt.Errorf("eventstore: command record %q is corrupt", id)
	}
	return append([]byte(nil), v...), true, nil
}

// commit is the committer goroutine.
//
// Once a batch is durable the mark moves at once, so that a query arriving after a reply
// reflects its command, but the goroutines waiting on the mark (the relay, the projector, the
// tree writer) are woken only after the replies are released: on two cores, waking them first
// put their work before the replies. Measured with scripts/bench-ab.sh (docs/BENCHMARKS.md):
// one sequential client faster in eight pairs of ten, by 4-22%; 64 clients by 1-9%, three of
// three.
func (s *Store) commit() {
	for b := range s.commitQ {
		start := time.Now()
		var err error
		moved := false
		if b.pb.Empty() {
			// Nothing to write: every earlier batch is already durable, so answers may go.
		} else if err = commitSynced(b.pb); err == nil && b.lastSeq > s.durable.Load() {
			s.durable.seq.Store(b.lastSeq) // visible now; its waiters are woken below
			moved = true
		}
		_ = b.pb.Close()
		if err != nil {
			s.fail(b, err)
			continue
		}
		if s.opts.OnCommit != nil {
			s.opts.OnCommit(len(b.reqs), b.events, time.Since(start))
		}
		mark := s.durable.Load()
		for _, r := range b.reqs {
			r.res.Sequence = mark
			close(r.done)
		}
		if moved {
			s.durable.wake()
		}
		b.reqs = nil
		select {
		case s.committed <- b:
		case <-s.quit:
			// The sequencer may already be gone; pending ids no longer matter.
		}
	}
}

// commitSynced commits with fsync, turning Pebble's fatal report (see pebbleLogger) into an error.
func commitSynced(pb *pebble.Batch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fp, ok := p.(fatalPanic)
			if !ok {
				panic(p)
			}
			err = fp.err
		}
	}()
	return pb.Commit(pebble.Sync)
}

func (s *Store) fail(b *batch, err error) {
	for _, r := range b.reqs {
		r.err = ErrFailed
		r.res = Result{}
		close(r.done)
	}
	s.fatal(fmt.Errorf("eventstore: commit of %d events failed: %w", b.events, err))
}
