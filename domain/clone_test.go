package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/licledger/licledger/domain"
)

// TestCloneSharesNothing: a clone equals its original, and evolving the clone through every kind
// of change a license, a credential, a tenant and an admin undergo leaves the original as it was.
func TestCloneSharesNothing(t *testing.T) {
	s := given(t, withWorld(
		reg("ann", 0),
		domain.MachineActivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: "m1", At: t0},
		domain.LicenseNoted{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Note: "first", At: t0},
		domain.CredentialIssued{ID: "c1", Role: "developer", TokenHash: "th"},
		domain.CredentialAccessSet{CredentialID: "c1", Access: map[string]string{"licenses": "basic"}},
		domain.AdminCreated{Username: "jo", ResellerID: "r1", UserProfileType: "reseller-admin"},
	)...)
	before, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clone()
	if !reflect.DeepEqual(c, s) {
		t.Fatal("the clone differs from the original")
	}
	for _, e := range []domain.Event{
		reg("bob", 0), unreg("ann", 0),
		domain.MachineActivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: "m2", At: t0},
		domain.MachineDeactivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: "m1"},
		domain.LicenseNoted{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Note: "second", At: t0},
		domain.LicenseSuspended{LicenseID: "l1", ResellerID: "r1", TenantID: "t1"},
		domain.CredentialAccessSet{CredentialID: "c1", Access: map[string]string{"licenses": "detail"}},
		domain.CredentialDisabled{CredentialID: "c1"},
		domain.TenantUpdated{ID: "t1", ResellerID: "r1", Name: "Renamed"},
		domain.AdminUpdated{Username: "jo", ResellerID: "r1", AdminProfile: domain.AdminProfile{FirstName: ptr("Jo")}},
	} {
		c.Evolve(e)
	}
	after, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatalf("evolving the clone changed the original:\nbefore %s\n after %s", before, after)
	}
	if changed, _ := json.Marshal(c); string(changed) == string(before) {
		t.Fatal("the clone did not change: the test changes nothing")
	}
}
