package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/licledger/licledger/client"
)

// demoStep is one command of the demo's script.
type demoStep struct {
	name string
	body map[string]any
}

// demoScript is a small partner business: a reseller with two customers, a product on two
// plans, four licenses in different states, end users on seats (one customer at its quota),
// machines, a note and a tenant admin, so that every query and usage figure shows something.
func demoScript() []demoStep {
	seat := func(lic, company, user string) demoStep {
		return demoStep{"seat.register", map[string]any{"licenseId": lic, "endUserCompany": company, "endUserName": user}}
	}
	steps := []demoStep{
		{"reseller.create", map[string]any{"id": "demo-partners", "name": "Demo Partners Ltd"}},
		{"tenant.create", map[string]any{"id": "demo-globex", "resellerId": "demo-partners", "name": "Globex Corp"}},
		{"tenant.create", map[string]any{"id": "demo-initech", "resellerId": "demo-partners", "name": "Initech"}},
		{"product.create", map[string]any{"id": "demo-sync", "name": "DBSync Cloud"}},
		{"plan.create", map[string]any{"id": "demo-sync-5", "productId": "demo-sync", "name": "Team (5 seats)", "tier": 1, "seats": 5, "machines": 3, "durationDays": 365}},
		{"plan.create", map[string]any{"id": "demo-sync-25", "productId": "demo-sync", "name": "Business (25 seats)", "tier": 2, "seats": 25, "machines": 10, "durationDays": 365}},
		{"license.create", map[string]any{"id": "demo-globex-1", "resellerId": "demo-partners", "tenantId": "demo-globex", "planId": "demo-sync-5"}},
		{"license.create", map[string]any{"id": "demo-globex-2", "resellerId": "demo-partners", "tenantId": "demo-globex", "planId": "demo-sync-5"}},
		{"license.create", map[string]any{"id": "demo-initech-1", "resellerId": "demo-partners", "tenantId": "demo-initech", "planId": "demo-sync-5"}},
		{"license.create", map[string]any{"id": "demo-initech-2", "resellerId": "demo-partners", "tenantId": "demo-initech", "planId": "demo-sync-5", "protected": true}},
		{"license.upgrade", map[string]any{"licenseId": "demo-globex-2", "planId": "demo-sync-25"}},
		{"license.suspend", map[string]any{"licenseId": "demo-initech-2", "reason": "invoice overdue"}},
		{"license.note", map[string]any{"licenseId": "demo-globex-1", "note": "renewal call booked"}},
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		steps = append(steps, seat("demo-globex-1", "Globex Corp", u)) // at its quota of 5
	}
	for _, u := range []string{"frank", "grace", "heidi"} {
		steps = append(steps, seat("demo-globex-2", "Globex Corp", u))
	}
	steps = append(steps, seat("demo-initech-1", "Initech", "peter"), seat("demo-initech-1", "Initech", "milton"),
		demoStep{"seat.unregister", map[string]any{"licenseId": "demo-initech-1", "endUserCompany": "Initech", "endUserName": "milton"}},
		demoStep{"machine.activate", map[string]any{"licenseId": "demo-globex-1", "fingerprint": "demo-laptop-alice", "name": "Alice's laptop"}},
		demoStep{"machine.activate", map[string]any{"licenseId": "demo-globex-1", "fingerprint": "demo-build-server", "name": "Build server"}},
		demoStep{"machine.activate", map[string]any{"licenseId": "demo-initech-1", "fingerprint": "demo-peter-desktop"}},
		demoStep{"admin.create", map[string]any{"resellerId": "demo-partners", "tenantId": "demo-globex", "username": "demo-globex-admin",
			"userProfileType": "tenant-admin", "firstName": "Grace", "lastName": "Hopper"}},
	)
	return steps
}

// runDemo is `ledgerctl demo`: it seeds a running ledger with the demo script. Each step has a
// fixed command id, so running it again changes nothing and says so.
func runDemo(ctx context.Context, g global, stdout io.Writer) error {
	if g.token == "" {
		return needsToken("demo (an admin's)")
	}
	nc, err := g.connect("ledgerctl-demo")
	if err != nil {
		return fmt.Errorf("connect %s: %w", g.natsURL, err)
	}
	defer nc.Close()
	c := client.New(nc, g.token)
	// The log's head before the demo: a step whose reply names events at or below it was applied
	// by an earlier run (its command id returns the first reply), not by this one.
	raw, err := c.Request(ctx, c.Subject("q", "role.show"), map[string]any{"role": "admin"}, "")
	if err != nil {
		return err
	}
	var head struct{ Sequence uint64 }
	if err := json.Unmarshal(raw, &head); err != nil {
		return err
	}
	steps := demoScript()
	made := map[string]int{}
	var events int
	for i, s := range steps {
		r, err := c.Command(ctx, s.name, s.body, fmt.Sprintf("ledgerctl-demo-v1-%02d", i))
		if err != nil {
			return fmt.Errorf("demo step %d (%s): %w", i+1, s.name, err)
		}
		if len(r.Events) > 0 && r.Events[0].Sequence > head.Sequence {
			made[s.name]++
			events += len(r.Events)
		}
	}
	if events == 0 {
		fmt.Fprintln(stdout, "demo: already there: this ledger has the demo's data, and nothing changed. Try:")
	} else {
		var parts []string
		for _, k := range []struct{ name, one, many string }{
			{"reseller.create", "reseller", "resellers"}, {"tenant.create", "customer", "customers"},
			{"product.create", "product", "products"}, {"plan.create", "plan", "plans"},
			{"license.create", "license", "licenses"}, {"seat.register", "seat registration", "seat registrations"},
			{"machine.activate", "machine", "machines"}, {"admin.create", "tenant admin", "tenant admins"},
		} {
			switch n := made[k.name]; n {
			case 0:
			case 1:
				parts = append(parts, "1 "+k.one)
			default:
				parts = append(parts, fmt.Sprintf("%d %s", n, k.many))
			}
		}
		fmt.Fprintf(stdout, "demo: created %s under reseller demo-partners, and changed some licenses' state (%d events). Try:\n",
			strings.Join(parts, ", "), events)
	}
	fmt.Fprintln(stdout, "  ledgerctl --output table license details --reseller demo-partners")
	fmt.Fprintln(stdout, "  ledgerctl usage quota --reseller demo-partners")
	fmt.Fprintln(stdout, "  ledgerctl seat register --license demo-globex-1 --company \"Globex Corp\" --user frank   (QUOTA_EXCEEDED)")
	return nil
}
