package projections

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

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
// company index both miss as well as hit) and come, go and come back across quota periods.
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
	for l := range 4 {
		decide(0, domain.LicenseCreate{ID: fmt.Sprint("l", l), ResellerID: "r", TenantID: "t", PlanID: "plan", KeyHash: fmt.Sprint("kh", l), KeyHint: "X"})
	}
	for day := range 1200 { // past three yearly quota periods
		lid, company, name := fmt.Sprint("l", rng.IntN(4)), fmt.Sprint("Co ", rng.IntN(3)), fmt.Sprint("u", rng.IntN(40))
		if rng.IntN(3) == 0 {
			decide(day, domain.SeatUnregister{LicenseID: lid, EndUserCompany: company, EndUserName: name})
		} else {
			decide(day, domain.SeatRegister{LicenseID: lid, EndUserCompany: company, EndUserName: name})
		}
	}

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
	if facts.Seats() != boxed.Seats() || facts.Seats() == 0 {
		t.Fatalf("seats: facts %d, boxed %d", facts.Seats(), boxed.Seats())
	}
}
