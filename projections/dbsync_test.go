package projections

import (
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func feed(p *Licenses, events ...domain.Event) {
	for i, e := range events {
		p.Apply(Meta{Sequence: uint64(i + 1)}, e)
	}
}

func reg(license, company, name string) domain.SeatRegistered {
	return domain.SeatRegistered{LicenseID: license, ResellerID: "r", TenantID: "t", EndUserCompany: company, EndUserName: name}
}

func world() *Licenses {
	p := NewLicenses()
	feed(p,
		domain.ResellerCreated{ID: "r", Name: "R"},
		domain.TenantCreated{ID: "t", ResellerID: "r", Name: "T"},
		domain.LicenseCreated{ID: "la", ResellerID: "r", TenantID: "t", PlanID: "p", KeyHash: "ha", Seats: 5, StartsAt: t0},
		domain.LicenseCreated{ID: "lb", ResellerID: "r", TenantID: "t", PlanID: "p", KeyHash: "hb", Seats: 5, StartsAt: t0},
		domain.LicenseCreated{ID: "lc", ResellerID: "r", TenantID: "t", PlanID: "p", KeyHash: "hc", Seats: 5, StartsAt: t0},
		reg("la", "Acme", "ann"), reg("la", "Acme", "bob"), reg("lb", "Acme", "ann"), reg("lc", "Globex", "cy"),
	)
	return p
}

func TestAuthenticate(t *testing.T) {
	p := world()
	if a := p.Authenticate("Acme", "ann", "", t0, everything); !a.Authenticated || a.Code != domain.ValidationValid || a.License == nil || len(a.License.Users) != 1 {
		t.Fatalf("ann: %+v", a)
	}
	if a := p.Authenticate("Acme", "zed", "", t0, everything); a.Authenticated || a.Code != "NO_SEAT" {
		t.Fatalf("unknown user: %+v", a)
	}
	if a := p.Authenticate("Globex", "cy", "la", t0, everything); a.Authenticated || a.Code != "NO_SEAT" {
		t.Fatalf("user on another license: %+v", a)
	}
	// ann holds seats on la and lb: with la suspended, lb still authenticates her.
	feed(p, domain.LicenseSuspended{LicenseID: "la", ResellerID: "r", TenantID: "t"})
	if a := p.Authenticate("Acme", "ann", "", t0, everything); !a.Authenticated || a.License.LicenseID != "lb" {
		t.Fatalf("ann with la suspended: %+v", a)
	}
	if a := p.Authenticate("Acme", "bob", "", t0, everything); a.Authenticated || a.Code != domain.ValidationSuspended {
		t.Fatalf("bob only on the suspended license: %+v", a)
	}
	feed(p, domain.SeatUnregistered{LicenseID: "lb", ResellerID: "r", TenantID: "t", EndUserCompany: "Acme", EndUserName: "ann"})
	if a := p.Authenticate("Acme", "ann", "lb", t0, everything); a.Authenticated || a.Code != "NO_SEAT" {
		t.Fatalf("after unregistering: %+v", a)
	}
}

func TestDetails(t *testing.T) {
	p := world()
	ids := func(items []LicenseDetail) (out []string) {
		for _, d := range items {
			out = append(out, d.LicenseID)
		}
		return out
	}
	all, next := p.Details("", "", "", 10, t0, everything)
	if got := ids(all); len(got) != 3 || got[0] != "la" || next != "" {
		t.Fatalf("all: %v next %q", got, next)
	}
	if len(all[0].Users) != 2 || all[0].Quota.Active != 2 {
		t.Fatalf("la: %+v", all[0])
	}
	acme, _ := p.Details("Acme", "", "", 10, t0, everything)
	if got := ids(acme); len(got) != 2 || got[1] != "lb" {
		t.Fatalf("Acme: %v", got)
	}
	ann, _ := p.Details("Acme", "ann", "", 10, t0, everything)
	if got := ids(ann); len(got) != 2 || len(ann[0].Users) != 1 || ann[0].Users[0].EndUserName != "ann" {
		t.Fatalf("ann: %+v", ann)
	}
	// Paging: two pages of two and one, the cursor is the last id.
	page, next := p.Details("", "", "", 2, t0, everything)
	if got := ids(page); len(got) != 2 || next != "lb" {
		t.Fatalf("page 1: %v next %q", got, next)
	}
	page, next = p.Details("", "", next, 2, t0, everything)
	if got := ids(page); len(got) != 1 || got[0] != "lc" || next != "" {
		t.Fatalf("page 2: %v next %q", got, next)
	}
}

// everything is the visibility of a system-scoped caller.
func everything(*domain.License) bool { return true }
