package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestAdminQueries: APIO's "Retrieve Reseller Admins list" and "Retrieve a Reseller Admin" over
// NATS, with the seed's authorization rights: a system admin sees all, a reseller admin its
// reseller's admins, a tenant admin its reseller's admins linked to its tenant. GET answers every
// attribute the seed marks always or conditional, and never the password.
func TestAdminQueries(t *testing.T) {
	nc, sys := startAsAdmin(t)
	ctx := context.Background()
	setupLicense(t, sys, "q", 1) // reseller "qr", tenant "qt"
	setupLicense(t, sys, "w", 1) // reseller "wr"
	if _, err := sys.Command(ctx, "tenant.create", map[string]any{"id": "qt2", "resellerId": "qr", "name": "Other"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range []map[string]any{
		{"resellerId": "qr", "username": "ra", "userProfileType": "reseller-admin", "firstName": "Rae", "lastName": "Admin",
			"emailAddress": "rae@example.com", "language": "French", "role": "billing", "password": "Secret12"},
		{"resellerId": "qr", "username": "ta1", "userProfileType": "tenant-admin", "tenantId": "qt"},
		{"resellerId": "qr", "username": "ta2", "userProfileType": "tenant-admin", "tenantId": "qt2"},
		{"resellerId": "wr", "username": "rb", "userProfileType": "reseller-admin"},
	} {
		if _, err := sys.Command(ctx, "admin.create", a, ""); err != nil {
			t.Fatalf("admin.create %v: %v", a["username"], err)
		}
	}
	as := func(role string, scope map[string]any) *client.Client {
		_, token := issueCredential(t, sys, map[string]any{"role": role, "scope": scope})
		return client.New(nc, token)
	}
	reseller := as("reseller-admin", map[string]any{"resellerId": "qr", "userId": "ra"})
	tenant := as("tenant-admin", map[string]any{"resellerId": "qr", "tenantId": "qt", "userId": "ta1"})
	list := func(c *client.Client, filter map[string]any) []string {
		t.Helper()
		raw, err := c.Query(ctx, "admin.list", filter)
		if err != nil {
			t.Fatalf("admin.list %v: %v", filter, err)
		}
		var page struct{ Items []struct{ Username string } }
		json.Unmarshal(raw, &page)
		var names []string
		for _, it := range page.Items {
			names = append(names, it.Username)
		}
		return names
	}
	for _, c := range []struct {
		who    string
		client *client.Client
		filter map[string]any
		want   []string
	}{
		{"the system admin", sys, map[string]any{}, []string{"ra", "rb", "ta1", "ta2"}},
		{"the system admin, one reseller", sys, map[string]any{"resellerId": "wr"}, []string{"rb"}},
		{"the system admin, tenant admins", sys, map[string]any{"userProfileType": "tenant-admin"}, []string{"ta1", "ta2"}},
		{"a reseller admin", reseller, map[string]any{}, []string{"ra", "ta1", "ta2"}},
		{"a reseller admin, by tenant", reseller, map[string]any{"tenantId": "qt2"}, []string{"ta2"}},
		{"a reseller admin, asking for another reseller", reseller, map[string]any{"resellerId": "wr"}, nil},
		{"a tenant admin", tenant, map[string]any{}, []string{"ta1"}},
	} {
		if got := list(c.client, c.filter); !slices.Equal(got, c.want) {
			t.Errorf("%s lists %v; want %v", c.who, got, c.want)
		}
	}
	if got := list(sys, map[string]any{"limit": 3}); len(got) != 3 {
		t.Errorf("a page of 3: %v", got)
	}

	raw, err := reseller.Query(ctx, "admin.get", map[string]any{"username": "ra"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(raw, &got)
	want := map[string]any{"username": "ra", "userProfileType": "reseller-admin", "firstName": "Rae", "lastName": "Admin",
		"emailAddress": "rae@example.com", "language": "French", "language_code": "fr", "accessType": 1.0, "userLevel": 16.0,
		"readOnly": false, "resellerId": "qr", "role": "billing", "hasPassword": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("admin.get %s = %v; want %v (%s)", k, got[k], v, raw)
		}
	}
	if _, ok := got["password"]; ok {
		t.Errorf("admin.get shows a password: %s", raw)
	}
	raw, _ = sys.Query(ctx, "admin.get", map[string]any{"username": "ta1"})
	if json.Unmarshal(raw, &got); got["tenantId"] != "qt" || got["userLevel"] != 12.0 {
		t.Errorf("a tenant admin's GET: %s", raw)
	}
	// Outside the caller's reach an admin does not exist; bad filters name their field.
	for _, c := range []struct {
		client   *client.Client
		username string
	}{{tenant, "ra"}, {tenant, "ta2"}, {reseller, "rb"}, {sys, "nobody"}} {
		_, err := c.client.Query(ctx, "admin.get", map[string]any{"username": c.username})
		wantCode(t, err, 404, "ADMIN_NOT_FOUND")
	}
	_, err = sys.Query(ctx, "admin.list", map[string]any{"userProfileType": "emperor"})
	if e := wantCode(t, err, 400, "INVALID_ARGUMENT"); e.Field != "userProfileType" {
		t.Errorf("a bad profile type names %q", e.Field)
	}
	// A client role may not retrieve admins at all.
	_, err = as("client-all", map[string]any{"resellerId": "qr", "tenantId": "qt"}).Query(ctx, "admin.list", map[string]any{})
	wantCode(t, err, 403, "FORBIDDEN")
	// A deleted admin leaves the list.
	if _, err := sys.Command(ctx, "admin.delete", map[string]any{"username": "ta2"}, ""); err != nil {
		t.Fatal(err)
	}
	if got := list(reseller, map[string]any{}); !slices.Equal(got, []string{"ra", "ta1"}) {
		t.Errorf("after deleting ta2: %v", got)
	}
}
