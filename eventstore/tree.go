package eventstore

// The audit tree: an RFC 6962 Merkle tree over the exact bytes of every event, leaf n-1 being
// sequence n, kept with golang.org/x/mod/sumdb/tlog. Its stored hashes (tlog's numbering) live
// under t/<index u64 BE>, and m/tree holds how many events they cover. They are written by
// TreeWriter behind the durable mark, without fsync: after a crash the writer hashes again
// whatever the stored tree lacks. Signed checkpoints are kept under m/checkpoint/<size u64 BE>,
// written with fsync (which also makes every hash written before them durable).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	prefixTree       = "t/"
	metaTreeSize     = "tree"
	metaCheckpoint   = "checkpoint/"
	maxTreeLevels    = 64
	defaultTreeBatch = 4096
)

func treeKey(index int64) []byte {
	k := make([]byte, len(prefixTree)+8)
	copy(k, prefixTree)
	binary.BigEndian.PutUint64(k[len(prefixTree):], uint64(index))
	return k
}

func checkpointName(size uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], size)
	return metaCheckpoint + string(b[:])
}

// frontier keeps, for each level of the tree, the last complete node's stored hash: all that
// tlog needs to add a record (StoredHashes) or to hash the tree at the current size (TreeHash).
// Anything older is read from next (nil: it is an error to need it).
type frontier struct {
	last [maxTreeLevels]struct {
		n  int64
		h  tlog.Hash
		ok bool
	}
	next tlog.HashReader
}

func (f *frontier) put(index int64, h tlog.Hash) {
	level, n := tlog.SplitStoredHashIndex(index)
	f.last[level].n, f.last[level].h, f.last[level].ok = n, h, true
}

func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var missing []int
	for i, index := range indexes {
		level, n := tlog.SplitStoredHashIndex(index)
		if l := &f.last[level]; l.ok && l.n == n {
			out[i] = l.h
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	if f.next == nil {
		return nil, fmt.Errorf("eventstore: tree hash %d is not at the frontier", indexes[missing[0]])
	}
	want := make([]int64, len(missing))
	for j, i := range missing {
		want[j] = indexes[i]
	}
	got, err := f.next.ReadHashes(want)
	if err != nil {
		return nil, err
	}
	for j, i := range missing {
		out[i] = got[j]
	}
	return out, nil
}

// add puts record n (0-based), whose record hash is leaf, into the tree and returns the stored
// hashes it creates, the first at index tlog.StoredHashIndex(0, n).
func (f *frontier) add(n int64, leaf tlog.Hash) ([]tlog.Hash, error) {
	hashes, err := tlog.StoredHashesForRecordHash(n, leaf, f)
	if err != nil {
		return nil, err
	}
	index := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		f.put(index+int64(i), h)
	}
	return hashes, nil
}

// storedHashes reads the store's tree hashes from Pebble.
type storedHashes struct{ s *Store }

func (r storedHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, index := range indexes {
		v, closer, err := r.s.db.Get(treeKey(index))
		if err != nil {
			return nil, fmt.Errorf("eventstore: tree hash %d: %w", index, err)
		}
		if len(v) != tlog.HashSize {
			closer.Close()
			return nil, fmt.Errorf("eventstore: tree hash %d is %d bytes", index, len(v))
		}
		copy(out[i][:], v)
		closer.Close()
	}
	return out, nil
}

// TreeSize is how many events the stored audit tree covers (sequences 1..TreeSize).
func (s *Store) TreeSize() uint64 { return s.treeSize.Load() }

// loadTreeSize reads m/tree at open.
func (s *Store) loadTreeSize() error {
	v, err := s.GetMeta(metaTreeSize)
	if err != nil {
		return err
	}
	if len(v) == 8 {
		s.treeSize.Store(binary.BigEndian.Uint64(v))
	} else if v != nil {
		return errors.New("eventstore: malformed tree size")
	}
	return nil
}

// TreeHash returns the root of the tree over sequences 1..size (size at most TreeSize).
func (s *Store) TreeHash(size uint64) (tlog.Hash, error) {
	if size > s.TreeSize() {
		return tlog.Hash{}, fmt.Errorf("eventstore: the tree covers %d events, not %d", s.TreeSize(), size)
	}
	return tlog.TreeHash(int64(size), storedHashes{s})
}

// ProveInclusion returns the proof that event seq is in the tree of the given size: the hashes
// that, with the event's record hash, give that tree's root (tlog.CheckRecord checks it).
func (s *Store) ProveInclusion(seq, size uint64) (tlog.RecordProof, error) {
	if seq == 0 || seq > size || size > s.TreeSize() {
		return nil, fmt.Errorf("eventstore: no inclusion proof of event %d in a tree of %d (the tree covers %d)", seq, size, s.TreeSize())
	}
	return tlog.ProveRecord(int64(size), int64(seq-1), storedHashes{s})
}

// ProveConsistency returns the proof that the tree of size newer extends the tree of size older,
// i.e. that the log was only appended to in between (tlog.CheckTree checks it).
func (s *Store) ProveConsistency(older, newer uint64) (tlog.TreeProof, error) {
	if older == 0 || older > newer || newer > s.TreeSize() {
		return nil, fmt.Errorf("eventstore: no consistency proof from %d to %d (the tree covers %d)", older, newer, s.TreeSize())
	}
	return tlog.ProveTree(int64(newer), int64(older), storedHashes{s})
}

// LatestCheckpoint returns the signed checkpoint of the largest size (nil if none).
func (s *Store) LatestCheckpoint() ([]byte, error) {
	lower := metaKey(metaCheckpoint)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upperBound(lower)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		return nil, it.Error()
	}
	return append([]byte(nil), it.Value()...), nil
}

// CheckpointAt returns the signed checkpoint of the smallest size at or above size (nil if none).
func (s *Store) CheckpointAt(size uint64) ([]byte, error) {
	lower := metaKey(metaCheckpoint)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: metaKey(checkpointName(size)), UpperBound: upperBound(lower)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.First() {
		return nil, it.Error()
	}
	return append([]byte(nil), it.Value()...), nil
}

// TreeWriter keeps the audit tree up with the durable log and signs checkpoints. Run one per
// store, after CheckTree.
type TreeWriter struct {
	Store *Store
	// SigningKey is the checkpoint signing key (GenerateCheckpointKey's form).
	SigningKey string
	// Every and Interval: a checkpoint is signed once Every events (default 10,000) or Interval
	// (default 10 s) have passed since the last one, whichever comes first, if the tree grew.
	Every    uint64
	Interval time.Duration
	// OnCheckpoint is called with each new checkpoint once it is on disk (to publish it).
	OnCheckpoint func(Checkpoint)
	Logger       *slog.Logger

	lastSigned atomic.Uint64
}

// Signed returns the size of the last checkpoint signed.
func (w *TreeWriter) Signed() uint64 { return w.lastSigned.Load() }

// Run hashes the durable log into the tree until ctx ends, then hashes what is left and signs a
// last checkpoint, so that a clean stop leaves nothing unsigned.
func (w *TreeWriter) Run(ctx context.Context) error {
	if w.Every == 0 {
		w.Every = 10000
	}
	if w.Interval <= 0 {
		w.Interval = 10 * time.Second
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	signer, err := note.NewSigner(w.SigningKey)
	if err != nil {
		return fmt.Errorf("eventstore: checkpoint signing key: %w", err)
	}
	vkey, err := VerifierKey(w.SigningKey)
	if err != nil {
		return err
	}
	s := w.Store
	f := &frontier{next: storedHashes{s}}
	if latest, err := s.LatestCheckpoint(); err != nil {
		return err
	} else if latest != nil {
		c, err := OpenCheckpoint(latest, vkey)
		if err != nil {
			return fmt.Errorf("eventstore: own latest checkpoint: %w", err)
		}
		w.lastSigned.Store(c.Size)
	}
	lastSignedAt := time.Now()
	for {
		done := ctx.Err() != nil
		// A writer catching up on a long log (the first start with an old log) stops at every
		// Every-th event to sign, so the history is covered by checkpoints N apart, not by one.
		limit := uint64(math.MaxUint64)
		if !done && w.lastSigned.Load() <= math.MaxUint64-w.Every {
			limit = w.lastSigned.Load() + w.Every
		}
		if err := w.extend(f, limit); err != nil {
			return err
		}
		size := s.TreeSize()
		if size > w.lastSigned.Load() && (done || size-w.lastSigned.Load() >= w.Every || time.Since(lastSignedAt) >= w.Interval) {
			if err := w.sign(signer, size); err != nil {
				return err
			}
			lastSignedAt = time.Now()
		}
		if done {
			return ctx.Err()
		}
		if size < s.Durable() {
			continue // still catching up
		}
		wait, cancel := context.WithTimeout(ctx, w.Interval)
		_, err := s.WaitDurable(wait, size)
		cancel()
		if errors.Is(err, ErrClosed) {
			return err
		}
	}
}

// extend hashes the durable events the tree lacks, in batches, up to the tree size limit.
func (w *TreeWriter) extend(f *frontier, limit uint64) error {
	s := w.Store
	for {
		size := s.TreeSize()
		if size >= s.Durable() || size >= limit {
			return nil
		}
		b := s.db.NewBatch()
		next := size
		_, err := s.Read(size+1, int(min(defaultTreeBatch, limit-size)), func(e Event) error {
			if e.Sequence != next+1 {
				return fmt.Errorf("eventstore: tree at %d read event %d", next, e.Sequence)
			}
			hashes, err := f.add(int64(e.Sequence-1), tlog.RecordHash(e.Bytes))
			if err != nil {
				return err
			}
			index := tlog.StoredHashIndex(0, int64(e.Sequence-1))
			for i := range hashes {
				_ = b.Set(treeKey(index+int64(i)), hashes[i][:], nil)
			}
			next = e.Sequence
			return nil
		})
		if err == nil {
			var v [8]byte
			binary.BigEndian.PutUint64(v[:], next)
			_ = b.Set(metaKey(metaTreeSize), v[:], nil)
			err = b.Commit(pebble.NoSync)
		}
		b.Close()
		if err != nil {
			return err
		}
		s.treeSize.Store(next)
	}
}

func (w *TreeWriter) sign(signer note.Signer, size uint64) error {
	root, err := w.Store.TreeHash(size)
	if err != nil {
		return err
	}
	c, err := signCheckpoint(signer, size, root)
	if err != nil {
		return err
	}
	// Sync: the checkpoint, and with it every tree hash written before it, is on disk.
	if err := w.Store.db.Set(metaKey(checkpointName(size)), c.Signed, pebble.Sync); err != nil {
		return err
	}
	w.lastSigned.Store(size)
	if w.OnCheckpoint != nil {
		w.OnCheckpoint(c)
	}
	return nil
}
