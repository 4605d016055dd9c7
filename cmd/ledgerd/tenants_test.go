package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestCustomerSearch: tenant.list pages in id order with a cursor, filters by reseller and by a
// part of the name ignoring case, and shows a reseller's credential only its own customers;
// tenant.get answers a customer outside the scope as one that does not exist; a client role may
// not search customers at all.
func TestCustomerSearch(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	for _, r := range []string{"cs-a", "cs-b"} {
		if _, err := admin.Command(ctx, "reseller.create", map[string]any{"id": r, "name": r}, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			name := fmt.Sprintf("Globex %s %d", r, i)
			if i%2 == 1 {
				name = fmt.Sprintf("Initech %s %d", r, i)
			}
			if _, err := admin.Command(ctx, "tenant.create", map[string]any{"id": fmt.Sprintf("%s-t%d", r, i), "resellerId": r, "name": name}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func(c *client.Client, body map[string]any) (ids []string, next string) {
		t.Helper()
		raw, err := c.Query(ctx, "tenant.list", body)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Items []struct{ TenantID string }
			Next  string
		}
		json.Unmarshal(raw, &p)
		for _, it := range p.Items {
			ids = append(ids, it.TenantID)
		}
		return ids, p.Next
	}
	// Paging over everything, in id order.
	var all []string
	for after := ""; ; {
		ids, next := list(admin, map[string]any{"limit": 3, "after": after})
		all = append(all, ids...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 10 || all[0] != "cs-a-t0" || all[9] != "cs-b-t4" {
		t.Fatalf("all pages: %v", all)
	}
	if ids, _ := list(admin, map[string]any{"resellerId": "cs-b", "name": "INITECH"}); fmt.Sprint(ids) != "[cs-b-t1 cs-b-t3]" {
		t.Fatalf("cs-b's Initechs: %v", ids)
	}
	// A reseller's credential sees its own customers only.
	_, tok := issueCredential(t, admin, map[string]any{"role": "reseller-limited", "scope": map[string]any{"resellerId": "cs-a"}})
	reseller := client.New(connect(t, nc.ConnectedUrl(), tok), tok)
	if ids, _ := list(reseller, map[string]any{}); len(ids) != 5 || ids[0] != "cs-a-t0" {
		t.Fatalf("cs-a's credential lists %v", ids)
	}
	if _, err := reseller.Query(ctx, "tenant.get", map[string]any{"tenantId": "cs-b-t0"}); err == nil {
		t.Fatal("cs-a's credential reads cs-b's customer")
	} else {
		wantCode(t, err, 404, "TENANT_NOT_FOUND")
	}
	raw, err := reseller.Query(ctx, "tenant.get", map[string]any{"tenantId": "cs-a-t1"})
	var got struct{ TenantID, ResellerID, Name string }
	if err != nil || json.Unmarshal(raw, &got) != nil || got.Name != "Initech cs-a 1" || got.ResellerID != "cs-a" {
		t.Fatalf("tenant.get: %v %s", err, raw)
	}
	// A client role does not search customers.
	_, ctok := issueCredential(t, admin, map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "cs-a", "tenantId": "cs-a-t0"}})
	_, err = client.New(connect(t, nc.ConnectedUrl(), ctok), ctok).Query(ctx, "tenant.list", map[string]any{})
	wantCode(t, err, 403, "FORBIDDEN")
}
