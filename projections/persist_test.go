package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// appendEvents commits events to the log through the sequencer, one command.
func appendEvents(t *testing.T, store *eventstore.Store, events ...domain.Event) {
	t.Helper()
	_, err := store.Submit(context.Background(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		for _, e := range events {
			data, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			reseller, tenant := e.Owner()
			if err := tx.Append(e.Stream(), eventstore.AnyVersion, eventstore.Record{Type: e.EventType(), Subject: e.AggregateID(), Reseller: reseller, Tenant: tenant, Data: data, Payload: e}); err != nil {
				return nil, err
			}
		}
		return func(eventstore.Receipt) []byte { return nil }, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func note(i int) domain.LicenseNoted {
	return domain.LicenseNoted{LicenseID: "la", ResellerID: "r", TenantID: "t", Note: fmt.Sprint("n", i), At: t0}
}

// TestRestoreResumesRightAfterItsCheckpoint: a read model restored from its checkpoint is fed
// exactly the events after it, none twice and none skipped. Notes show both: each one applied is
// a line in the license's details.
func TestRestoreResumesRightAfterItsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	store, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, store,
		domain.ResellerCreated{ID: "r", Name: "R"},
		domain.TenantCreated{ID: "t", ResellerID: "r", Name: "T"},
		domain.LicenseCreated{ID: "la", ResellerID: "r", TenantID: "t", PlanID: "p", KeyHash: "ha", Seats: 5, StartsAt: t0},
	)
	for i := range 5 {
		appendEvents(t, store, note(i))
	}
	r := NewRunner(store, NewLicenses(), NewCredentials())
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CatchUp(); err != nil { // flushes at the end: checkpoint 8
		t.Fatal(err)
	}
	for i := 5; i < 9; i++ {
		appendEvents(t, store, note(i))
	}

	// The credentials read model is rebuilt (as after its version changed), so the runner
	// starts at 0 and the licenses read model must skip what its checkpoint already holds.
	if err := Drop(store, "credentials"); err != nil {
		t.Fatal(err)
	}
	resumed := NewLicenses()
	r = NewRunner(store, resumed, NewCredentials())
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := ReadCheckpoint(store, "licenses"); c.Sequence != 8 || r.Position() != 0 {
		t.Fatalf("licenses restored at checkpoint %d, runner at %d; want 8 and 0", c.Sequence, r.Position())
	}
	if _, err := r.CatchUp(); err != nil {
		t.Fatal(err)
	}
	notes := resumed.state.Licenses["la"].Notes
	if len(notes) != 9 {
		t.Fatalf("after resuming, the license has %d notes, want 9: %+v", len(notes), notes)
	}
	for i, n := range notes {
		if n.Text != fmt.Sprint("n", i) {
			t.Fatalf("note %d is %q", i, n.Text)
		}
	}

	// A version change drops the stored state and rebuilds from sequence 0.
	store.Close()
	store, err = eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := store.NewDerivedBatch()
	b.Set(checkpointKey("licenses"), []byte(`{"version":0,"sequence":12}`))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	rebuilt := NewLicenses()
	r = NewRunner(store, rebuilt)
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	if r.Position() != 0 {
		t.Fatalf("a stored version 0 was restored at %d instead of rebuilt", r.Position())
	}
	if _, err := r.CatchUp(); err != nil {
		t.Fatal(err)
	}
	if n := len(rebuilt.state.Licenses["la"].Notes); n != 9 {
		t.Fatalf("rebuilt after a version change: %d notes", n)
	}
	if c, _, _ := ReadCheckpoint(store, "licenses"); c.Version != licensesVersion || c.Sequence != 12 {
		t.Fatalf("checkpoint after the rebuild: %+v", c)
	}
}

// failingOnce is a Persistent projection whose first Save fails (a fault a real projection has
// no way to cause), wrapping the licenses read model.
type failingOnce struct {
	*Licenses
	failed bool
}

// cutSave hands the changes over (so they are gone), and the first time fails to write them, as
// a full disk would.
func (f *failingOnce) cutSave() (func(RecordWriter) error, error) {
	write, err := f.Licenses.cutSave()
	if err != nil || f.failed {
		return write, err
	}
	f.failed = true
	return func(RecordWriter) error { return errors.New("disk on fire") }, nil
}

// TestNoCheckpointAfterAFailedFlush: once a flush has failed, the changes it took are lost to the
// store, so no later flush may write a checkpoint past them; the runner keeps failing, and the
// checkpoint stays where it was.
func TestNoCheckpointAfterAFailedFlush(t *testing.T) {
	store, err := eventstore.Open(t.TempDir(), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendEvents(t, store, domain.ResellerCreated{ID: "r", Name: "R"})
	p := &failingOnce{Licenses: NewLicenses()}
	r := NewRunner(store, p)
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CatchUp(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("the failed flush: %v", err)
	}
	appendEvents(t, store, domain.TenantCreated{ID: "t", ResellerID: "r", Name: "T"})
	if _, err := r.CatchUp(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("a flush after the failed one: %v", err)
	}
	if c, found, _ := ReadCheckpoint(store, "licenses"); found {
		t.Fatalf("a checkpoint was written after a failed flush: %+v", c)
	}
}

// TestSortSeats: the seats a flush writes come out in the order of their record keys (license,
// then company, then name), whatever order they were changed in, duplicates included.
func TestSortSeats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var seats []seatState
	for range 2000 {
		seats = append(seats, seatState{license: fmt.Sprint("l", rng.IntN(30)), company: fmt.Sprint("c", rng.IntN(3)),
			name: fmt.Sprint("u", rng.IntN(50)), seat: domain.Seat{CountedIn: int32(rng.IntN(3))}})
	}
	got := sortSeats(slices.Clone(seats))
	key := func(s seatState) string { return string(appendSeatRecordKey(nil, s.license, s.company, s.name)) }
	if len(got) != len(seats) || !slices.IsSortedFunc(got, func(a, b seatState) int { return strings.Compare(key(a), key(b)) }) {
		t.Fatal("seats not in key order")
	}
	count := func(in []seatState) map[seatState]int {
		m := map[seatState]int{}
		for _, s := range in {
			m[s]++
		}
		return m
	}
	if !maps.Equal(count(got), count(seats)) {
		t.Fatal("sorting lost or made up seats")
	}
}
