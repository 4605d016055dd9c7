package eventstore

import (
	"fmt"
	"math"

	"github.com/oklog/ulid/v2"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyError names the first sequence at which a history fails verification.
type VerifyError struct {
	Sequence uint64
	Reason   string
}

func (e *VerifyError) Error() string { return fmt.Sprintf("sequence %d: %s", e.Sequence, e.Reason) }

// Verifier checks a copy of the history, fed to it in order, trusting nothing but the
// checkpoints it was given (each already checked against the verifier key by OpenCheckpoint):
// every event is a ledger envelope at the next sequence (no gap, no repeat, no reordering), ids
// are unique, and the RFC 6962 tree recomputed over the exact bytes has each checkpoint's root
// at its size. It holds O(log n) hashes, whatever the history's length.
type Verifier struct {
	checkpoints []Checkpoint // by size, ascending
	next        uint64       // the sequence the next event must have
	tree        frontier
	// Ids are ULIDs whose time the sequencer never lets go backwards, so a repeat can only be
	// among the ids of one millisecond: only those are remembered.
	idTime uint64
	idsNow map[ulid.ULID]struct{}
	// Checked lists the checkpoints whose root the history reproduced.
	Checked []Checkpoint
	// Trusted, if set, gives the real tree hash at a size below a checkpoint, proven against the
	// checkpoint's signed root (see ProvenTreeHash). With it a mismatch is narrowed down to the
	// first changed event; without it, to the span since the last checkpoint that held.
	Trusted func(size uint64, c Checkpoint) (tlog.Hash, error)

	// The span since the last checkpoint that held: the tree there, and the record hashes after.
	spanStart *frontier
	spanFrom  uint64
	spanLeafs []tlog.Hash
}

// NewVerifier returns a verifier for a history starting at sequence 1.
func NewVerifier(checkpoints ...Checkpoint) *Verifier {
	cs := append([]Checkpoint(nil), checkpoints...)
	for i := 1; i < len(cs); i++ { // insertion sort: a handful of checkpoints
		for j := i; j > 0 && cs[j].Size < cs[j-1].Size; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	return &Verifier{checkpoints: cs, next: 1, idsNow: map[ulid.ULID]struct{}{}, spanStart: &frontier{}}
}

// Events is how many events have been verified.
func (v *Verifier) Events() uint64 { return v.next - 1 }

// Root is the tree hash over the events verified so far.
func (v *Verifier) Root() (tlog.Hash, error) { return tlog.TreeHash(int64(v.next-1), &v.tree) }

// Add verifies the next event. position is where the copy holds it (a Pebble key, a JetStream
// stream sequence; 0 for a file, whose lines have no position of their own).
func (v *Verifier) Add(position uint64, event []byte) error {
	seq := v.next
	if position != 0 && position != seq {
		if position > seq {
			return &VerifyError{seq, fmt.Sprintf("missing: the copy jumps from %d to %d", seq-1, position)}
		}
		return &VerifyError{seq, fmt.Sprintf("the copy holds position %d again", position)}
	}
	env, err := DecodeEnvelope(event)
	if err != nil {
		return &VerifyError{seq, err.Error()}
	}
	switch {
	case env.Sequence != seq && position != 0:
		return &VerifyError{seq, fmt.Sprintf("out of place: the event at %d carries sequence %d", seq, env.Sequence)}
	case env.Sequence > seq:
		return &VerifyError{seq, fmt.Sprintf("missing: the next event carries sequence %d", env.Sequence)}
	case env.Sequence < seq:
		return &VerifyError{seq, fmt.Sprintf("out of place: the event here carries sequence %d", env.Sequence)}
	}
	id, err := ulid.ParseStrict(env.ID)
	if err != nil {
		return &VerifyError{seq, fmt.Sprintf("id %q is not a ULID", env.ID)}
	}
	switch t := id.Time(); {
	case t < v.idTime:
		return &VerifyError{seq, fmt.Sprintf("id %s is older than the event before it", env.ID)}
	case t > v.idTime:
		v.idTime = t
		clear(v.idsNow)
	}
	if _, dup := v.idsNow[id]; dup {
		return &VerifyError{seq, fmt.Sprintf("id %s appears twice", env.ID)}
	}
	v.idsNow[id] = struct{}{}
	leaf := tlog.RecordHash(event)
	if _, err := v.tree.add(int64(seq-1), leaf); err != nil {
		return err
	}
	if len(v.checkpoints) > 0 { // remembered only while a checkpoint is ahead to check them against
		v.spanLeafs = append(v.spanLeafs, leaf)
	}
	v.next++
	for len(v.checkpoints) > 0 && v.checkpoints[0].Size == seq {
		c := v.checkpoints[0]
		v.checkpoints = v.checkpoints[1:]
		root, err := v.Root()
		if err != nil {
			return err
		}
		if root != c.Root {
			return v.locate(c)
		}
		v.Checked = append(v.Checked, c)
		start := v.tree // a copy: the frontier at this checkpoint
		start.next = nil
		v.spanStart, v.spanFrom, v.spanLeafs = &start, seq, v.spanLeafs[:0]
	}
	return nil
}

// locate narrows a root mismatch at checkpoint c down to the first event whose tree differs
// from the real one: by bisection over the span since the last checkpoint that held, when the
// real tree hashes can be had (Trusted), else to the span itself.
func (v *Verifier) locate(c Checkpoint) error {
	from := v.spanFrom + 1
	if v.Trusted == nil {
		return &VerifyError{from, fmt.Sprintf("changed, dropped, added or moved: the events %d..%d do not give checkpoint %d's signed root (the first bad one is among them; the last checkpoint that held is %d)", from, c.Size, c.Size, v.spanFrom)}
	}
	lo, hi := from, c.Size // the first bad sequence is in lo..hi
	for lo < hi {
		mid := lo + (hi-lo)/2
		ours, err := v.spanRoot(mid)
		if err != nil {
			return err
		}
		real, err := v.Trusted(mid, c)
		if err != nil {
			return &VerifyError{from, fmt.Sprintf("the events %d..%d do not give checkpoint %d's signed root, and the real tree at %d could not be proven: %v", from, c.Size, c.Size, mid, err)}
		}
		if ours == real {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return &VerifyError{lo, fmt.Sprintf("changed, dropped, added or moved: the tree over 1..%d differs from the one checkpoint %d proves", lo, c.Size)}
}

// spanRoot is the copy's tree hash at size (within the span), recomputed from the span's start.
func (v *Verifier) spanRoot(size uint64) (tlog.Hash, error) {
	f := new(frontier)
	*f = *v.spanStart
	for seq := v.spanFrom + 1; seq <= size; seq++ {
		if _, err := f.add(int64(seq-1), v.spanLeafs[seq-v.spanFrom-1]); err != nil {
			return tlog.Hash{}, err
		}
	}
	return tlog.TreeHash(int64(size), f)
}

// ProvenTreeHash returns the store's tree hash at size, checked with a consistency proof against
// checkpoint c's signed root: a Verifier's Trusted that takes from the copy under check only what
// the signature proves.
func (s *Store) ProvenTreeHash(size uint64, c Checkpoint) (tlog.Hash, error) {
	if c.Size > s.TreeSize() {
		return tlog.Hash{}, fmt.Errorf("the stored tree covers %d events, less than checkpoint %d", s.TreeSize(), c.Size)
	}
	h, err := tlog.TreeHash(int64(size), storedHashes{s})
	if err != nil {
		return tlog.Hash{}, err
	}
	proof, err := tlog.ProveTree(int64(c.Size), int64(size), storedHashes{s})
	if err != nil {
		return tlog.Hash{}, err
	}
	if err := tlog.CheckTree(proof, int64(c.Size), c.Root, int64(size), h); err != nil {
		return tlog.Hash{}, err
	}
	return h, nil
}

// VerifyLog feeds every event on disk to v, in key order with its key as its position, and
// reports every progressEvery events to progress (nil: none).
func (s *Store) VerifyLog(v *Verifier, progress func(events uint64)) error {
	_, err := s.readPebble(1, math.MaxUint64-1, func(seq uint64, b []byte) error {
		if err := v.Add(seq, b); err != nil {
			return err
		}
		if progress != nil && seq%progressEvery == 0 {
			progress(seq)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return v.Finish()
}

// StoredCheckpoints opens every checkpoint stored in the log with vkey, by size.
func (s *Store) StoredCheckpoints(vkey string) ([]Checkpoint, error) {
	var out []Checkpoint
	err := s.ScanMeta(metaCheckpoint, func(_ string, signed []byte) error {
		c, err := OpenCheckpoint(signed, vkey)
		if err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

const progressEvery = 1 << 16

// Finish reports a history that ends before a checkpoint it was given: its tail was cut.
func (v *Verifier) Finish() error {
	if len(v.checkpoints) > 0 {
		c := v.checkpoints[0]
		return &VerifyError{v.next, fmt.Sprintf("missing: the history ends at %d, but checkpoint %d covers %d events", v.next-1, c.Size, c.Size)}
	}
	return nil
}

// CheckTree is ledgerd's check at start (the fast path): the stored tree must have the latest
// checkpoint's root (signed with vkey's key) and the log must reach it; the events after it
// must sit at their own sequences with no gap and, where the tree already holds them, hash to
// what it holds. It returns the latest checkpoint's size (0 if none). A full check of every
// event is Verifier's job (ledgerctl audit verify).
func (s *Store) CheckTree(vkey string) (uint64, error) {
	latest, err := s.LatestCheckpoint()
	if err != nil {
		return 0, err
	}
	var c Checkpoint
	if latest != nil {
		if c, err = OpenCheckpoint(latest, vkey); err != nil {
			return 0, fmt.Errorf("latest checkpoint: %w", err)
		}
	}
	durable, tree := s.Durable(), s.TreeSize()
	switch {
	case c.Size > durable:
		return c.Size, &VerifyError{durable + 1, fmt.Sprintf("missing: the log ends at %d, but checkpoint %d covers %d events", durable, c.Size, c.Size)}
	case tree > durable:
		return c.Size, &VerifyError{durable + 1, fmt.Sprintf("missing: the log ends at %d, but the tree covers %d events", durable, tree)}
	case c.Size > tree:
		return c.Size, fmt.Errorf("the stored tree covers %d events, less than checkpoint %d: its hashes were lost", tree, c.Size)
	}
	if c.Size > 0 {
		root, err := s.TreeHash(c.Size)
		if err != nil {
			return c.Size, err
		}
		if root != c.Root {
			if err := s.checkLeaves(1, c.Size, tree); err != nil {
				return c.Size, err
			}
			return c.Size, fmt.Errorf("the stored tree does not have checkpoint %d's root, though every event hashes to its leaf: the tree's inner hashes were changed", c.Size)
		}
	}
	return c.Size, s.checkLeaves(c.Size+1, durable, tree)
}

// checkLeaves checks events from..to: each at its own sequence, no gap, and, up to tree, the
// record hash the stored tree holds for it.
func (s *Store) checkLeaves(from, to, tree uint64) error {
	if from > to {
		return nil
	}
	want := from
	_, err := s.readPebble(from, to, func(seq uint64, b []byte) error {
		if seq != want {
			return &VerifyError{want, fmt.Sprintf("missing: the log jumps from %d to %d", want-1, seq)}
		}
		env, err := DecodeEnvelope(b)
		if err != nil {
			return &VerifyError{seq, err.Error()}
		}
		if env.Sequence != seq {
			return &VerifyError{seq, fmt.Sprintf("out of place: the event here carries sequence %d", env.Sequence)}
		}
		if seq <= tree {
			stored, err := storedHashes{s}.ReadHashes([]int64{tlog.StoredHashIndex(0, int64(seq-1))})
			if err != nil {
				return err
			}
			if tlog.RecordHash(b) != stored[0] {
				return &VerifyError{seq, "changed: the event does not hash to the tree's leaf for it"}
			}
		}
		want++
		return nil
	})
	if err != nil {
		return err
	}
	if want <= to {
		return &VerifyError{want, fmt.Sprintf("missing: the log ends at %d", want-1)}
	}
	return nil
}
