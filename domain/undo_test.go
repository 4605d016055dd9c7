package domain_test

import (
	"reflect"
	"testing"

	"github.com/licledger/licledger/domain"
)

// TestUndoRestoresEveryAggregate: an Undo that saw every kind of change (aggregates made, changed
// several times, deleted) puts the model back exactly as it was, and keeps working after.
func TestUndoRestoresEveryAggregate(t *testing.T) {
	s := given(t, withWorld(
		reg("ann", 0),
		domain.MachineActivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: "m1", At: t0},
		domain.CredentialIssued{ID: "c1", Role: "developer", TokenHash: "th"},
		domain.AdminCreated{Username: "jo", ResellerID: "r1", UserProfileType: "reseller-admin"},
	)...)
	want := s.Clone()
	undo := domain.NewUndo(s)
	for _, e := range []domain.Event{
		reg("bob", 0), unreg("ann", 0), reg("cy", 0),
		domain.MachineDeactivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: "m1"},
		domain.LicenseNoted{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Note: "n", At: t0},
		domain.LicenseSuspended{LicenseID: "l1", ResellerID: "r1", TenantID: "t1"},
		domain.CredentialAccessSet{CredentialID: "c1", Access: map[string]string{"licenses": "detail"}},
		domain.CredentialDisabled{CredentialID: "c1"},
		domain.CredentialIssued{ID: "c2", Role: "user", TokenHash: "th2"},
		domain.TenantUpdated{ID: "t1", ResellerID: "r1", Name: "Renamed"},
		domain.TenantCreated{ID: "t2", ResellerID: "r1", Name: "New"},
		domain.ResellerCreated{ID: "r3", Name: "Three"},
		domain.ProductCreated{ID: "p2", Name: "P2"},
		domain.PlanCreated{ID: "plan9", ProductID: "p1", Name: "Nine", Tier: 2, Seats: 9},
		domain.LicenseCreated{ID: "l2", ResellerID: "r1", TenantID: "t1", ProductID: "p1", PlanID: "plan2", KeyHash: "h2", Seats: 2, StartsAt: t0},
		domain.AdminDeleted{Username: "jo", ResellerID: "r1"},
		domain.AdminCreated{Username: "kim", ResellerID: "r1", UserProfileType: "reseller-admin"},
	} {
		undo.Save(e)
		s.Evolve(e)
	}
	if reflect.DeepEqual(s, want) {
		t.Fatal("the events changed nothing: the test tests nothing")
	}
	undo.Rollback()
	if !reflect.DeepEqual(s, want) {
		t.Fatal("after Rollback the model differs from before the events")
	}
	// Rolled back, the license's seats are its own again: the original ones keep evolving.
	undo.Save(reg("dee", 0))
	s.Evolve(reg("dee", 0))
	if s.Licenses["l1"].Active != want.Licenses["l1"].Active+1 {
		t.Fatalf("active %d after one more seat; want %d", s.Licenses["l1"].Active, want.Licenses["l1"].Active+1)
	}
}
