package projections

import (
	"reflect"
	"testing"
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
