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
