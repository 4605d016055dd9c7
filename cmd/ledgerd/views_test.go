package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestViewLevelsOverNATS: a credential's access map caps what its queries show, `format` asks
// for a level, and asking above the grant is 403.
func TestViewLevelsOverNATS(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	lic := setupLicense(t, admin, "v", 5)
	if _, err := admin.Command(ctx, "seat.register", seat(lic, "ann"), ""); err != nil {
		t.Fatal(err)
	}
	credID, token := issueCredential(t, admin, map[string]any{"role": "support-agent"})
	if _, err := admin.Command(ctx, "credential.set-access", map[string]any{"credentialId": credID,
		"access": map[string]string{"licenses": "basic", "credentials": "none"}}, ""); err != nil {
		t.Fatal(err)
	}
	agent := client.New(nc, token)

	firstItem := func(c *client.Client, body map[string]any) map[string]any {
		t.Helper()
		res, err := c.Query(ctx, "license.details", body)
		if err != nil {
			t.Fatalf("license.details %v: %v", body, err)
		}
		var page struct{ Items []map[string]any }
		if json.Unmarshal(res, &page) != nil || len(page.Items) != 1 {
			t.Fatalf("license.details: %s", res)
		}
		return page.Items[0]
	}
	// The grant caps the default: basic fields only, no quota, no users.
	basic := firstItem(agent, map[string]any{})
	if basic["licenseId"] != lic || basic["status"] != "active" || basic["quota"] != nil || basic["users"] != nil || basic["tenantId"] != nil {
		t.Fatalf("basic view: %v", basic)
	}
	_, err := agent.Query(ctx, "license.details", map[string]any{"format": "standard"})
	if e := wantCode(t, err, 403, "FORBIDDEN"); e.Field != "format" {
		t.Fatalf("format above the grant names %q", e.Field)
	}
	_, err = agent.Query(ctx, "credential.list", map[string]any{})
	wantCode(t, err, 403, "FORBIDDEN")
	if _, err := agent.Query(ctx, "usage.quota", map[string]any{"licenseId": lic}); err != nil {
		t.Fatalf("usage.quota with a basic grant: %v", err)
	}

	// No grant recorded: detail by default (with the seat), expanded when asked.
	detail := firstItem(admin, map[string]any{})
	if users, _ := detail["users"].([]any); len(users) != 1 || detail["quota"] == nil {
		t.Fatalf("detail view: %v", detail)
	}
	expanded := firstItem(admin, map[string]any{"format": "expanded"})
	if st, _ := expanded["status"].(map[string]any); st["code"] != "active" || st["displayAs"] != "Active" {
		t.Fatalf("expanded status: %v", expanded["status"])
	}
	_, err = admin.Query(ctx, "license.details", map[string]any{"format": "everything"})
	wantCode(t, err, 400, "INVALID_ARGUMENT")
}

// TestEveryResourceHasItsViewOverNATS: the ERP seed's access levels apply "for each API resource":
// every resource with a query has its view table and its cap, set-access takes exactly those
// resources, and expanded breaks out every key/value element, references shown as
// "<code> - <name>" (the seed's "01 - John Smith").
func TestEveryResourceHasItsViewOverNATS(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	lic := setupLicense(t, admin, "x", 5) // reseller "xr" ("Reseller x"), tenant "xt" ("Acme"), product "xp", plan "xplan"
	if _, err := admin.Command(ctx, "admin.create", map[string]any{"resellerId": "xr", "username": "xa", "userProfileType": "tenant-admin",
		"tenantId": "xt", "firstName": "John", "lastName": "Smith"}, ""); err != nil {
		t.Fatal(err)
	}
	one := func(c *client.Client, name string, body map[string]any) (map[string]any, error) {
		t.Helper()
		raw, err := c.Query(ctx, name, body)
		if err != nil {
			return nil, err
		}
		var item map[string]any
		var page struct{ Items []map[string]any }
		if json.Unmarshal(raw, &page); page.Items != nil {
			if len(page.Items) == 0 {
				t.Fatalf("%s %v: an empty page", name, body)
			}
			return page.Items[0], nil
		}
		json.Unmarshal(raw, &item)
		return item, nil
	}
	codeOf := func(v any) (code, displayAs string) {
		m, _ := v.(map[string]any)
		c, _ := m["code"].(string)
		d, _ := m["displayAs"].(string)
		return c, d
	}
	expanded := map[string]any{"format": "expanded"}
	for _, c := range []struct {
		query       string
		body        map[string]any
		field, code string
		displayAs   string
	}{
		{"license.details", map[string]any{}, "resellerId", "xr", "xr - Reseller x"},
		{"license.details", map[string]any{}, "tenantId", "xt", "xt - Acme"},
		{"license.details", map[string]any{}, "productId", "xp", "xp - Product"},
		{"license.details", map[string]any{}, "planId", "xplan", "xplan - Plan"},
		{"tenant.get", map[string]any{"tenantId": "xt"}, "resellerId", "xr", "xr - Reseller x"},
		{"admin.get", map[string]any{"username": "xa"}, "tenantId", "xt", "xt - Acme"},
		{"admin.get", map[string]any{"username": "xa"}, "userProfileType", "tenant-admin", "Tenant admin"},
		{"plan.list", map[string]any{"productId": "xp"}, "productId", "xp", "xp - Product"},
	} {
		body := map[string]any{"format": "expanded"}
		for k, v := range c.body {
			body[k] = v
		}
		item, err := one(admin, c.query, body)
		if err != nil {
			t.Fatalf("%s expanded: %v", c.query, err)
		}
		if code, d := codeOf(item[c.field]); code != c.code || d != c.displayAs {
			t.Errorf("%s expanded %s: %v; want {%s, %s}", c.query, c.field, item[c.field], c.code, c.displayAs)
		}
	}
	// A credential's scope is broken out too, the admin it acts for by name.
	id, _ := issueCredential(t, admin, map[string]any{"role": "tenant-admin", "scope": map[string]any{"resellerId": "xr", "tenantId": "xt", "userId": "xa"}})
	cred, err := one(admin, "credential.get", map[string]any{"credentialId": id, "format": "expanded"})
	if err != nil {
		t.Fatal(err)
	}
	scope, _ := cred["scope"].(map[string]any)
	if code, d := codeOf(scope["userId"]); code != "xa" || d != "xa - John Smith" {
		t.Errorf("expanded scope.userId: %v", scope["userId"])
	}
	if _, err := one(admin, "product.list", expanded); err != nil {
		t.Fatal(err)
	}

	// Each resource has its own cap: none refuses its queries, basic cuts its fields.
	capID, token := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "xr"}})
	if _, err := admin.Command(ctx, "credential.set-access", map[string]any{"credentialId": capID, "access": map[string]string{
		"customers": "basic", "admins": "none", "products": "none", "plans": "basic", "usage": "none"}}, ""); err != nil {
		t.Fatal(err)
	}
	capped := client.New(nc, token)
	if item, err := one(capped, "tenant.get", map[string]any{"tenantId": "xt"}); err != nil || item["resellerId"] != nil || item["name"] != "Acme" {
		t.Errorf("tenant.get at basic: %v %v", item, err)
	}
	if item, err := one(capped, "plan.list", map[string]any{}); err != nil || item["seats"] != nil || item["tier"] == nil {
		t.Errorf("plan.list at basic: %v %v", item, err)
	}
	for _, q := range []struct {
		name string
		body map[string]any
	}{{"admin.get", map[string]any{"username": "xa"}}, {"admin.list", map[string]any{}}, {"product.list", map[string]any{}},
		{"usage.quota", map[string]any{"licenseId": lic}}, {"usage.summary", map[string]any{}}, {"dashboard.show", map[string]any{}}, {"dashboard.history", map[string]any{}},
		{"tenant.list", map[string]any{"format": "standard"}}} {
		_, err := capped.Query(ctx, q.name, q.body)
		wantCode(t, err, 403, "FORBIDDEN")
	}
	// set-access takes exactly the resources with a view.
	_, err = admin.Command(ctx, "credential.set-access", map[string]any{"credentialId": capID, "access": map[string]string{"stocklevels": "basic"}}, "")
	if e := wantCode(t, err, 400, "INVALID_ARGUMENT"); e.Field != "access.stocklevels" {
		t.Errorf("an unknown resource names %q", e.Field)
	}
}
