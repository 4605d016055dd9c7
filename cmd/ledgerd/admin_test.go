package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
)

// TestAdmins: APIO's reseller admins over NATS, with the attribute rules per method, the password
// rule, and CANNOT_DELETE_YOURSELF for a principal acting as an admin.
func TestAdmins(t *testing.T) {
	nc, c := startAsAdmin(t)
	ctx := context.Background()
	setupLicense(t, c, "a", 1) // reseller "ar", tenant "at"

	r, err := c.Command(ctx, "admin.create", map[string]any{"resellerId": "ar", "username": "boss", "userProfileType": "reseller-admin",
		"firstName": "Bo", "password": "Secret12"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(r.Raw, []byte("Secret12")) || !bytes.Contains(r.Raw, []byte(`"hasPassword":true`)) {
		t.Fatalf("admin.create reply: %s", r.Raw)
	}
	if _, err := c.Command(ctx, "admin.create", map[string]any{"resellerId": "ar", "username": "tina", "userProfileType": "tenant-admin", "tenantId": "at"}, ""); err != nil {
		t.Fatal(err)
	}
	e := wantCode(t, func() error {
		_, err := c.Command(ctx, "admin.create", map[string]any{"resellerId": "ar", "username": "weak", "userProfileType": "reseller-admin", "password": "short"}, "")
		return err
	}(), 400, "INVALID_ARGUMENT")
	if e.Field != "password" {
		t.Fatalf("weak password names %q", e.Field)
	}
	e = wantCode(t, func() error {
		_, err := c.Command(ctx, "admin.create", map[string]any{"resellerId": "ar", "username": "tim", "userProfileType": "tenant-admin"}, "")
		return err
	}(), 400, "INVALID_ARGUMENT")
	if e.Field != "tenantId" {
		t.Fatalf("missing tenant names %q", e.Field)
	}
	e = wantCode(t, func() error {
		_, err := c.Command(ctx, "admin.update", map[string]any{"username": "boss", "readOnly": true}, "")
		return err
	}(), 400, "FIELD_NOT_ALLOWED")
	if e.Field != "readOnly" {
		t.Fatalf("read-only field names %q", e.Field)
	}
	r, err = c.Command(ctx, "admin.update", map[string]any{"username": "boss", "lastName": "Hello", "language": "French"}, "")
	if err != nil || !bytes.Contains(r.Raw, []byte(`"lastName":"Hello"`)) {
		t.Fatalf("admin.update: %v %s", err, r.Raw)
	}

	// A credential acting for boss cannot delete boss, but can delete tina.
	issued, err := c.Command(ctx, "credential.issue", map[string]any{"role": "reseller-admin", "scope": map[string]string{"resellerId": "ar", "userId": "boss"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var cred struct{ Token string }
	json.Unmarshal(issued.Result, &cred)
	asBoss := client.New(nc, cred.Token)
	_, err = asBoss.Command(ctx, "admin.delete", map[string]any{"username": "boss"}, "")
	wantCode(t, err, 400, "CANNOT_DELETE_YOURSELF")
	if _, err := asBoss.Command(ctx, "admin.delete", map[string]any{"username": "tina"}, ""); err != nil {
		t.Fatal(err)
	}
	_, err = c.Command(ctx, "admin.update", map[string]any{"username": "tina", "firstName": "T"}, "")
	wantCode(t, err, 404, "ADMIN_NOT_FOUND")

	// Neither the password nor the token was published.
	js, _ := jetstream.New(nc)
	waitStreamAt(t, js, issued.Events[0].Sequence)
	msgs := readStream(t, js)
	validateEvents(t, msgs)
	for _, m := range msgs {
		if bytes.Contains(m.data, []byte("Secret12")) || bytes.Contains(m.data, []byte(cred.Token)) {
			t.Fatalf("a secret was published in event %d", m.seq)
		}
	}
}

// TestCredentialLifecycle: a token stops working at once when its credential is disabled,
// rotated or revoked, and a revoked credential never comes back.
func TestCredentialLifecycle(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	lic := setupLicense(t, admin, "c", 1)
	var cred struct{ ID, Token string }
	cred.ID, cred.Token = issueCredential(t, admin, map[string]any{"role": "support-agent", "description": "helpdesk"})
	works := func(token string) error {
		_, err := client.New(nc, token).Query(ctx, "usage.quota", map[string]string{"licenseId": lic})
		return err
	}
	change := func(name string) *client.CommandReply {
		t.Helper()
		r, err := admin.Command(ctx, name, map[string]string{"credentialId": cred.ID}, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	if err := works(cred.Token); err != nil {
		t.Fatal(err)
	}
	change("credential.disable")
	wantCode(t, works(cred.Token), 401, "UNAUTHENTICATED")
	change("credential.enable")
	if err := works(cred.Token); err != nil {
		t.Fatalf("after enable: %v", err)
	}
	var rotated struct{ Token string }
	json.Unmarshal(change("credential.rotate").Result, &rotated)
	wantCode(t, works(cred.Token), 401, "UNAUTHENTICATED")
	if err := works(rotated.Token); err != nil {
		t.Fatalf("new token: %v", err)
	}
	r, err := admin.Command(ctx, "credential.set-access", map[string]any{"credentialId": cred.ID, "access": map[string]string{"licenses": "detail"}}, "")
	if err != nil || !bytes.Contains(r.Raw, []byte(`"licenses":"detail"`)) {
		t.Fatalf("set-access: %v %s", err, r.Raw)
	}
	// The ERP's API user list: last login (kept in memory) and last rotation.
	raw, err := admin.Query(ctx, "credential.get", map[string]string{"credentialId": cred.ID})
	if err != nil {
		t.Fatal(err)
	}
	var view struct {
		Description string
		Enabled     bool
		LastLoginAt *time.Time
		RotatedAt   *time.Time
	}
	if json.Unmarshal(raw, &view); view.LastLoginAt == nil || view.RotatedAt == nil || view.Description != "helpdesk" || !view.Enabled {
		t.Fatalf("credential.get: %s", raw)
	}
	if _, err := admin.Query(ctx, "credential.get", map[string]string{"credentialId": "nope"}); err == nil {
		t.Fatal("credential.get of an unknown id")
	}
	raw, err = admin.Query(ctx, "credential.list", map[string]any{"limit": 1})
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Items []struct{ ID string }
		Next  string
	}
	if json.Unmarshal(raw, &page); len(page.Items) != 1 || page.Next == "" {
		t.Fatalf("credential.list page: %s", raw)
	}
	change("credential.revoke")
	wantCode(t, works(rotated.Token), 401, "UNAUTHENTICATED")
	_, err = admin.Command(ctx, "credential.enable", map[string]string{"credentialId": cred.ID}, "")
	wantCode(t, err, 422, "CREDENTIAL_REVOKED")

	// Filters: by role and by status; an unknown role or status is refused, naming the field.
	ids := func(filter map[string]any) []string {
		t.Helper()
		raw, err := admin.Query(ctx, "credential.list", filter)
		if err != nil {
			t.Fatalf("credential.list %v: %v", filter, err)
		}
		var page struct{ Items []struct{ ID string } }
		json.Unmarshal(raw, &page)
		var out []string
		for _, it := range page.Items {
			out = append(out, it.ID)
		}
		return out
	}
	if got := ids(map[string]any{"status": "revoked"}); len(got) != 1 || got[0] != cred.ID {
		t.Errorf("revoked credentials: %v; want [%s]", got, cred.ID)
	}
	if got := ids(map[string]any{"role": "support-agent", "status": "enabled"}); len(got) != 0 {
		t.Errorf("enabled support agents: %v; want none (the only one is revoked)", got)
	}
	if got := ids(map[string]any{"role": "system-admin", "status": "enabled"}); len(got) != 1 || got[0] == cred.ID {
		t.Errorf("enabled system admins: %v; want the bootstrap credential", got)
	}
	_, err = admin.Query(ctx, "credential.list", map[string]any{"status": "asleep"})
	if e := wantCode(t, err, 400, "INVALID_ARGUMENT"); e.Field != "status" {
		t.Errorf("a bad status names %q", e.Field)
	}
	_, err = admin.Query(ctx, "credential.list", map[string]any{"role": "emperor"})
	if e := wantCode(t, err, 404, "ROLE_NOT_FOUND"); e.Field != "role" {
		t.Errorf("an unknown role names %q", e.Field)
	}

	js, _ := jetstream.New(nc)
	waitStreamAt(t, js, lastSequence(t, admin, ctx))
	seen := validateEvents(t, readStream(t, js))
	for _, typ := range []string{"credential.issued.v1", "credential.disabled.v1", "credential.enabled.v1", "credential.rotated.v1", "credential.access-set.v1", "credential.revoked.v1"} {
		if seen[typ] == 0 {
			t.Errorf("no %s event was published", typ)
		}
	}
}

// TestCredentialUpdateAndDelete: the ERP's API user maintenance edits a description and deletes
// a user. A deleted credential stops working at once, leaves credential.get and credential.list,
// keeps its id, and stays in the history; refusals append nothing.
func TestCredentialUpdateAndDelete(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	setupLicense(t, admin, "u", 1) // reseller "ur"
	setupLicense(t, admin, "o", 1) // reseller "or"
	id, token := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ur"}, "description": "old"})
	get := func() (string, error) {
		raw, err := admin.Query(ctx, "credential.get", map[string]string{"credentialId": id})
		var v struct{ Description string }
		json.Unmarshal(raw, &v)
		return v.Description, err
	}
	if _, err := admin.Command(ctx, "credential.update", map[string]any{"credentialId": id, "description": "nightly billing sync"}, ""); err != nil {
		t.Fatal(err)
	}
	if d, err := get(); err != nil || d != "nightly billing sync" {
		t.Fatalf("after update: %q, %v", d, err)
	}
	if _, err := client.New(nc, token).Query(ctx, "role.show", map[string]any{"role": "developer"}); err != nil {
		t.Fatalf("an updated credential still works: %v", err)
	}

	// Refusals: nothing to change, and a weaker caller's reach. Neither appends.
	before := lastSequence(t, admin, ctx)
	_, err := admin.Command(ctx, "credential.update", map[string]any{"credentialId": id}, "")
	if e := wantCode(t, err, 400, "INVALID_ARGUMENT"); e.Field != "description" {
		t.Errorf("an empty update names %q", e.Field)
	}
	_, other := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "or"}})
	before++ // the issue above
	_, err = client.New(nc, other).Command(ctx, "credential.delete", map[string]any{"credentialId": id}, "")
	wantCode(t, err, 403, "OUT_OF_SCOPE")
	if after := lastSequence(t, admin, ctx); after != before+1 {
		t.Fatalf("refusals appended %d events", after-before-1)
	}

	r, err := admin.Command(ctx, "credential.delete", map[string]any{"credentialId": id}, "")
	if err != nil || len(r.Events) != 1 || r.Events[0].Type != "credential.deleted.v1" {
		t.Fatalf("credential.delete: %v %+v", err, r)
	}
	_, err = client.New(nc, token).Query(ctx, "role.show", map[string]any{"role": "developer"})
	wantCode(t, err, 401, "UNAUTHENTICATED")
	_, err = get()
	wantCode(t, err, 404, "CREDENTIAL_NOT_FOUND")
	raw, err := admin.Query(ctx, "credential.list", map[string]any{"resellerId": "ur"})
	if err != nil || strings.Contains(string(raw), id) {
		t.Fatalf("credential.list after delete: %s %v", raw, err)
	}
	for _, name := range []string{"credential.delete", "credential.enable"} {
		_, err = admin.Command(ctx, name, map[string]any{"credentialId": id}, "")
		wantCode(t, err, 404, "CREDENTIAL_NOT_FOUND")
	}
	_, err = admin.Command(ctx, "credential.issue", map[string]any{"id": id, "role": "developer", "scope": map[string]any{}}, "")
	wantCode(t, err, 409, "ALREADY_EXISTS")

	js, _ := jetstream.New(nc)
	waitStreamAt(t, js, lastSequence(t, admin, ctx))
	seen := validateEvents(t, readStream(t, js))
	for _, typ := range []string{"credential.updated.v1", "credential.deleted.v1"} {
		if seen[typ] != 1 {
			t.Errorf("%d %s events in the history; want 1", seen[typ], typ)
		}
	}
}

// lastSequence appends one harmless event (a product) and returns its sequence: every earlier
// event is at or below it.
func lastSequence(t *testing.T, c *client.Client, ctx context.Context) uint64 {
	t.Helper()
	r, err := c.Command(ctx, "product.create", map[string]any{"name": "marker"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return r.Events[0].Sequence
}
