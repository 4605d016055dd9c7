package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
)

// refused sends a command that must be refused with status and code, naming field (if given),
// and appending nothing.
func refused(t *testing.T, admin, c *client.Client, op string, body map[string]any, status int, code, field string) {
	t.Helper()
	ctx := context.Background()
	before := lastSequence(t, admin, ctx)
	_, err := c.Command(ctx, op, body, "")
	e := wantCode(t, err, status, code)
	if field != "" && e.Field != field {
		t.Fatalf("%s: field %q; want %q (%v)", op, e.Field, field, err)
	}
	if after := lastSequence(t, admin, ctx); after != before+1 {
		t.Fatalf("%s: refused but appended %d events", op, after-before-1)
	}
}

// TestHostilePartnerGainsNothing replays, one by one, the ways up that a hostile partner found
// (issue 24); each is now refused, or no longer reaches what it reached.
func TestHostilePartnerGainsNothing(t *testing.T) {
	nc, admin := startAsAdmin(t)
	url := nc.ConnectedUrl()
	ctx := context.Background()
	must := func(op string, body map[string]any) *client.CommandReply {
		t.Helper()
		r, err := admin.Command(ctx, op, body, "")
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return r
	}
	must("reseller.create", map[string]any{"id": "ha", "name": "A"})
	must("reseller.create", map[string]any{"id": "hb", "name": "B"})
	must("tenant.create", map[string]any{"id": "ha-t", "resellerId": "ha", "name": "A's customer"})
	must("tenant.create", map[string]any{"id": "hb-t", "resellerId": "hb", "name": "B's customer"})
	must("admin.create", map[string]any{"resellerId": "ha", "username": "ra1", "userProfileType": "reseller-admin"})
	must("admin.create", map[string]any{"resellerId": "ha", "tenantId": "ha-t", "username": "ta1", "userProfileType": "tenant-admin"})
	must("admin.create", map[string]any{"resellerId": "ha", "tenantId": "ha-t", "username": "ta2", "userProfileType": "tenant-admin"})

	t.Run("a child acting for nobody cannot delete its parent's admin", func(t *testing.T) {
		_, token := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha", "userId": "ra1"}})
		ra1 := client.New(nc, token)
		refused(t, admin, ra1, "admin.delete", map[string]any{"username": "ra1"}, 400, "CANNOT_DELETE_YOURSELF", "username")
		refused(t, admin, ra1, "credential.issue", map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha"}}, 403, "OUT_OF_SCOPE", "scope")
		_, childToken := issueCredential(t, ra1, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha", "userId": "ra1"}})
		refused(t, admin, client.New(nc, childToken), "admin.delete", map[string]any{"username": "ra1"}, 400, "CANNOT_DELETE_YOURSELF", "username")
	})

	t.Run("deleting an admin revokes its credentials and closes their connections", func(t *testing.T) {
		must("admin.create", map[string]any{"resellerId": "ha", "username": "gone", "userProfileType": "reseller-admin"})
		ids := map[string]bool{}
		id, token := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha", "userId": "gone"}})
		ids[id] = true
		childID, childToken := issueCredential(t, client.New(nc, token), map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "ha", "userId": "gone"}})
		ids[childID] = true
		bystanderID, bystanderToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha"}})
		doomed, child, bystander := connectWatched(t, url, token), connectWatched(t, url, childToken), connectWatched(t, url, bystanderToken)

		r := must("admin.delete", map[string]any{"username": "gone"})
		var types []string
		for _, e := range r.Events {
			types = append(types, e.Type)
		}
		if want := []string{"admin.deleted.v1", "credential.revoked.v1", "credential.revoked.v1"}; !slices.Equal(types, want) {
			t.Fatalf("admin.delete appended %v; want %v", types, want)
		}
		for _, w := range []*watched{doomed, child} {
			select {
			case <-w.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("a connection of a credential acting for the deleted admin is still open")
			}
		}
		for _, tok := range []string{token, childToken} {
			if _, err := client.Connect(url, tok); !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("reconnect with a revoked token: %v", err)
			}
			_, err := client.New(bystander.Conn, tok).Query(ctx, "credential.list", map[string]any{})
			wantCode(t, err, 401, "UNAUTHENTICATED")
		}
		if bystander.IsClosed() {
			t.Fatal("a credential acting for nobody lost its connection")
		}
		// The history says why: each revocation names the deleted admin.
		raw, err := admin.Query(ctx, "audit.events", map[string]any{"type": "credential.revoked.v1", "limit": 100})
		if err != nil || strings.Count(string(raw), "admin gone was deleted") != 2 {
			t.Fatalf("audit.events: %v %s", err, raw)
		}
		for id := range ids {
			raw, _ := admin.Query(ctx, "credential.get", map[string]any{"credentialId": id})
			if !strings.Contains(string(raw), `"revoked":true`) {
				t.Fatalf("credential %s after its admin's deletion: %s", id, raw)
			}
		}
		raw, _ = admin.Query(ctx, "credential.get", map[string]any{"credentialId": bystanderID})
		if strings.Contains(string(raw), `"revoked":true`) {
			t.Fatalf("the bystander was revoked: %s", raw)
		}
	})

	t.Run("nobody raises a profile above their own", func(t *testing.T) {
		_, ta1Token := issueCredential(t, admin, map[string]any{"role": "tenant-admin", "scope": map[string]any{"resellerId": "ha", "tenantId": "ha-t", "userId": "ta1"}})
		ta1 := client.New(nc, ta1Token)
		refused(t, admin, ta1, "admin.update", map[string]any{"username": "ta2", "userProfileType": "reseller-admin"}, 403, "LEVEL_ESCALATION", "userProfileType")
		refused(t, admin, ta1, "admin.update", map[string]any{"username": "ta1", "userProfileType": "system-admin"}, 403, "LEVEL_ESCALATION", "userProfileType")
		if _, err := ta1.Command(ctx, "admin.update", map[string]any{"username": "ta2", "firstName": "Tom"}, ""); err != nil {
			t.Fatalf("a tenant admin renames a peer: %v", err)
		}
		_, raToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha"}})
		ra := client.New(nc, raToken)
		refused(t, admin, ra, "admin.create", map[string]any{"resellerId": "ha", "username": "boss", "userProfileType": "system-admin"}, 403, "LEVEL_ESCALATION", "userProfileType")
		// A credential acting for an admin has no role beyond the admin's profile.
		refused(t, admin, admin, "credential.issue", map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha", "tenantId": "ha-t", "userId": "ta1"}}, 403, "ROLE_ESCALATION", "role")
	})

	t.Run("view caps are a ceiling for everything the credential issues or manages", func(t *testing.T) {
		capped := map[string]any{"licenses": "basic", "credentials": "basic"}
		id, token := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha"}, "access": capped})
		c := client.New(nc, token)
		refused(t, admin, c, "credential.set-access", map[string]any{"credentialId": id, "access": map[string]any{}}, 403, "ACCESS_ESCALATION", "access.licenses")
		_, err := c.Query(ctx, "license.details", map[string]any{"format": "detail"})
		wantCode(t, err, 403, "FORBIDDEN")
		r, err := c.Command(ctx, "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "ha"}}, "")
		if err != nil || !strings.Contains(string(r.Result), `"access":{"credentials":"basic","licenses":"basic"}`) {
			t.Fatalf("a child issued without caps must inherit the parent's: %v %s", err, r.Raw)
		}
		var child struct{ ID string }
		json.Unmarshal(r.Result, &child)
		refused(t, admin, c, "credential.set-access", map[string]any{"credentialId": child.ID, "access": map[string]any{"licenses": "expanded", "credentials": "basic"}}, 403, "ACCESS_ESCALATION", "access.licenses")
		refused(t, admin, c, "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "ha"}, "access": map[string]any{"licenses": "detail"}}, 403, "ACCESS_ESCALATION", "access.licenses")
	})

	t.Run("caps name resources that exist, scopes objects that exist inside one another", func(t *testing.T) {
		id, _ := issueCredential(t, admin, map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "ha"}})
		refused(t, admin, admin, "credential.set-access", map[string]any{"credentialId": id, "access": map[string]any{"bogus": "expanded"}}, 400, "INVALID_ARGUMENT", "access.bogus")
		refused(t, admin, admin, "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "ha", "userId": "nobody"}}, 404, "ADMIN_NOT_FOUND", "scope.userId")
		refused(t, admin, admin, "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "ha", "tenantId": "hb-t"}}, 422, "TENANT_NOT_OF_RESELLER", "scope.tenantId")
		refused(t, admin, admin, "credential.issue", map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "hb", "userId": "ra1"}}, 422, "SCOPE_MISMATCH", "scope.resellerId")
		_, raToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "ha"}})
		refused(t, admin, client.New(nc, raToken), "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "ha", "tenantId": "hb-t"}}, 422, "TENANT_NOT_OF_RESELLER", "scope.tenantId")
		refused(t, admin, client.New(nc, raToken), "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{"resellerId": "hb", "tenantId": "hb-t"}}, 403, "OUT_OF_SCOPE", "scope.resellerId")
	})
}

// TestUserScopeIsCompanyAndName: a Keygen user credential names its user as a seat does, and
// reaches exactly the licenses where that user holds a seat: another company's user of the same
// name holds nothing of it.
func TestUserScopeIsCompanyAndName(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	setupLicense(t, admin, "ua", 5)
	setupLicense(t, admin, "ub", 5)
	for _, s := range []map[string]any{
		{"licenseId": "ual", "endUserCompany": "Acme", "endUserName": "alice"},
		{"licenseId": "ubl", "endUserCompany": "Globex", "endUserName": "alice"},
	} {
		if _, err := admin.Command(ctx, "seat.register", s, ""); err != nil {
			t.Fatal(err)
		}
	}
	refused(t, admin, admin, "credential.issue", map[string]any{"role": "user", "scope": map[string]any{"endUserName": "alice"}}, 400, "INVALID_ARGUMENT", "scope.endUserCompany")
	_, token := issueCredential(t, admin, map[string]any{"role": "user", "scope": map[string]any{"endUserCompany": "Acme", "endUserName": "alice"}})
	alice := client.New(nc, token)
	raw, err := alice.Query(ctx, "license.details", map[string]any{})
	if err != nil || !strings.Contains(string(raw), `"ual"`) || strings.Contains(string(raw), `"ubl"`) {
		t.Fatalf("license.details of Acme's alice: %v %s", err, raw)
	}
	raw, err = alice.Query(ctx, "seat.authenticate", map[string]any{"licenseId": "ubl", "endUserCompany": "Globex", "endUserName": "alice"})
	if err != nil || !strings.Contains(string(raw), `"code":"NO_SEAT"`) || strings.Contains(string(raw), `"ubl"`) {
		t.Fatalf("seat.authenticate of Globex's alice: %v %s", err, raw)
	}
	_, err = alice.Query(ctx, "usage.quota", map[string]any{"licenseId": "ubl"})
	wantCode(t, err, 404, "LICENSE_NOT_FOUND")
	raw, err = alice.Query(ctx, "dashboard.show", map[string]any{})
	if err != nil || strings.Contains(string(raw), `"ubr"`) || strings.Contains(string(raw), `"ubl"`) {
		t.Fatalf("dashboard.show lists the other reseller: %v %s", err, raw)
	}
	refused(t, admin, alice, "machine.activate", map[string]any{"licenseId": "ubl", "fingerprint": "fp"}, 403, "OUT_OF_SCOPE", "licenseId")
	if _, err := alice.Command(ctx, "machine.activate", map[string]any{"licenseId": "ual", "fingerprint": "fp"}, ""); err != nil {
		t.Fatalf("alice activates a machine on her own license: %v", err)
	}
}

// TestExpiringTokens: a credential with expiresAt works until then; after it the token is 401
// TOKEN_EXPIRED, its NATS connections are closed at the expiry itself, and it connects no more.
// Rotation keeps the expiry unless given a new one; a child inherits its issuer's.
func TestExpiringTokens(t *testing.T) {
	nc, admin := startAsAdmin(t)
	url := nc.ConnectedUrl()
	ctx := context.Background()
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	refused(t, admin, admin, "credential.issue", map[string]any{"role": "support-agent", "scope": map[string]any{}, "expiresAt": past}, 400, "INVALID_ARGUMENT", "expiresAt")

	expires := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	id, token := issueCredential(t, admin, map[string]any{"role": "support-agent", "expiresAt": expires.Format(time.RFC3339)})
	raw, err := admin.Query(ctx, "credential.get", map[string]any{"credentialId": id})
	if err != nil || !strings.Contains(string(raw), `"expiresAt":"`+expires.Format(time.RFC3339)+`"`) {
		t.Fatalf("credential.get shows no expiresAt: %v %s", err, raw)
	}
	list, err := admin.Query(ctx, "credential.list", map[string]any{})
	if err != nil || !strings.Contains(string(list), `"expiresAt":"`+expires.Format(time.RFC3339)+`"`) {
		t.Fatalf("credential.list shows no expiresAt: %v %s", err, list)
	}
	w := connectWatched(t, url, token)
	if _, err := client.New(w.Conn, token).Query(ctx, "role.show", map[string]any{"role": "support-agent"}); err != nil {
		t.Fatalf("before its expiry: %v", err)
	}
	bystander := connectWatched(t, url, admin.Token())
	select {
	case <-w.closed:
		if late := time.Since(expires); late < 0 || late > 2*time.Second {
			t.Fatalf("the connection closed %s after the expiry", late)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the connection of an expired credential is still open")
	}
	_, err = client.New(bystander.Conn, token).Query(ctx, "role.show", map[string]any{"role": "support-agent"})
	wantCode(t, err, 401, "TOKEN_EXPIRED")
	if _, err := client.Connect(url, token); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connect with an expired token: %v", err)
	}

	// Rotation keeps the expiry; a new one may be given; a child inherits its issuer's.
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	id, token = issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{}, "expiresAt": later.Format(time.RFC3339)})
	_ = id
	raw, err = admin.Query(ctx, "credential.get", map[string]any{"credentialId": id})
	if err != nil {
		t.Fatal(err)
	}
	r, err := admin.Command(ctx, "credential.rotate", map[string]any{"credentialId": id}, "")
	if err != nil || !strings.Contains(string(r.Result), `"expiresAt":"`+later.Format(time.RFC3339)+`"`) {
		t.Fatalf("rotate changed the expiry: %v %s", err, r.Raw)
	}
	var rotated struct{ Token string }
	json.Unmarshal(r.Result, &rotated)
	sooner := later.Add(-30 * time.Minute)
	r, err = admin.Command(ctx, "credential.rotate", map[string]any{"credentialId": id, "expiresAt": sooner.Format(time.RFC3339)}, "")
	if err != nil || !strings.Contains(string(r.Result), `"expiresAt":"`+sooner.Format(time.RFC3339)+`"`) {
		t.Fatalf("rotate with a new expiry: %v %s", err, r.Raw)
	}
	json.Unmarshal(r.Result, &rotated)
	issuer := client.New(nc, rotated.Token)
	r, err = issuer.Command(ctx, "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{}}, "")
	if err != nil || !strings.Contains(string(r.Result), `"expiresAt":"`+sooner.Format(time.RFC3339)+`"`) {
		t.Fatalf("a child of an expiring credential: %v %s", err, r.Raw)
	}
	refused(t, admin, issuer, "credential.issue", map[string]any{"role": "client-limited", "scope": map[string]any{}, "expiresAt": later.Format(time.RFC3339)}, 403, "EXPIRY_ESCALATION", "expiresAt")
}
