package projections

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// boxedOnly is a projection that takes every event boxed: a runner feeding it decodes seat events
// as any other event (no SeatFacts).
type boxedOnly struct{ seats int }

func (b *boxedOnly) Apply(_ Meta, e domain.Event) {
	switch e.(type) {
	case domain.SeatRegistered, domain.SeatUnregistered:
		b.seats++
	}
}

// TestSeatFactsMatchBoxedEvents: a catch-up that hands seat events over as SeatFacts builds the
// same read model as one that decodes them as domain events, on a log of licenses whose users
// come from several companies (so the decoder's per-license company and the read model's
// company index both miss as well as hit; one company's name is too long to keep inline) and
// come, go and come back across quota periods. A second round makes every license's hash
// collide, so that only comparing their ids tells them apart (two differ in their last byte).
func TestSeatFactsMatchBoxedEvents(t *testing.T) {
	store, err := eventstore.Open(t.TempDir(), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	state := domain.NewState()
	decide := func(now int, c domain.Command) {
		events, err := domain.Decide(state, t0.AddDate(0, 0, now), c)
		if err != nil {
			return // a refusal (a full quota, someone already gone) appends nothing
		}
		for _, e := range events {
			state.Evolve(e)
		}
		appendEvents(t, store, events...)
	}
	decide(0, domain.ProductCreate{ID: "p", Name: "P"})
	decide(0, domain.PlanCreate{ID: "plan", ProductID: "p", Name: "Plan", Tier: 1, Seats: 60, Machines: 5})
	decide(0, domain.ResellerCreate{ID: "r", Name: "R"})
	decide(0, domain.TenantCreate{ResellerID: "r", ID: "t", Name: "T"})
	long := strings.Repeat("l", domain.MaxIDLength-1)
	licenses := []string{"l0", "l1", long + "a", long + "b"}
	companies := []string{"Co 0", "Co 1", "A company whose name is longer than " + fmt.Sprint(inlineCompany) + " bytes, Ltd."}
	for l, id := range licenses {
		decide(0, domain.LicenseCreate{ID: id, ResellerID: "r", TenantID: "t", PlanID: "plan", KeyHash: fmt.Sprint("kh", l), KeyHint: "X"})
	}
	for day := range 1200 { // past three yearly quota periods
		lid, company, name := licenses[rng.IntN(4)], companies[rng.IntN(3)], fmt.Sprint("u", rng.IntN(40))
		if rng.IntN(3) == 0 {
			decide(day, domain.SeatUnregister{LicenseID: lid, EndUserCompany: company, EndUserName: name})
		} else {
			decide(day, domain.SeatRegister{LicenseID: lid, EndUserCompany: company, EndUserName: name})
		}
	}

	// A license whose users have no company (the ledger refuses that today; a log may hold it).
	decide(0, domain.LicenseCreate{ID: "anon", ResellerID: "r", TenantID: "t", PlanID: "plan", KeyHash: "kh-anon", KeyHint: "X"})
	for i := range 5 {
		appendEvents(t, store, domain.SeatRegistered{LicenseID: "anon", ResellerID: "r", TenantID: "t", EndUserName: fmt.Sprint("u", i%3)})
	}
	t.Run("hashed", func(t *testing.T) { checkSeatFactsMatchBoxed(t, store) })
	t.Run("colliding", func(t *testing.T) {
		defer func(m uint64) { ownersHashMask = m }(ownersHashMask)
		ownersHashMask = 0
		checkSeatFactsMatchBoxed(t, store)
	})
}

func checkSeatFactsMatchBoxed(t *testing.T, store *eventstore.Store) {
	facts, boxed, probe := NewLicenses(), NewLicenses(), &boxedOnly{}
	if r := NewRunner(store, facts, NewCredentials()); r.seatProjections() == nil {
		t.Fatal("Licenses and Credentials do not both take SeatFacts")
	} else if _, err := r.CatchUp(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRunner(store, boxed, probe).CatchUp(); err != nil {
		t.Fatal(err)
	}
	if probe.seats < 400 {
		t.Fatalf("the boxed runner saw %d seat events", probe.seats)
	}
	a, err := facts.Dump()
	if err != nil {
		t.Fatal(err)
	}
	b, err := boxed.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(a, b) {
		for k, v := range a {
			if b[k] != v {
				t.Errorf("%s: facts %q, boxed %q", k, v, b[k])
			}
		}
		t.Fatalf("the read models differ (%d records against %d)", len(a), len(b))
	}
	// Every seat the facts filed is found again by its user (the hash it was filed under is the
	// one any later lookup computes).
	for id, l := range facts.state.Licenses {
		for u, seat := range l.Users.All() {
			if got, ok := l.Users.Get(u.Company(), u.Name()); !ok || got != seat {
				t.Fatalf("license %s: the seat of %q/%q is not found by its user", id, u.Company(), u.Name())
			}
		}
	}
	if facts.Seats() != boxed.Seats() || facts.Seats() == 0 {
		t.Fatalf("seats: facts %d, boxed %d", facts.Seats(), boxed.Seats())
	}
}

// TestLicenseNumbers: the decoder numbers licenses by their owners' bytes, all of them, including
// those past what it keeps inline, even when every hash collides.
func TestLicenseNumbers(t *testing.T) {
	defer func(m uint64) { ownersHashMask = m }(ownersHashMask)
	long := strings.Repeat("o", inlineOwners)
	owners := []string{"a", "b", long, long + "x", long + "y", strings.Repeat("p", inlineOwners-1) + "x"}
	for _, mask := range []uint64{^uint64(0), 0} {
		ownersHashMask = mask
		ns, in := &licenseNumbers{}, eventstore.NewInterner(16)
		for round := range 3 {
			for i, o := range owners {
				v := domain.SeatEventView{LicenseID: []byte(fmt.Sprint("l", i)), Owners: []byte(o)}
				if n, l := ns.number(&v, ownersHash(v.Owners), in); int(n) != i || l.id != fmt.Sprint("l", i) {
					t.Fatalf("mask %x, round %d: %q numbered %d (%s), want %d", mask, round, o, n, l.id, i)
				}
			}
		}
	}
}

// TestCatchUpStopsAtAnEventItCannotDecode: an event no decoder knows, with many batches of the
// log before and after it, ends a catch-up with an error naming it (every stage stops; none waits
// for another forever), and the read model reflects only the events before it.
//
// On one processor the stages take turns in rounds of a pool's worth of batches: the reader fills
// every raw batch and waits for one to come back. The bad event opens a round, so the decoder
// meets it when it holds the only batch the reader can get back: a decoder that stopped without
// handing it back would leave the reader waiting.
func TestCatchUpStopsAtAnEventItCannotDecode(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	dir := t.TempDir()
	store, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	resellers := func(from, n int) []domain.Event {
		var out []domain.Event
		for i := range n {
			out = append(out, domain.ResellerCreated{ID: fmt.Sprint("r", from+i), Name: "R"})
		}
		return out
	}
	const before, after = 2 * catchUpBatches * catchUpBatch, 4 * catchUpBatches * catchUpBatch
	appendEvents(t, store, resellers(0, before)...)
	if _, err := store.Submit(context.Background(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		return nil, tx.Append("license/x", eventstore.AnyVersion, eventstore.Record{Type: "license.exploded.v1", Subject: "x", Data: []byte(`{}`)})
	}}); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, store, resellers(before, after)...)
	store.Close()
	if store, err = eventstore.Open(dir, eventstore.Options{}); err != nil { // read from Pebble, not the tail
		t.Fatal(err)
	}
	defer store.Close()

	licenses := NewLicenses()
	r := NewRunner(store, licenses, NewCredentials())
	done := make(chan error)
	go func() { _, err := r.CatchUp(); done <- err }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the catch-up did not end")
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint("event ", before+1)) {
		t.Fatalf("catch-up error %v, want one naming event %d", err, before+1)
	}
	if got := len(licenses.ResellerIDs()); got > before || r.Position() > before {
		t.Fatalf("read model has %d resellers at position %d: past the bad event %d", got, r.Position(), before+1)
	}
}
