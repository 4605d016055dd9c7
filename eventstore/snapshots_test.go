package eventstore_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/licledger/licledger/eventstore"
)

// TestDerivedSnapshots: a snapshot keeps the derived state as it was when saved, later writes
// do not reach it, only the newest few are kept, the newest at or before a sequence is the one
// opened, and a half-written one (a crash's leftover) is neither listed nor opened.
func TestDerivedSnapshots(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, eventstore.Options{})
	defer s.Close()
	set := func(v string) {
		t.Helper()
		b := s.NewDerivedBatch()
		b.Set([]byte("k"), []byte(v))
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []uint64{10, 20, 30} {
		set(string(rune('a' + seq/10))) // b at 10, c at 20, d at 30
		if err := s.SaveDerivedSnapshot(seq, 2); err != nil {
			t.Fatal(err)
		}
	}
	set("z")
	if err := os.MkdirAll(filepath.Join(dir, "derived-snapshots", "tmp-00000000000000000040"), 0o755); err != nil {
		t.Fatal(err)
	}
	if seqs, err := s.DerivedSnapshots(); err != nil || !slices.Equal(seqs, []uint64{20, 30}) {
		t.Fatalf("snapshots %v, %v; want 20 and 30", seqs, err)
	}
	for _, c := range []struct {
		at, from uint64
		value    string
	}{{25, 20, "c"}, {30, 30, "d"}, {1000, 30, "d"}, {15, 0, ""}} {
		snap, err := s.OpenDerivedSnapshot(c.at)
		if err != nil {
			t.Fatal(err)
		}
		if snap == nil {
			if c.from != 0 {
				t.Errorf("at %d: no snapshot, want the one at %d", c.at, c.from)
			}
			continue
		}
		v, err := snap.GetDerived([]byte("k"))
		n := 0
		scanErr := snap.ScanDerived([]byte("k"), func(_, _ []byte) error { n++; return nil })
		snap.Close()
		if err != nil || scanErr != nil || snap.Sequence != c.from || string(v) != c.value || n != 1 {
			t.Errorf("at %d: snapshot %d holds %q (%d keys; %v, %v); want %d holding %q", c.at, snap.Sequence, v, n, err, scanErr, c.from, c.value)
		}
	}
	if v, _ := s.GetDerived([]byte("k")); string(v) != "z" {
		t.Errorf("the live state holds %q", v)
	}
}
