package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/licledger/licledger/projections"
)

// TestUsageSummaryPerRole: usage.summary is each role's view of its scope. The system admin and
// the (system-scoped) support and sales agents see both resellers; a reseller admin its own
// reseller's tenants only; a tenant admin its tenant only. Totals are sums of the license
// quotas and statuses, and asOf answers the summary as it stood.
func TestUsageSummaryPerRole(t *testing.T) {
	c := newClockedLedger(t, time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	steps := [][2]string{
		{"product.create", `{"id":"p1","name":"P"}`},
		{"plan.create", `{"id":"small","productId":"p1","name":"Small","tier":1,"seats":5,"machines":2}`},
	}
	for _, r := range []string{"r1", "r2"} {
		for _, tn := range []string{"a", "b"} {
			tenant := r + tn
			if tn == "a" {
				steps = append(steps, [2]string{"reseller.create", fmt.Sprintf(`{"id":%q,"name":"R"}`, r)})
			}
			steps = append(steps,
				[2]string{"tenant.create", fmt.Sprintf(`{"resellerId":%q,"id":%q,"name":"T"}`, r, tenant)},
				[2]string{"license.create", fmt.Sprintf(`{"id":"l-%s","resellerId":%q,"tenantId":%q,"planId":"small"}`, tenant, r, tenant)},
				[2]string{"seat.register", fmt.Sprintf(`{"licenseId":"l-%s","endUserCompany":"Acme","endUserName":"ann"}`, tenant)},
			)
		}
	}
	steps = append(steps,
		[2]string{"seat.register", `{"licenseId":"l-r1a","endUserCompany":"Acme","endUserName":"bob"}`},
		[2]string{"machine.activate", `{"licenseId":"l-r1a","fingerprint":"m1"}`},
	)
	for _, s := range steps {
		c.must(t, s[0], s[1])
	}
	_, before := c.must(t, "license.suspend", `{"licenseId":"l-r1b"}`)
	c.must(t, "license.suspend", `{"licenseId":"l-r2a"}`) // after the asOf point below

	summary := func(token, body string) projections.Summaries {
		t.Helper()
		reply, f := c.Query(t.Context(), Request{Name: "usage.summary", Body: []byte(body), Token: token})
		if f != nil {
			t.Fatalf("usage.summary %s: %s", body, f.Body())
		}
		var out struct{ Result projections.Summaries }
		if err := json.Unmarshal(reply, &out); err != nil {
			t.Fatal(err)
		}
		return out.Result
	}
	issue := func(role, scope string) string {
		r, _ := c.must(t, "credential.issue", fmt.Sprintf(`{"role":%q,"scope":%s}`, role, scope))
		var cred struct{ Token string }
		if err := json.Unmarshal(r, &cred); err != nil || cred.Token == "" {
			t.Fatalf("credential.issue %s: %s", role, r)
		}
		return cred.Token
	}
	for _, tc := range []struct {
		who, role, scope string
		tenants          []string
		licenses, active int
	}{
		{"system admin", "system-admin", `{}`, []string{"r1a", "r1b", "r2a", "r2b"}, 4, 5},
		{"support agent", "support-agent", `{}`, []string{"r1a", "r1b", "r2a", "r2b"}, 4, 5},
		{"sales agent", "sales-agent", `{}`, []string{"r1a", "r1b", "r2a", "r2b"}, 4, 5},
		{"reseller admin", "reseller-admin", `{"resellerId":"r1"}`, []string{"r1a", "r1b"}, 2, 3},
		{"tenant admin", "tenant-admin", `{"resellerId":"r2","tenantId":"r2b"}`, []string{"r2b"}, 1, 1},
	} {
		s := summary(issue(tc.role, tc.scope), `{}`)
		if got := slices.Sorted(maps.Keys(s.ByTenant)); !slices.Equal(got, tc.tenants) {
			t.Errorf("%s sees tenants %v, want %v", tc.who, got, tc.tenants)
		}
		if s.Total.Licenses != tc.licenses || s.Total.Active != tc.active || s.Total.Seats != 5*tc.licenses {
			t.Errorf("%s: total %+v", tc.who, s.Total)
		}
	}
	all := summary(c.token, `{}`)
	if st := all.Total.ByStatus; st["active"] != 2 || st["suspended"] != 2 || all.Total.Machines != 1 || all.Total.Consumed != 5 || all.Total.Remaining != 15 {
		t.Errorf("system total: %+v", all.Total)
	}
	if r1 := all.ByReseller["r1"]; r1 == nil || r1.Licenses != 2 || r1.Active != 3 || r1.ByStatus["suspended"] != 1 {
		t.Errorf("reseller r1: %+v", r1)
	}
	// Narrowed to one tenant, and as of the sequence before the second suspension.
	if s := summary(c.token, `{"tenantId":"r2a"}`); s.Total.Licenses != 1 || s.Total.ByStatus["suspended"] != 1 {
		t.Errorf("tenant r2a: %+v", s.Total)
	}
	then := summary(c.token, fmt.Sprintf(`{"asOf":"%d"}`, before))
	if then.Total.ByStatus["suspended"] != 1 || then.ByTenant["r2a"].ByStatus["active"] != 1 {
		t.Errorf("as of %d: %+v", before, then.Total)
	}
	if _, f := c.Query(t.Context(), Request{Name: "usage.summary", Body: []byte(`{"planId":"no such!"}`), Token: c.token}); f == nil || f.Err.Field != "planId" {
		t.Errorf("a malformed planId: %+v", f)
	}
}
