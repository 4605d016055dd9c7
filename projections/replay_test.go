package projections

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/internal/loggen"
)

// TestLicensesReplayedFromSnapshots: while a runner keeps the read models stored, it saves
// snapshots of them every so many events, keeping the newest few; the read model of a past
// point, started from the newest snapshot at or before it, equals the one replayed from the log's
// start, at points on, between and before the snapshots.
func TestLicensesReplayedFromSnapshots(t *testing.T) {
	store := generatedLog(t, loggen.Spec{Events: 30_000, Resellers: 3, Seed: 5})
	r := NewRunner(store, NewLicenses(), NewCredentials())
	r.FlushEvents, r.SnapshotEvery, r.SnapshotsKept = 1000, 5000, 3
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	end, err := r.CatchUp()
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := store.DerivedSnapshots()
	if err != nil || len(seqs) != 3 || seqs[2] < end-5000 {
		t.Fatalf("snapshots at %v (%v), log end %d: want the newest three, every 5000 events", seqs, err, end)
	}
	for _, seq := range []uint64{seqs[0] / 2, seqs[0], seqs[0] + 1, seqs[1] + 777, end} {
		fromSnapshot, from, err := licensesReplayed(t.Context(), store, seq)
		if err != nil {
			t.Fatal(err)
		}
		if want := snapshotBefore(seqs, seq); from != want {
			t.Errorf("as of %d: started from %d, want %d", seq, from, want)
		}
		fromStart := NewLicenses()
		if _, err := NewRunner(store, fromStart).CatchUpTo(seq); err != nil {
			t.Fatal(err)
		}
		a, errA := fromSnapshot.Dump()
		b, errB := fromStart.Dump()
		if errA != nil || errB != nil || len(a) == 0 || !maps.Equal(a, b) {
			t.Fatalf("as of %d: from the snapshot at %d, %d records; from the start, %d (%v, %v)", seq, from, len(a), len(b), errA, errB)
		}
	}
}

// TestRebuildDropsSnapshots: a restore that rebuilds a stored read model from sequence 0 (here
// dropped, as `ledgerd rebuild` does; also on a version change) deletes the snapshots, which copied
// the state being replaced, and the rebuild saves new ones.
func TestRebuildDropsSnapshots(t *testing.T) {
	store := generatedLog(t, loggen.Spec{Events: 12_000, Resellers: 2, Seed: 3})
	rebuild := func(every uint64) []uint64 {
		t.Helper()
		r := NewRunner(store, NewLicenses(), NewCredentials())
		r.FlushEvents, r.SnapshotEvery = 1000, every
		if err := r.Restore(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.CatchUp(); err != nil {
			t.Fatal(err)
		}
		seqs, err := store.DerivedSnapshots()
		if err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	if seqs := rebuild(3000); len(seqs) == 0 {
		t.Fatal("no snapshots saved")
	}
	if err := Drop(store, "licenses"); err != nil {
		t.Fatal(err)
	}
	if seqs := rebuild(0); len(seqs) != 0 {
		t.Fatalf("snapshots %v survived a rebuild", seqs)
	}
	if err := Drop(store, "credentials"); err != nil {
		t.Fatal(err)
	}
	if seqs := rebuild(5000); len(seqs) != 2 {
		t.Fatalf("a rebuild saved snapshots at %v, want two", seqs)
	}
}

// TestLicensesReplayedGivesUp: a replay whose context has ended stops with the context's error
// rather than replaying on for a caller who left.
func TestLicensesReplayedGivesUp(t *testing.T) {
	store := generatedLog(t, loggen.Spec{Events: 5_000, Resellers: 1, Seed: 2})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := LicensesReplayed(ctx, store, store.Durable()); !errors.Is(err, context.Canceled) {
		t.Fatalf("a replay with its context canceled: %v", err)
	}
	if _, err := LicensesReplayed(t.Context(), store, store.Durable()); err != nil {
		t.Fatalf("the same replay with a live context: %v", err)
	}
}

// generatedLog opens a log generated to spec in a temporary directory (closed when the test ends).
func generatedLog(t *testing.T, spec loggen.Spec) *eventstore.Store {
	t.Helper()
	dir := t.TempDir()
	if err := loggen.Generate(dir, spec); err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// snapshotBefore is the newest of seqs at or before seq (0: none).
func snapshotBefore(seqs []uint64, seq uint64) uint64 {
	var out uint64
	for _, s := range seqs {
		if s <= seq {
			out = s
		}
	}
	return out
}
