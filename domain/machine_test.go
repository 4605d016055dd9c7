package domain_test

import (
	"testing"

	"github.com/licledger/licledger/domain"
)

func activated(fp string) domain.MachineActivated {
	return domain.MachineActivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: fp, At: t0}
}

// l1's plan allows one machine.
func TestMachines(t *testing.T) {
	runDecideCases(t, []decideCase{
		{name: "activate", given: termWorld(), now: t0, when: domain.MachineActivate{LicenseID: "l1", Fingerprint: "fp-1"},
			then: []domain.Event{activated("fp-1")}},
		{name: "activate past the limit", given: termWorld(activated("fp-1")), now: t0, when: domain.MachineActivate{LicenseID: "l1", Fingerprint: "fp-2"},
			code: domain.CodeTooManyMachines, field: "fingerprint"},
		{name: "activate the same fingerprint twice", given: termWorld(activated("fp-1")), now: t0, when: domain.MachineActivate{LicenseID: "l1", Fingerprint: "fp-1"},
			code: domain.CodeAlreadyExists, field: "fingerprint"},
		{name: "activate on a suspended license", given: termWorld(domain.LicenseSuspended(change("l1"))), now: t0,
			when: domain.MachineActivate{LicenseID: "l1", Fingerprint: "fp-1"}, code: domain.CodeLicenseNotActive},
		{name: "activate on an expired license", given: termWorld(), now: t0.AddDate(0, 0, 31),
			when: domain.MachineActivate{LicenseID: "lm", Fingerprint: "fp-1"}, code: domain.CodeLicenseExpired},
		{name: "activate on a terminated license", given: termWorld(domain.LicenseTerminated(change("l1"))), now: t0,
			when: domain.MachineActivate{LicenseID: "l1", Fingerprint: "fp-1"}, code: domain.CodeLicenseTerminated},
		{name: "activate without a fingerprint", given: termWorld(), now: t0, when: domain.MachineActivate{LicenseID: "l1"},
			code: domain.CodeInvalidArgument, field: "fingerprint"},
		{name: "deactivate", given: termWorld(activated("fp-1")), now: t0, when: domain.MachineDeactivate{LicenseID: "l1", Fingerprint: "fp-1"},
			then: []domain.Event{domain.MachineDeactivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: "fp-1"}}},
		{name: "deactivate an unknown machine", given: termWorld(), now: t0, when: domain.MachineDeactivate{LicenseID: "l1", Fingerprint: "fp-9"},
			code: domain.CodeMachineNotFound, field: "fingerprint"},
		{name: "a freed slot can be used again", given: termWorld(activated("fp-1"), domain.MachineDeactivated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Fingerprint: "fp-1"}),
			now: t0, when: domain.MachineActivate{LicenseID: "l1", Fingerprint: "fp-2"}, then: []domain.Event{activated("fp-2")}},
	})
}

func TestValidateAt(t *testing.T) {
	twoMachines := domain.LicenseUpgraded{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", FromPlanID: "plan2", PlanID: "big", Seats: 10, Machines: 2}
	backToOne := domain.LicenseDowngraded{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", FromPlanID: "big", PlanID: "plan2", Seats: 2, Machines: 1}
	for _, c := range []struct {
		name        string
		given       []domain.Event
		fingerprint string
		want        string
	}{
		{"valid", termWorld(), "", domain.ValidationValid},
		{"no machine for a fingerprint", termWorld(), "fp-1", domain.ValidationNoMachine},
		{"the activated machine", termWorld(activated("fp-1")), "fp-1", domain.ValidationValid},
		{"another machine", termWorld(activated("fp-1")), "fp-2", domain.ValidationFingerprintScope},
		{"suspended", termWorld(domain.LicenseSuspended(change("l1"))), "", domain.ValidationSuspended},
		{"terminated", termWorld(domain.LicenseTerminated(change("l1"))), "", domain.ValidationTerminated},
		{"more machines than a downgrade allows", termWorld(twoMachines, activated("fp-1"), activated("fp-2"), backToOne), "fp-1", domain.ValidationTooManyMachines},
	} {
		s := given(t, c.given...)
		if got, _ := s.Licenses["l1"].ValidateAt(t0, c.fingerprint); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	s := given(t, termWorld()...)
	if got, _ := s.Licenses["lm"].ValidateAt(t0.AddDate(0, 0, 30), ""); got != domain.ValidationExpired {
		t.Errorf("past its term: %s", got)
	}
}
