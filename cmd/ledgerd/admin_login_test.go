package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
)

// TestAdminLogin: APIO's admin password is good for something. admin.login over HTTP (or over
// NATS by an authenticated connection) returns a short-lived token acting for the admin with its
// profile's role and scope; unknown usernames and wrong passwords get the same 401; failures are
// limited; a new password, a new profile or deleting the admin ends its sessions. An anonymous
// NATS connection may not log in: its reply inbox is shared.
func TestAdminLogin(t *testing.T) {
	data := t.TempDir()
	url, httpAddr, _ := startLogging(t, data, io.Discard, "--failed-auth-limit", "5", "--admin-session-ttl", "30m")
	sys := client.New(connect(t, url, readToken(t, data)), readToken(t, data))
	ctx := context.Background()
	setupLicense(t, sys, "l", 1) // reseller "lr", tenant "lt"
	setupLicense(t, sys, "m", 1) // reseller "mr"
	for _, a := range []map[string]any{
		{"resellerId": "lr", "username": "rae", "userProfileType": "reseller-admin", "password": "Secret12"},
		{"resellerId": "lr", "username": "tim", "userProfileType": "tenant-admin", "tenantId": "lt", "password": "Tenant12"},
		{"resellerId": "lr", "username": "nopw", "userProfileType": "reseller-admin"},
		{"resellerId": "mr", "username": "mo", "userProfileType": "reseller-admin"},
	} {
		if _, err := sys.Command(ctx, "admin.create", a, ""); err != nil {
			t.Fatalf("admin.create %v: %v", a["username"], err)
		}
	}
	type session struct {
		CredentialID, Token, InboxPrefix, Role string
		Scope                                  map[string]string
		ExpiresAt                              time.Time
	}
	type failure struct {
		Error struct{ Code, Field, Message string }
	}
	login := func(username, password string) (int, session, failure) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"username": username, "password": password})
		resp, err := http.Post("http://"+httpAddr+"/v1/admin.login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var ok struct{ Result session }
		var bad failure
		json.Unmarshal(raw, &ok)
		json.Unmarshal(raw, &bad)
		return resp.StatusCode, ok.Result, bad
	}

	status, s, _ := login("rae", "Secret12")
	if status != 200 || s.Token == "" || s.Role != "reseller-admin" || s.Scope["resellerId"] != "lr" || s.Scope["userId"] != "rae" {
		t.Fatalf("login: %d %+v", status, s)
	}
	if left := time.Until(s.ExpiresAt); left < 29*time.Minute || left > 31*time.Minute {
		t.Errorf("the session expires in %s; want the configured 30m", left)
	}
	// The session acts for the admin: its reseller's admins, not another's.
	rae := client.New(connect(t, url, s.Token), s.Token)
	if _, err := rae.Query(ctx, "admin.get", map[string]any{"username": "tim"}); err != nil {
		t.Fatalf("the session reads its reseller's admin: %v", err)
	}
	_, err := rae.Query(ctx, "admin.get", map[string]any{"username": "mo"})
	wantCode(t, err, 404, "ADMIN_NOT_FOUND")
	// It is a credential like any other, marked as a session, and cannot delete its own admin.
	raw, err := sys.Query(ctx, "credential.get", map[string]any{"credentialId": s.CredentialID})
	if err != nil || !strings.Contains(string(raw), `"session":true`) {
		t.Fatalf("credential.get of the session: %s %v", raw, err)
	}
	// The ERP's "API Endpoint": where this credential talks, addressed to its reseller.
	var shown struct{ Endpoint map[string]string }
	json.Unmarshal(raw, &shown)
	if e := shown.Endpoint; e["nats"] != url || e["commands"] != "ledger.v1.cmd.<command>.lr" || e["queries"] != "ledger.v1.q.<query>.lr" ||
		e["http"] != "http://"+httpAddr+"/v1/<name>" {
		t.Errorf("credential.get endpoint: %v (ledgerd at %s and %s)", e, url, httpAddr)
	}
	_, err = rae.Command(ctx, "admin.delete", map[string]any{"username": "rae"}, "")
	wantCode(t, err, 400, "CANNOT_DELETE_YOURSELF")
	status, ts, _ := login("tim", "Tenant12")
	if status != 200 || ts.Role != "tenant-admin" || ts.Scope["tenantId"] != "lt" {
		t.Fatalf("a tenant admin's login: %d %+v", status, ts)
	}

	// Over NATS: an authenticated connection may log an admin in; an anonymous one may not.
	r, err := sys.Command(ctx, "admin.login", map[string]any{"username": "tim", "password": "Tenant12"}, "")
	if err != nil || !strings.Contains(string(r.Raw), `"token"`) {
		t.Fatalf("admin.login over NATS: %v", err)
	}
	anon, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Request("ledger.v1.cmd.admin.login", []byte(`{"username":"tim","password":"Tenant12"}`), time.Second); err == nil {
		t.Fatal("an anonymous NATS connection logged in: its reply could be read by every anonymous connection")
	}

	// Failures: one answer for a wrong password, an unknown username and an admin without a
	// password; nothing appended; the sixth failure for a username is 429, the right password too.
	before := lastSequence(t, sys, ctx)
	for _, c := range [][2]string{{"rae", "wrong"}, {"ghost", "Secret12"}, {"nopw", "anything"}} {
		status, _, f := login(c[0], c[1])
		if status != 401 || f.Error.Code != "LOGIN_FAILED" || f.Error.Message != "unknown username or wrong password" {
			t.Errorf("login %s: %d %+v", c[0], status, f)
		}
	}
	if after := lastSequence(t, sys, ctx); after != before+1 {
		t.Fatalf("failed logins appended %d events", after-before-1)
	}
	for range 4 {
		login("rae", "wrong")
	}
	if status, _, f := login("rae", "Secret12"); status != 429 || f.Error.Code != "RATE_LIMITED" {
		t.Fatalf("after five failures: %d %+v; want 429 RATE_LIMITED", status, f)
	}

	// A new password ends tim's sessions; a profile change or deletion would too (domain tests).
	if _, err := sys.Command(ctx, "admin.update", map[string]any{"username": "tim", "password": "Changed12"}, ""); err != nil {
		t.Fatal(err)
	}
	_, err = client.New(connect(t, url, s.Token), s.Token).Query(ctx, "role.show", map[string]any{"role": "tenant-admin"})
	if err != nil {
		t.Fatalf("rae's session must outlive tim's password change: %v", err)
	}
	if _, err := client.Connect(url, ts.Token); err == nil {
		t.Fatal("tim's session still connects after his password changed")
	}
	if status, _, _ := login("tim", "Tenant12"); status != 401 {
		t.Fatalf("the old password: %d", status)
	}
	if status, _, _ := login("tim", "Changed12"); status != 200 {
		t.Fatalf("the new password: %d", status)
	}
	if _, err := sys.Command(ctx, "admin.delete", map[string]any{"username": "rae"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Connect(url, s.Token); err == nil {
		t.Fatal("rae's session still connects after rae was deleted")
	}
}
