package handlers

import (
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
)

// TestActivityHistory: the dashboard keeps an hour of samples per reseller, drops the oldest
// beyond that, pads a reseller that appeared later with zeros, and sums what a scope reaches
// whole (a system scope everything, a reseller scope its reseller, a tenant scope nothing).
func TestActivityHistory(t *testing.T) {
	var a activity
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range activitySamples + 40 {
		sums := map[string]*projections.Summary{"r1": {Active: i}}
		ids := []string{"r1"}
		if i >= activitySamples {
			sums["r2"] = &projections.Summary{Active: 1000}
			ids = append(ids, "r2")
		}
		a.sample(t0.Add(time.Duration(i)*10*time.Second), sums, ids)
	}
	all := a.history(domain.Scope{})
	if len(all) != activitySamples {
		t.Fatalf("%d samples kept, want %d", len(all), activitySamples)
	}
	if first := all[0]; first.Active != 40 || !first.At.Equal(t0.Add(400*time.Second)) {
		t.Errorf("oldest kept: %+v", first)
	}
	last := all[len(all)-1]
	if last.Active != activitySamples+39+1000 {
		t.Errorf("newest: %+v", last)
	}
	r1 := a.history(domain.Scope{ResellerID: "r1"})
	if r1[len(r1)-1].Active != activitySamples+39 || r1[0].Active != 40 {
		t.Errorf("reseller r1: first %+v last %+v", r1[0], r1[len(r1)-1])
	}
	r2 := a.history(domain.Scope{ResellerID: "r2"})
	if r2[0].Active != 0 || r2[len(r2)-1].Active != 1000 {
		t.Errorf("reseller r2 (padded before it existed): first %+v last %+v", r2[0], r2[len(r2)-1])
	}
	if h := a.history(domain.Scope{ResellerID: "r1", TenantID: "t1"}); h != nil {
		t.Errorf("a tenant scope got %d samples of its reseller", len(h))
	}
}
