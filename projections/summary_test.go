package projections

import (
	"reflect"
	"testing"

	"github.com/licledger/licledger/domain"
)

// TestSummariesAdd: a partitioned ledger's system-wide totals are the sum of its partitions'
// totals, key by key, with keys only one side has kept.
func TestSummariesAdd(t *testing.T) {
	of := func(licenses, active int, status string) *Summary {
		s := NewSummary()
		s.Licenses, s.Seats, s.Active, s.Consumed, s.Remaining, s.Machines = licenses, 10*licenses, active, active, 10*licenses-active, 1
		s.ByStatus[status] = licenses
		return s
	}
	a := Summaries{Total: *of(2, 5, "active"), ByReseller: map[string]*Summary{"r0": of(2, 5, "active")},
		ByTenant: map[string]*Summary{}, ByProduct: map[string]*Summary{"p": of(2, 5, "active")}, ByPlan: map[string]*Summary{}}
	b := Summaries{Total: *of(1, 3, "suspended"), ByReseller: map[string]*Summary{"r1": of(1, 3, "suspended")},
		ByTenant: map[string]*Summary{"t1": of(1, 3, "suspended")}, ByProduct: map[string]*Summary{"p": of(1, 3, "suspended")}, ByPlan: map[string]*Summary{}}
	a.Add(b)
	want := NewSummary()
	want.Licenses, want.Seats, want.Active, want.Consumed, want.Remaining, want.Machines = 3, 30, 8, 8, 22, 2
	want.ByStatus["active"], want.ByStatus["suspended"] = 2, 1
	if !reflect.DeepEqual(a.Total, *want) || !reflect.DeepEqual(*a.ByProduct["p"], *want) {
		t.Fatalf("total %+v, product %+v; want %+v", a.Total, *a.ByProduct["p"], *want)
	}
	if !reflect.DeepEqual(a.ByReseller["r1"], of(1, 3, "suspended")) || !reflect.DeepEqual(a.ByReseller["r0"], of(2, 5, "active")) || a.ByTenant["t1"].Active != 3 {
		t.Fatalf("by reseller %+v, by tenant %+v", a.ByReseller, a.ByTenant)
	}
	if b.ByReseller["r1"] == a.ByReseller["r1"] {
		t.Fatal("Add shares the other side's summaries instead of copying them")
	}
}

// TestHotSpotsPutTheFullLicenseFirst: a license at its quota leads the hot spots even inside a
// reseller at a quarter of its own; licenses without a consumed seat are left out.
func TestHotSpotsPutTheFullLicenseFirst(t *testing.T) {
	p := NewLicenses()
	lic := func(id, reseller string) domain.LicenseCreated {
		return domain.LicenseCreated{ID: id, ResellerID: reseller, TenantID: "t", PlanID: "p", KeyHash: "h" + id, Seats: 4, StartsAt: t0}
	}
	seat := func(license, reseller, name string) domain.SeatRegistered {
		return domain.SeatRegistered{LicenseID: license, ResellerID: reseller, TenantID: "t", EndUserCompany: "Acme", EndUserName: name}
	}
	feed(p, domain.ResellerCreated{ID: "quiet", Name: "Q"}, domain.ResellerCreated{ID: "busy", Name: "B"},
		lic("full", "quiet"), lic("q2", "quiet"), lic("q3", "quiet"), lic("q4", "quiet"), lic("b1", "busy"), lic("b2", "busy"),
		seat("full", "quiet", "a"), seat("full", "quiet", "b"), seat("full", "quiet", "c"), seat("full", "quiet", "d"),
		seat("b1", "busy", "a"), seat("b1", "busy", "b"), seat("b1", "busy", "c"), seat("b2", "busy", "a"), seat("b2", "busy", "b"))
	var got []string
	for _, l := range p.HotSpots(t0, func(*domain.License) bool { return true }, 10) {
		got = append(got, l.LicenseID)
	}
	if want := []string{"full", "b1", "b2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("hot spots %v; want %v (quiet is at 25%%, its full license still first)", got, want)
	}
	if s := p.Summarize(t0, func(*domain.License) bool { return true }); s.ByReseller["quiet"].Consumed != 4 || s.ByReseller["quiet"].Seats != 16 {
		t.Fatalf("the quiet reseller: %+v", s.ByReseller["quiet"])
	}
	if hot := p.HotSpots(t0, func(l *domain.License) bool { return l.ResellerID == "busy" }, 1); len(hot) != 1 || hot[0].LicenseID != "b1" {
		t.Fatalf("hot spots in busy's scope, one: %+v", hot)
	}
}
