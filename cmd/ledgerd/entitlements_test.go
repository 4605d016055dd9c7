package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestEntitlements: a license has its plan's entitlements and its own; an upgrade and a downgrade
// change what comes from the plan; license.validate with entitlements answers
// ENTITLEMENTS_MISSING naming what is lacking; details, the views and license files show them;
// another product's entitlement and an unknown one are refused and append nothing.
func TestEntitlements(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	lic := setupLicense(t, admin, "en", 3) // plan "enplan" (tier 1) of product "enp"
	must := func(name string, body map[string]any) json.RawMessage {
		t.Helper()
		r, err := admin.Command(ctx, name, body, "")
		if err != nil {
			t.Fatalf("%s %v: %v", name, body, err)
		}
		return r.Result
	}
	must("product.create", map[string]any{"id": "other", "name": "Other"})
	must("entitlement.create", map[string]any{"code": "sso", "name": "Single sign-on", "productId": "enp"})
	must("entitlement.create", map[string]any{"code": "audit-log", "name": "Audit log"})
	must("entitlement.create", map[string]any{"code": "theirs", "name": "Other's", "productId": "other"})
	must("plan.create", map[string]any{"id": "enpro", "productId": "enp", "name": "Pro", "tier": 2, "seats": 10, "entitlements": []string{"sso", "audit-log"}})
	must("plan.attach-entitlements", map[string]any{"planId": "enplan", "codes": []string{"audit-log"}})
	must("license.attach-entitlements", map[string]any{"licenseId": lic, "codes": []string{"sso"}})

	r, err := admin.Command(ctx, "license.rotate-key", map[string]any{"licenseId": lic}, "")
	if err != nil {
		t.Fatal(err)
	}
	var rotated struct{ Key string }
	json.Unmarshal(r.Result, &rotated)
	anon := client.New(connect(t, nc.ConnectedUrl(), ""), "")
	validate := func(want ...string) (valid bool, code string, has, missing []string) {
		t.Helper()
		body := map[string]any{"key": rotated.Key}
		if want != nil {
			body["entitlements"] = want
		}
		raw, err := anon.Query(ctx, "license.validate", body)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Valid   bool
			Code    string
			Missing []string
			License struct{ Entitlements []string }
		}
		json.Unmarshal(raw, &v)
		return v.Valid, v.Code, v.License.Entitlements, v.Missing
	}
	if ok, code, has, _ := validate("sso", "audit-log"); !ok || code != "VALID" || !slices.Equal(has, []string{"audit-log", "sso"}) {
		t.Fatalf("plan's audit-log and own sso: %v %s %v", ok, code, has)
	}
	// The license's own sso goes; the plan's audit-log stays.
	must("license.detach-entitlements", map[string]any{"licenseId": lic, "codes": []string{"sso"}})
	if ok, code, _, missing := validate("sso", "audit-log"); ok || code != "ENTITLEMENTS_MISSING" || !slices.Equal(missing, []string{"sso"}) {
		t.Fatalf("after detaching sso: %v %s missing %v", ok, code, missing)
	}
	// An upgrade brings the Pro plan's; a downgrade takes them away again.
	must("license.upgrade", map[string]any{"licenseId": lic, "planId": "enpro"})
	if ok, _, has, _ := validate("sso"); !ok || !slices.Equal(has, []string{"audit-log", "sso"}) {
		t.Fatalf("after the upgrade: %v %v", ok, has)
	}
	must("plan.detach-entitlements", map[string]any{"planId": "enplan", "codes": []string{"audit-log"}})
	must("license.downgrade", map[string]any{"licenseId": lic, "planId": "enplan"})
	if ok, _, has, missing := validate("sso", "audit-log"); ok || len(has) != 0 || !slices.Equal(missing, []string{"sso", "audit-log"}) {
		t.Fatalf("after the downgrade to a plan without any: %v has %v missing %v", ok, has, missing)
	}
	if ok, code, _, _ := validate(); !ok || code != "VALID" {
		t.Fatalf("asking for none: %v %s", ok, code)
	}

	// Details (standard level), license files and the views show them.
	must("license.attach-entitlements", map[string]any{"licenseId": lic, "codes": []string{"sso"}})
	raw, err := admin.Query(ctx, "license.details", map[string]any{"resellerId": "enr", "format": "standard"})
	if err != nil {
		t.Fatal(err)
	}
	var details struct {
		Items []struct{ Entitlements []string }
	}
	if json.Unmarshal(raw, &details); len(details.Items) != 1 || !slices.Equal(details.Items[0].Entitlements, []string{"sso"}) {
		t.Fatalf("details: %s", raw)
	}
	var file struct {
		License struct{ Entitlements []string }
	}
	if json.Unmarshal(must("license.checkout", map[string]any{"licenseId": lic}), &file); !slices.Equal(file.License.Entitlements, []string{"sso"}) {
		t.Fatalf("license file entitlements %v", file.License.Entitlements)
	}

	// Refusals append nothing.
	before := lastSequence(t, admin, ctx)
	for _, c := range []struct {
		name string
		body map[string]any
		code string
	}{
		{"license.attach-entitlements", map[string]any{"licenseId": lic, "codes": []string{"theirs"}}, "ENTITLEMENT_OF_ANOTHER_PRODUCT"},
		{"license.attach-entitlements", map[string]any{"licenseId": lic, "codes": []string{"nope"}}, "ENTITLEMENT_NOT_FOUND"},
		{"plan.attach-entitlements", map[string]any{"planId": "enplan", "codes": []string{"sso", "sso"}}, "INVALID_ARGUMENT"},
		{"plan.create", map[string]any{"id": "bad", "productId": "enp", "name": "B", "seats": 1, "entitlements": []string{"theirs"}}, "ENTITLEMENT_OF_ANOTHER_PRODUCT"},
		{"entitlement.create", map[string]any{"code": "sso", "name": "again"}, "ALREADY_EXISTS"},
	} {
		_, err := admin.Command(ctx, c.name, c.body, "")
		if ce, ok := err.(*client.Error); !ok || ce.Code != c.code {
			t.Errorf("%s %v: %v, want %s", c.name, c.body, err, c.code)
		}
	}
	if after := lastSequence(t, admin, ctx); after != before+1 { // lastSequence appends its marker
		t.Fatalf("refusals appended %d events", after-before-1)
	}
}
