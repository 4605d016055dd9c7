package eventstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// Derived snapshots are copies of the whole derived state as it stood at a sequence: the read
// models of the log up to there, for answering a question about the past without replaying the
// log from its start (a replay starts from the newest snapshot at or before the point asked
// about). Each is a Pebble checkpoint of the derived database in the log's directory under
// derived-snapshots/<sequence>: its tables are hard links, so a snapshot costs little disk
// until compactions rewrite the tables it shares with the live database.
const snapshotsDir = "derived-snapshots"

// SaveDerivedSnapshot saves the derived state as it is now, which the caller says reflects the
// log up to seq, and then keeps only the newest keep snapshots. A snapshot is complete or absent:
// it is written under a temporary name and renamed.
func (s *Store) SaveDerivedSnapshot(seq uint64, keep int) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	if s.dbClosed {
		return ErrClosed
	}
	if s.derived == nil || s.opts.ReadOnly {
		return ErrReadOnly
	}
	root := filepath.Join(s.dir, snapshotsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	final := filepath.Join(root, snapshotName(seq))
	if _, err := os.Stat(final); err == nil {
		return nil // already saved at seq
	}
	tmp := filepath.Join(root, "tmp-"+snapshotName(seq))
	if err := os.RemoveAll(tmp); err != nil { // a crash's leftover
		return err
	}
	// Flushed first, the memtables are in tables the snapshot links, not in a write-ahead log
	// that opening the snapshot would have to replay (seconds, for a rebuild's).
	if err := s.derived.Flush(); err != nil {
		return fmt.Errorf("eventstore: derived snapshot at %d: %w", seq, err)
	}
	if err := s.derived.Checkpoint(tmp, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("eventstore: derived snapshot at %d: %w", seq, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	if err := syncDir(root); err != nil {
		return err
	}
	seqs, err := s.DerivedSnapshots()
	if err != nil {
		return err
	}
	for _, old := range seqs[:max(0, len(seqs)-keep)] {
		if err := os.RemoveAll(filepath.Join(root, snapshotName(old))); err != nil {
			return err
		}
	}
	return nil
}

// DropDerivedSnapshots deletes every saved snapshot: for when the stored state they copied is
// rebuilt (another version's layout, or a log that was replaced).
func (s *Store) DropDerivedSnapshots() error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	return os.RemoveAll(filepath.Join(s.dir, snapshotsDir))
}

// DerivedSnapshots lists the sequences of the saved snapshots, oldest first.
func (s *Store) DerivedSnapshots() ([]uint64, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, snapshotsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() && !strings.HasPrefix(e.Name(), "tmp-") {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

func snapshotName(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// DerivedSnapshot is a saved snapshot of the derived state, open for reading.
type DerivedSnapshot struct {
	db *pebble.DB
	// Sequence is the point of the log the snapshot reflects.
	Sequence uint64
}

// OpenDerivedSnapshot opens the newest snapshot saved at or before seq (nil if there is none).
// Close it when done.
func (s *Store) OpenDerivedSnapshot(seq uint64) (*DerivedSnapshot, error) {
	seqs, err := s.DerivedSnapshots()
	if err != nil {
		return nil, err
	}
	i, found := slices.BinarySearch(seqs, seq)
	if !found {
		i--
	}
	if i < 0 {
		return nil, nil
	}
	path := filepath.Join(s.dir, snapshotsDir, snapshotName(seqs[i]))
	db, err := pebble.Open(path, &pebble.Options{ReadOnly: true, Logger: pebbleLogger{s}})
	if err != nil {
		return nil, fmt.Errorf("eventstore: open derived snapshot %s: %w", path, err)
	}
	return &DerivedSnapshot{db: db, Sequence: seqs[i]}, nil
}

// GetDerived reads one value of the snapshot (nil if absent).
func (d *DerivedSnapshot) GetDerived(key []byte) ([]byte, error) { return getCopy(d.db, key) }

// ScanDerived is Store.ScanDerived on the snapshot.
func (d *DerivedSnapshot) ScanDerived(prefix []byte, fn func(key, value []byte) error) error {
	return scanPrefix(d.db, prefix, fn)
}

// Close releases the snapshot.
func (d *DerivedSnapshot) Close() error { return d.db.Close() }

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
