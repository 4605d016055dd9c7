package eventstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrCommandRestored answers a command whose id was committed before the log was restored from a
// replica (Import): the command is not decided again, but its reply was never replicated.
var ErrCommandRestored = errors.New("eventstore: command id already applied; the log was restored from a replica, which does not keep replies")

// restoredDigest stands in for the request digest of a command id that Import met in an event.
// It is no request's digest (that would take a SHA-256 preimage), so a retry of the id is told
// apart from both a replay and a reuse.
var restoredDigest = sha256.Sum256([]byte("licledger eventstore: command id imported from a replica; its reply is not known"))

// Import appends events copied from a replica of a log (the JetStream stream LEDGER_EVENTS holds
// each event's bytes as written) as they are: `ledgerd restore` rebuilds a lost log with it. The
// first must be the event at the sequence after the log's last, and each must be in the form the
// log writes (DecodeEnvelope), carry its own sequence and the next version of its stream, and not
// go back in time. Anything else appends none of them.
//
// Import fills in what the log keeps beside its events: the streams' index, and a record of every
// command id an event carries, which makes a retry of that command ErrCommandRestored rather than
// a second application. Like Submit, it returns once the events are on disk.
func (s *Store) Import(ctx context.Context, events [][]byte) error {
	if s.closing.Load() {
		return ErrClosed
	}
	if s.failed.Load() {
		return ErrFailed
	}
	r := &request{imported: events, done: make(chan struct{})}
	select {
	case s.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrClosed
	}
	_, err := s.await(ctx, r)
	return err
}

// importEvents is process for an Import: it checks every event before it adds any to b.
func (s *Store) importEvents(b *batch, r *request) {
	st := s.seq
	type checked struct {
		stream    string
		version   uint32
		commandID string // to record: an id the log does not know yet
	}
	envs := make([]checked, len(r.imported))
	versions := map[string]uint32{} // the streams' versions as of the events before, in this import
	ids := map[string]bool{}        // the command ids met so far, in this import
	last := st.lastTime
	for i, ev := range r.imported {
		seq := st.lastSeq + 1 + uint64(i)
		env, err := DecodeEnvelope(ev)
		switch {
		case err != nil:
			r.err = fmt.Errorf("eventstore: import: event %d: %w", seq, err)
		case env.Sequence != seq:
			r.err = fmt.Errorf("eventstore: import: the event at sequence %d carries sequence %d", seq, env.Sequence)
		case env.Time.Before(last):
			r.err = fmt.Errorf("eventstore: import: event %d is dated %s, before the event ahead of it (%s)", seq, env.Time.Format(TimeFormat), last.Format(TimeFormat))
		}
		if r.err != nil {
			return
		}
		v, ok := versions[env.Stream]
		if !ok {
			v = st.versions[env.Stream]
		}
		if env.Version != v+1 {
			r.err = fmt.Errorf("eventstore: import: event %d is version %d of stream %q, whose last version is %d", seq, env.Version, env.Stream, v)
			return
		}
		versions[env.Stream] = env.Version
		last = env.Time
		envs[i] = checked{stream: env.Stream, version: env.Version}
		if id := env.CommandID; id != "" && !ids[id] {
			ids[id] = true
			_, known, err := s.lookupCommand(id)
			if err != nil {
				r.err = err
				return
			}
			if !known {
				envs[i].commandID = id
			}
		}
	}
	for i, ev := range r.imported {
		st.lastSeq++
		_ = b.pb.Set(eventKey(st.lastSeq), ev, nil) // Set on a batch only copies
		_ = b.pb.Set(streamKey(envs[i].stream, envs[i].version), eventKey(st.lastSeq)[len(prefixEvent):], nil)
		st.versions[envs[i].stream] = envs[i].version
		if id := envs[i].commandID; id != "" {
			_ = b.pb.Set(commandKey(id), restoredDigest[:], nil)
			st.pending[id] = restoredDigest[:]
			b.ids = append(b.ids, id)
		}
	}
	st.lastTime = last
	b.events += len(r.imported)
	b.lastSeq = st.lastSeq
	s.assigned.Store(st.lastSeq) // not in the tail: Settled says no until they are durable
}
