package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Event is one committed event as read back: its sequence and its exact stored bytes.
type Event struct {
	Sequence uint64
	// Bytes are the stored event. Read from Pebble (Tail == nil), they are valid only until the
	// callback returns: copy to keep. From the tail they are immutable and may be kept.
	Bytes []byte
	// Tail is set when the event came from the in-memory tail of recent events.
	Tail *Tail
}

// Attributes returns the event's routing attributes: from the in-memory tail when it came from
// there, else decoded from its bytes.
func (e Event) Attributes() (Tail, error) {
	if e.Tail != nil {
		return *e.Tail, nil
	}
	env, err := DecodeEnvelope(e.Bytes)
	if err != nil {
		return Tail{}, err
	}
	return Tail{ID: env.ID, Type: env.Type, Subject: env.Subject, Reseller: env.Reseller, Tenant: env.Tenant, Time: env.Time}, nil
}

// ErrStop, returned by a read callback, ends the read early without an error.
var ErrStop = errors.New("eventstore: stop")

// Read calls fn for each event from sequence from (inclusive) up to the durable mark, in order,
// at most limit events (0: no limit). It returns the last sequence it passed to fn (from-1 if none).
func (s *Store) Read(from uint64, limit int, fn func(Event) error) (uint64, error) {
	if from == 0 {
		from = 1
	}
	last := from - 1
	mark := s.durable.Load()
	if from > mark {
		return last, nil
	}
	end := mark
	if limit > 0 && from+uint64(limit)-1 < end {
		end = from + uint64(limit) - 1
	}
	if entries := s.tail.span(from, end, nil); len(entries) > 0 {
		for _, te := range entries {
			if err := fn(Event{Sequence: te.seq, Bytes: te.bytes, Tail: &te.info}); err != nil {
				if errors.Is(err, ErrStop) {
					return te.seq, nil
				}
				return te.seq, err
			}
			last = te.seq
		}
		return last, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: eventKey(from), UpperBound: eventKey(mark + 1)})
	if err != nil {
		return last, err
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		seq := decodeSeq(it.Key()[len(prefixEvent):])
		if err := fn(Event{Sequence: seq, Bytes: it.Value()}); err != nil {
			it.Close()
			if errors.Is(err, ErrStop) {
				return seq, nil
			}
			return seq, err
		}
		last = seq
		if n++; limit > 0 && n >= limit {
			break
		}
	}
	return last, it.Close()
}

// ReadStream calls fn for each event of stream from version from (inclusive), in version order,
// up to the durable mark.
func (s *Store) ReadStream(stream string, from uint32, fn func(Event) error) error {
	return s.readStream(stream, from, 0, fn)
}

// ReadStreamAfter calls fn for each event of stream whose sequence is after seq, in order, up to
// the durable mark. The events before are skipped in the stream's index without being read.
func (s *Store) ReadStreamAfter(stream string, seq uint64, fn func(Event) error) error {
	return s.readStream(stream, 1, seq, fn)
}

func (s *Store) readStream(stream string, from uint32, after uint64, fn func(Event) error) error {
	if from == 0 {
		from = 1
	}
	mark := s.durable.Load()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: streamKey(stream, from), UpperBound: upperBound(streamKey(stream, 0)[:len(prefixStream)+len(stream)+1])})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		seq := decodeSeq(it.Value())
		if seq <= after {
			continue
		}
		if seq > mark {
			return nil
		}
		seqKey := append([]byte(prefixEvent), it.Value()...)
		v, closer, err := s.db.Get(seqKey)
		if err != nil {
			return fmt.Errorf("eventstore: stream %s points at missing event %d: %w", stream, seq, err)
		}
		err = fn(Event{Sequence: seq, Bytes: v})
		closer.Close()
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Subscribe calls fn for every committed event from sequence from on, in order, waiting for new
// ones as they become durable, until ctx ends (it then returns ctx.Err()), fn fails, or the store
// closes (ErrClosed).
func (s *Store) Subscribe(ctx context.Context, from uint64, fn func(Event) error) error {
	if from == 0 {
		from = 1
	}
	for {
		last, err := s.Read(from, 0, fn)
		if err != nil {
			return err
		}
		from = last + 1
		if _, err := s.WaitDurable(ctx, last); err != nil {
			return err
		}
	}
}

// SequenceAt returns the last durable sequence whose event time is at or before t (0 if the log
// starts after t). Event times never go backwards (the sequencer sees to it), so it is a binary
// search over the log: about 25 reads for a log of 30 million events.
func (s *Store) SequenceAt(t time.Time) (uint64, error) {
	lo, hi := uint64(0), s.durable.Load() // invariant: time(lo) <= t (lo 0: none), time(hi+1) > t
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		at, err := s.timeOf(mid)
		if err != nil {
			return 0, err
		}
		if at.After(t) {
			hi = mid - 1
		} else {
			lo = mid
		}
	}
	return lo, nil
}

// TimeOf returns the time of the durable event seq.
func (s *Store) TimeOf(seq uint64) (time.Time, error) {
	if seq == 0 || seq > s.durable.Load() {
		return time.Time{}, fmt.Errorf("eventstore: no durable event %d", seq)
	}
	return s.timeOf(seq)
}

func (s *Store) timeOf(seq uint64) (time.Time, error) {
	v, closer, err := s.db.Get(eventKey(seq))
	if err != nil {
		return time.Time{}, fmt.Errorf("eventstore: event %d: %w", seq, err)
	}
	defer closer.Close()
	e, err := DecodeEnvelope(v)
	if err != nil {
		return time.Time{}, err
	}
	return e.Time, nil
}

// readPebble calls fn for every event key from..to (inclusive) in Pebble, in order, whatever the
// durable mark and the tail: checks of the log at start read what is on disk, gaps included.
func (s *Store) readPebble(from, to uint64, fn func(seq uint64, b []byte) error) (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: eventKey(from), UpperBound: eventKey(to + 1)})
	if err != nil {
		return 0, err
	}
	var last uint64
	for ok := it.First(); ok; ok = it.Next() {
		last = decodeSeq(it.Key()[len(prefixEvent):])
		if err := fn(last, it.Value()); err != nil {
			it.Close()
			return last, err
		}
	}
	return last, it.Close()
}
