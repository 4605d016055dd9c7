package domain_test

import (
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
)

// termWorld adds to world(): a 30-day plan "month" and a license "lm" on it, a tier-2 plan "big"
// of the same product, and a plan "other" of another product.
func termWorld(extra ...domain.Event) []domain.Event {
	exp := t0.AddDate(0, 0, 30)
	return append(append(world(),
		domain.PlanCreated{ID: "month", ProductID: "p1", Name: "Monthly", Tier: 1, Seats: 3, Machines: 2, DurationDays: 30},
		domain.PlanCreated{ID: "big", ProductID: "p1", Name: "Big", Tier: 2, Seats: 10, Machines: 5},
		domain.ProductCreated{ID: "p2", Name: "Other product"},
		domain.PlanCreated{ID: "other", ProductID: "p2", Name: "Other", Tier: 9, Seats: 1},
		domain.LicenseCreated{ID: "lm", ResellerID: "r1", TenantID: "t1", ProductID: "p1", PlanID: "month", KeyHash: "h2", Seats: 3, Machines: 2, StartsAt: t0, ExpiresAt: &exp},
	), extra...)
}

func change(id string) domain.LicenseStatusChanged {
	return domain.LicenseStatusChanged{LicenseID: id, ResellerID: "r1", TenantID: "t1"}
}

func TestLicenseLifecycle(t *testing.T) {
	exp30, exp60 := t0.AddDate(0, 0, 30), t0.AddDate(0, 0, 60)
	late := t0.AddDate(0, 0, 45)
	expLate := late.AddDate(0, 0, 30)
	reasoned := change("l1")
	reasoned.Reason = "unpaid invoice"
	runDecideCases(t, []decideCase{
		{name: "suspend with a reason", given: termWorld(), now: t0, when: domain.LicenseSuspend{LicenseID: "l1", Reason: "unpaid invoice"},
			then: []domain.Event{domain.LicenseSuspended(reasoned)}},
		{name: "suspend twice", given: termWorld(domain.LicenseSuspended(change("l1"))), now: t0, when: domain.LicenseSuspend{LicenseID: "l1"},
			code: domain.CodeLicenseNotActive, field: "licenseId"},
		{name: "suspend an unknown license", given: termWorld(), now: t0, when: domain.LicenseSuspend{LicenseID: "nope"},
			code: domain.CodeLicenseNotFound, field: "licenseId"},
		{name: "reinstate", given: termWorld(domain.LicenseSuspended(change("l1"))), now: t0, when: domain.LicenseReinstate{LicenseID: "l1"},
			then: []domain.Event{domain.LicenseReinstated(change("l1"))}},
		{name: "reinstate an active license", given: termWorld(), now: t0, when: domain.LicenseReinstate{LicenseID: "l1"},
			code: domain.CodeLicenseNotSuspended},
		{name: "expire", given: termWorld(), now: t0, when: domain.LicenseExpire{LicenseID: "lm"},
			then: []domain.Event{domain.LicenseExpired(change("lm"))}},
		{name: "expire twice", given: termWorld(domain.LicenseExpired(change("lm"))), now: t0, when: domain.LicenseExpire{LicenseID: "lm"},
			code: domain.CodeLicenseExpired},
		{name: "renew before the end extends from the end", given: termWorld(), now: t0.AddDate(0, 0, 10), when: domain.LicenseRenew{LicenseID: "lm"},
			then: []domain.Event{domain.LicenseRenewed(withExpiry(change("lm"), exp60))}},
		{name: "renew after the end starts from now", given: termWorld(domain.LicenseExpired(change("lm"))), now: late, when: domain.LicenseRenew{LicenseID: "lm"},
			then: []domain.Event{domain.LicenseRenewed(withExpiry(change("lm"), expLate))}},
		{name: "renew a perpetual license", given: termWorld(), now: t0, when: domain.LicenseRenew{LicenseID: "l1"},
			code: domain.CodeLicensePerpetual},
		{name: "terminate", given: termWorld(), now: t0, when: domain.LicenseTerminate{LicenseID: "l1"},
			then: []domain.Event{domain.LicenseTerminated(change("l1"))}},
		{name: "a terminated license never changes", given: termWorld(domain.LicenseTerminated(change("l1"))), now: t0, when: domain.LicenseReinstate{LicenseID: "l1"},
			code: domain.CodeLicenseTerminated, field: "licenseId"},
		{name: "no seats on a terminated license", given: termWorld(domain.LicenseTerminated(change("l1"))), now: t0,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "ann"}, code: domain.CodeLicenseTerminated},
		{name: "no unregistering on a terminated license", given: termWorld(reg("ann", 0), domain.LicenseTerminated(change("l1"))), now: t0,
			when: domain.SeatUnregister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "ann"}, code: domain.CodeLicenseTerminated},
		{name: "no seats on a suspended license", given: termWorld(domain.LicenseSuspended(change("l1"))), now: t0,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "ann"}, code: domain.CodeLicenseNotActive},
		{name: "no seats once the term has run out", given: termWorld(), now: exp30,
			when: domain.SeatRegister{LicenseID: "lm", EndUserCompany: "Acme", EndUserName: "ann"}, code: domain.CodeLicenseExpired},
		{name: "a reason with a control character", given: termWorld(), now: t0, when: domain.LicenseSuspend{LicenseID: "l1", Reason: "a\nb"},
			code: domain.CodeInvalidArgument, field: "reason"},
		{name: "upgrade to a higher tier", given: termWorld(), now: t0, when: domain.LicenseUpgrade{LicenseID: "l1", PlanID: "big"},
			then: []domain.Event{domain.LicenseUpgraded{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", FromPlanID: "plan2", PlanID: "big", Seats: 10, Machines: 5}}},
		{name: "an upgrade keeps a quota override", given: termWorld(domain.LicenseQuotaSet{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Seats: 7}), now: t0,
			when: domain.LicenseUpgrade{LicenseID: "l1", PlanID: "big"},
			then: []domain.Event{domain.LicenseUpgraded{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", FromPlanID: "plan2", PlanID: "big", Seats: 7, Machines: 5}}},
		{name: "an upgrade to a lower tier is refused", given: termWorld(), now: t0, when: domain.LicenseUpgrade{LicenseID: "l1", PlanID: "month"},
			code: domain.CodeNotAnUpgrade, field: "planId"},
		{name: "a downgrade to a higher tier is refused", given: termWorld(), now: t0, when: domain.LicenseDowngrade{LicenseID: "l1", PlanID: "big"},
			code: domain.CodeNotADowngrade, field: "planId"},
		{name: "downgrade", given: termWorld(domain.LicenseUpgraded{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", FromPlanID: "plan2", PlanID: "big", Seats: 10, Machines: 5}), now: t0,
			when: domain.LicenseDowngrade{LicenseID: "l1", PlanID: "plan2"},
			then: []domain.Event{domain.LicenseDowngraded{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", FromPlanID: "big", PlanID: "plan2", Seats: 2, Machines: 1}}},
		{name: "a plan of another product", given: termWorld(), now: t0, when: domain.LicenseUpgrade{LicenseID: "l1", PlanID: "other"},
			code: domain.CodePlanOfAnotherProduct, field: "planId"},
		{name: "an unknown plan", given: termWorld(), now: t0, when: domain.LicenseUpgrade{LicenseID: "l1", PlanID: "nope"},
			code: domain.CodePlanNotFound, field: "planId"},
		{name: "note", given: termWorld(), now: t0, when: domain.LicenseNote{LicenseID: "l1", Note: "called the customer\nabout renewal"},
			then: []domain.Event{domain.LicenseNoted{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Note: "called the customer\nabout renewal", At: t0}}},
		{name: "an empty note", given: termWorld(), now: t0, when: domain.LicenseNote{LicenseID: "l1"},
			code: domain.CodeInvalidArgument, field: "note"},
		{name: "set quota", given: termWorld(), now: t0, when: domain.LicenseSetQuota{LicenseID: "l1", Seats: 50},
			then: []domain.Event{domain.LicenseQuotaSet{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", Seats: 50}}},
		{name: "negative quota", given: termWorld(), now: t0, when: domain.LicenseSetQuota{LicenseID: "l1", Seats: -1},
			code: domain.CodeInvalidArgument, field: "seats"},
		{name: "rotate the key", given: termWorld(), now: t0, when: domain.LicenseRotateKey{LicenseID: "l1", KeyHash: "new", KeyHint: "WXYZ"},
			then: []domain.Event{domain.LicenseKeyRotated{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", KeyHash: "new", KeyHint: "WXYZ"}}},
	})
}

func TestStatusFollowsEvents(t *testing.T) {
	exp := t0.AddDate(0, 0, 60)
	s := given(t, termWorld(
		domain.LicenseExpired(change("lm")),
		domain.LicenseRenewed(withExpiry(change("lm"), exp)),
		domain.LicenseSuspended(change("lm")),
		domain.LicenseQuotaSet{LicenseID: "lm", ResellerID: "r1", TenantID: "t1", Seats: 9},
		domain.LicenseKeyRotated{LicenseID: "lm", ResellerID: "r1", TenantID: "t1", KeyHash: "h3", KeyHint: "HINT"},
	)...)
	l := s.Licenses["lm"]
	if l.StatusAt(t0) != domain.StatusSuspended || !l.ExpiresAt.Equal(exp) || l.Seats != 9 || !l.SeatsOverridden || l.KeyHash != "h3" {
		t.Fatalf("license after its history: %+v", l)
	}
	if l.StatusAt(exp) != domain.StatusExpired {
		t.Fatal("a suspended license past its term is not expired")
	}
}

func withExpiry(c domain.LicenseStatusChanged, at time.Time) domain.LicenseStatusChanged {
	c.ExpiresAt = &at
	return c
}
