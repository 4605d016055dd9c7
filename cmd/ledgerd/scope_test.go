package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/internal/testreport"
)

// scopeWorld is two copies of one partner's world: A (inside every scoped credential's reach)
// and B (outside it). Each side has a reseller, a tenant, a product with two plans, a license
// with a seat held by the side's user, an admin, and a victim credential for the credential
// commands to act on.
type scopeSide struct {
	reseller, tenant, product, plan, bigPlan, license, user, admin, credential string
}

var (
	sideA = scopeSide{"sa-r", "sa-t", "sa-p", "sa-plan", "sa-big", "sa-lic", "ann", "sa-admin", "sa-cred"}
	sideB = scopeSide{"sb-r", "sb-t", "sb-p", "sb-plan", "sb-big", "sb-lic", "zed", "sb-admin", "sb-cred"}
)

// webhook is the side's webhook, which the webhook commands act on.
func (s scopeSide) webhook() string { return s.reseller + "-hook" }

// hookURL is where the scope test's webhooks deliver: a receiver on loopback that accepts
// everything (TestScopeMatrixOverNATS starts it), so that no delivery fails and pauses a webhook
// in the middle of the matrix.
var hookURL string

func (s scopeSide) scope() map[string]any {
	return map[string]any{"resellerId": s.reseller, "tenantId": s.tenant, "productId": s.product, "licenseId": s.license}
}

// build creates the side's objects as the system admin.
func (s scopeSide) build(t *testing.T, ctx context.Context, admin *client.Client) {
	t.Helper()
	for _, step := range []struct {
		cmd  string
		body map[string]any
	}{
		{"reseller.create", map[string]any{"id": s.reseller, "name": s.reseller}},
		{"tenant.create", map[string]any{"id": s.tenant, "resellerId": s.reseller, "name": s.tenant}},
		{"product.create", map[string]any{"id": s.product, "name": s.product}},
		{"plan.create", map[string]any{"id": s.plan, "productId": s.product, "name": "Small", "tier": 1, "seats": 100, "machines": 100}},
		{"plan.create", map[string]any{"id": s.bigPlan, "productId": s.product, "name": "Big", "tier": 2, "seats": 200, "machines": 200}},
		{"license.create", map[string]any{"id": s.license, "resellerId": s.reseller, "tenantId": s.tenant, "planId": s.plan}},
		{"entitlement.create", map[string]any{"code": s.product + "-feature", "name": "Feature", "productId": s.product}},
		{"seat.register", map[string]any{"licenseId": s.license, "endUserCompany": "Acme", "endUserName": s.user}},
		{"admin.create", map[string]any{"resellerId": s.reseller, "tenantId": s.tenant, "username": s.admin, "userProfileType": "tenant-admin"}},
		{"credential.issue", map[string]any{"id": s.credential, "role": "anonymous", "scope": s.scope()}},
		{"webhook.create", map[string]any{"id": s.webhook(), "url": hookURL, "resellerId": s.reseller}},
	} {
		if _, err := admin.Command(ctx, step.cmd, step.body, ""); err != nil {
			t.Fatalf("build %s %s: %v", s.reseller, step.cmd, err)
		}
	}
}

// body is a request for op aimed at the side's objects. n makes created ids unique.
func (s scopeSide) body(op string, scope map[string]any, n int) map[string]any {
	id := func(kind string) string { return kind + "-" + s.reseller + "-" + strconv.Itoa(n) }
	lic := map[string]any{"licenseId": s.license}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{"licenseId": s.license}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cred := map[string]any{"credentialId": s.credential}
	switch op {
	case "audit.checkpoint":
		return map[string]any{}
	case "audit.inclusion":
		return map[string]any{"sequence": 1}
	case "audit.consistency":
		return map[string]any{"from": 1}
	case "audit.events":
		return map[string]any{"reseller": s.reseller, "limit": 10}
	case "reseller.create":
		return map[string]any{"id": id("r"), "name": "R"}
	case "tenant.create":
		return map[string]any{"id": id("t"), "resellerId": s.reseller, "name": "T"}
	case "tenant.update":
		return map[string]any{"tenantId": s.tenant, "name": "Renamed"}
	case "product.create":
		return map[string]any{"id": id("p"), "name": "P"}
	case "plan.create":
		return map[string]any{"id": id("plan"), "productId": s.product, "name": "Plan", "tier": 3 + n, "seats": 5, "machines": 5}
	case "entitlement.create":
		return map[string]any{"code": id("e"), "name": "E", "productId": s.product}
	case "tenant.get":
		return map[string]any{"tenantId": s.tenant}
	case "tenant.list":
		return map[string]any{}
	case "plan.attach-entitlements", "plan.detach-entitlements":
		return map[string]any{"planId": s.bigPlan, "codes": []string{s.product + "-feature"}}
	case "license.attach-entitlements", "license.detach-entitlements":
		return with(map[string]any{"codes": []string{s.product + "-feature"}})
	case "license.create":
		return map[string]any{"id": id("lic"), "resellerId": s.reseller, "tenantId": s.tenant, "planId": s.plan}
	case "license.upgrade":
		return with(map[string]any{"planId": s.bigPlan})
	case "license.downgrade":
		return with(map[string]any{"planId": s.plan})
	case "license.note":
		return with(map[string]any{"note": "checked"})
	case "license.set-quota":
		return with(map[string]any{"seats": 150})
	case "seat.register", "seat.unregister":
		// Another user than the side's own, whose seat a user-scoped credential relies on.
		return with(map[string]any{"endUserCompany": "Acme", "endUserName": "bob"})
	case "machine.activate", "machine.deactivate":
		return with(map[string]any{"fingerprint": "fp-1"})
	case "admin.create":
		return map[string]any{"resellerId": s.reseller, "tenantId": s.tenant, "username": id("adm"), "userProfileType": "tenant-admin"}
	case "admin.update":
		return map[string]any{"username": s.admin, "firstName": "Renamed"}
	case "admin.delete":
		return map[string]any{"username": s.admin}
	case "credential.issue":
		return map[string]any{"id": id("cred"), "role": "anonymous", "scope": scope}
	case "credential.set-access":
		return map[string]any{"credentialId": s.credential, "access": map[string]any{"licenses": "basic"}}
	case "credential.disable", "credential.enable", "credential.revoke", "credential.rotate", "credential.get", "credential.delete":
		return cred
	case "credential.update":
		return map[string]any{"credentialId": s.credential, "description": "renamed"}
	case "webhook.create":
		return map[string]any{"id": id("wh"), "url": hookURL, "resellerId": s.reseller}
	case "webhook.update":
		return map[string]any{"webhookId": s.webhook(), "url": hookURL + "/v2"}
	case "webhook.disable", "webhook.enable", "webhook.delete", "webhook.deliveries":
		return map[string]any{"webhookId": s.webhook()}
	case "webhook.list":
		return map[string]any{}
	case "usage.quota", "license.details":
		if op == "license.details" {
			return map[string]any{}
		}
		return lic
	case "seat.authenticate":
		return with(map[string]any{"endUserCompany": "Acme", "endUserName": s.user})
	case "usage.summary":
		return map[string]any{"resellerId": s.reseller}
	case "dashboard.show":
		return map[string]any{"recent": 100}
	case "dashboard.history":
		return map[string]any{"licenseId": s.license, "range": "day"}
	case "credential.list", "admin.list", "product.list":
		return map[string]any{}
	case "plan.list":
		return map[string]any{"productId": s.product}
	case "admin.get":
		return map[string]any{"username": s.admin}
	}
	return with(nil) // license.suspend, reinstate, renew, expire, terminate, rotate-key
}

// scopeOf gives each role the scope it typically has: Keygen's product, license and user tokens
// their own kind, Partner Central's clients and APIO's tenant admins a tenant, the rest a
// reseller. The system admin keeps the whole system (it has no outside).
func scopeOf(role string) (scope map[string]any, kind string) {
	switch role {
	case "system-admin", "auditor": // an auditor has the system scope or none
		return map[string]any{}, "system"
	case "product":
		return map[string]any{"productId": sideA.product}, "product"
	case "license":
		return map[string]any{"licenseId": sideA.license}, "license"
	case "user":
		return map[string]any{"endUserCompany": "Acme", "endUserName": sideA.user}, "user"
	case "tenant-admin", "client-all", "client-advanced", "client-standard", "client-limited":
		return map[string]any{"resellerId": sideA.reseller, "tenantId": sideA.tenant}, "tenant"
	}
	return map[string]any{"resellerId": sideA.reseller}, "reseller"
}

// beyondReach lists, per kind of scope, the operations that can never land inside it even when
// aimed at the scope's own side: creating what sits above or beside the scope (a reseller or a
// product for anyone but the system; a new tenant for a tenant; anything new for a license).
var beyondReach = map[string][]string{
	"system":   nil,
	"reseller": {"reseller.create", "product.create", "plan.create", "entitlement.create", "plan.attach-entitlements", "plan.detach-entitlements"},
	"tenant":   {"reseller.create", "product.create", "plan.create", "tenant.create", "entitlement.create", "plan.attach-entitlements", "plan.detach-entitlements"},
	"product":  {"reseller.create", "product.create", "tenant.create", "tenant.update", "admin.create", "admin.update", "admin.delete"},
	"license": {"reseller.create", "product.create", "plan.create", "tenant.create", "tenant.update", "license.create",
		"admin.create", "admin.update", "admin.delete", "entitlement.create", "plan.attach-entitlements", "plan.detach-entitlements"},
	// The audit queries read the whole log: only a system scope reaches them (init adds them).
	"user": {"reseller.create", "product.create", "plan.create", "tenant.create", "tenant.update", "license.create",
		"admin.create", "admin.update", "admin.delete", "entitlement.create", "plan.attach-entitlements", "plan.detach-entitlements"},
}

// TestScopeMatrixOverNATS is generated from the permission matrix: every role × every command and
// query × aimed inside and outside its scope. The matrix refuses with 403 FORBIDDEN; outside the
// scope a command is 403 OUT_OF_SCOPE, a single read is the object's 404, and a list leaves the
// outside out. Every refusal appends nothing.
func TestScopeMatrixOverNATS(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer receiver.Close()
	hookURL = receiver.URL
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	sideA.build(t, ctx, admin)
	sideB.build(t, ctx, admin)

	queries := map[string]bool{}
	for _, q := range domain.Queries {
		queries[q] = true
	}
	var checked, refusedOutside int
	n := 0
	// The system admin goes last: its whole-system reach would otherwise delete side B's admin
	// and revoke its credential before the scoped roles are refused them.
	roles := slices.DeleteFunc(slices.Clone(domain.Roles), func(r string) bool { return r == "system-admin" })
	for _, role := range append(roles, "system-admin") {
		if role == "anonymous" {
			continue // no token, no scope: the permission matrix test covers it
		}
		scope, kind := scopeOf(role)
		_, token := issueCredential(t, admin, map[string]any{"role": role, "scope": scope})
		c := client.New(nc, token)

		for _, op := range domain.Operations {
			if op == "license.validate" || op == "role.show" || op == "license.signing-keys" || op == domain.AdminLoginOp {
				continue // look at no scope: validation is open to whoever holds the key
			}
			for _, side := range []scopeSide{sideA, sideB} {
				outside := side == sideB && kind != "system"
				aim := scope // a new credential inside: the caller's own scope
				if side == sideB {
					aim = sideB.scope()
				}
				n++
				// A batch is judged by the one command it carries, atomic so that its refusal is
				// the batch's: a command the role may send.
				judged, body := op, side.body(op, aim, n)
				if op == "webhook.delete" {
					// A webhook of its own to delete, as for credential.delete below.
					hook := fmt.Sprintf("del-hook-%d", n)
					admin.Command(ctx, "webhook.create", map[string]any{"id": hook, "url": hookURL, "resellerId": side.reseller}, "")
					body = map[string]any{"webhookId": hook}
				}
				if op == "credential.delete" {
					// A credential of its own to delete: the side's is needed by the roles after.
					id, _ := issueCredential(t, admin, map[string]any{"role": "anonymous", "scope": aim})
					body = map[string]any{"credentialId": id}
				}
				if op == "admin.get" {
					// The role's own admin.delete, just before, may have deleted the side's admin;
					// ALREADY_EXISTS when it still stands.
					admin.Command(ctx, "admin.create", map[string]any{"resellerId": side.reseller, "tenantId": side.tenant,
						"username": side.admin, "userProfileType": "tenant-admin"}, "")
				}
				before := lastSequence(t, admin, ctx)
				var (
					reply json.RawMessage
					err   error
				)
				if op == domain.BatchSubmit {
					judged = "seat.register"
					if !domain.Allowed(role, judged) {
						judged = "machine.activate"
					}
					body = map[string]any{"atomic": true, "commands": []any{map[string]any{"name": judged, "body": side.body(judged, aim, n)}}}
				}
				if queries[op] {
					reply, err = c.Query(ctx, op, body)
				} else {
					_, err = c.Command(ctx, op, body, "")
				}
				checked++
				ce, _ := err.(*client.Error)
				code := ""
				if ce != nil {
					code = ce.Code
				}
				appended := lastSequence(t, admin, ctx) - before
				where := role + " " + op + " on " + side.reseller
				switch {
				case !domain.Allowed(role, op):
					if code != "FORBIDDEN" {
						t.Errorf("%s: %v, want FORBIDDEN", where, err)
					}
				case !outside && slices.Contains(beyondReach[kind], judged):
					if code != "OUT_OF_SCOPE" {
						t.Errorf("%s: %v, want OUT_OF_SCOPE (beyond a %s scope)", where, err, kind)
					}
				case !outside:
					if code == "OUT_OF_SCOPE" || code == "FORBIDDEN" || code == "ROLE_ESCALATION" {
						t.Errorf("%s: refused inside the scope: %v", where, err)
					}
					if queries[op] && err != nil {
						t.Errorf("%s: query inside the scope failed: %v", where, err)
					}
				case queries[op]:
					refusedOutside++
					checkOutsideRead(t, where, op, reply, err)
				default:
					refusedOutside++
					if code != "OUT_OF_SCOPE" || ce.Status != 403 {
						t.Errorf("%s: %v, want 403 OUT_OF_SCOPE", where, err)
					}
				}
				if err != nil && appended != 1 { // 1: lastSequence's own marker event
					t.Errorf("%s: refused (%v) but appended %d events", where, err, appended-1)
				}
			}
		}
	}
	if refusedOutside < 200 {
		t.Fatalf("only %d outside requests were checked; the generator lost its cases", refusedOutside)
	}
	testreport.Line(t, "%d role × operation × side requests checked over NATS (%d aimed outside the scope)", checked, refusedOutside)
}

// checkOutsideRead: a single read outside the scope answers the object's not-found code, a list
// leaves the outside's objects out, and an authentication finds no seat.
func checkOutsideRead(t *testing.T, where, op string, reply json.RawMessage, err error) {
	t.Helper()
	ce, _ := err.(*client.Error)
	switch op {
	case "usage.quota", "dashboard.history":
		if ce == nil || ce.Status != 404 || ce.Code != "LICENSE_NOT_FOUND" {
			t.Errorf("%s: %v, want 404 LICENSE_NOT_FOUND", where, err)
		}
	case "credential.get":
		if ce == nil || ce.Status != 404 || ce.Code != "CREDENTIAL_NOT_FOUND" {
			t.Errorf("%s: %v, want 404 CREDENTIAL_NOT_FOUND", where, err)
		}
	case "seat.authenticate":
		// As if the license did not exist: no seat, and nothing about the license.
		var a struct {
			Authenticated bool
			Code          string
			License       any
		}
		if err != nil || json.Unmarshal(reply, &a) != nil || a.Authenticated || a.Code != "NO_SEAT" || a.License != nil {
			t.Errorf("%s: %v %s, want NO_SEAT and no license", where, err, reply)
		}
	case "usage.summary":
		// A summary of another reseller sums nothing: its licenses are not in the caller's view.
		var sum struct {
			Total      struct{ Licenses, Seats int }
			ByReseller map[string]any
		}
		if err != nil || json.Unmarshal(reply, &sum) != nil || sum.Total.Licenses != 0 || sum.Total.Seats != 0 || len(sum.ByReseller) != 0 {
			t.Errorf("%s: %v %s, want an empty summary", where, err, reply)
		}
	case "dashboard.show":
		// The same request inside and outside: the outside's licenses and events are not in it.
		if err != nil || strings.Contains(string(reply), `"`+sideB.reseller+`"`) || strings.Contains(string(reply), sideB.license) {
			t.Errorf("%s: %v; the dashboard shows the other reseller: %s", where, err, reply)
		}
		// Nor, to a role that may not list credentials or manage admins, their events.
		role := strings.Fields(where)[0]
		if !domain.Allowed(role, "credential.list") && strings.Contains(string(reply), `"credential.`) ||
			!domain.Allowed(role, "admin.update") && strings.Contains(string(reply), `"admin.`) {
			t.Errorf("%s: the dashboard shows credential or admin events: %s", where, reply)
		}
	case "tenant.get":
		if ce == nil || ce.Status != 404 || ce.Code != "TENANT_NOT_FOUND" {
			t.Errorf("%s: %v, want 404 TENANT_NOT_FOUND", where, err)
		}
	case "webhook.deliveries":
		if ce == nil || ce.Status != 404 || ce.Code != "WEBHOOK_NOT_FOUND" {
			t.Errorf("%s: %v, want 404 WEBHOOK_NOT_FOUND", where, err)
		}
	case "admin.get":
		if ce == nil || ce.Status != 404 || ce.Code != "ADMIN_NOT_FOUND" {
			t.Errorf("%s: %v, want 404 ADMIN_NOT_FOUND", where, err)
		}
	case "product.list", "plan.list":
		// The catalogue is the system's, which every partner sells from: only a scope naming a
		// product has an outside, the other products.
		var page struct{ Items []map[string]any }
		if err != nil || json.Unmarshal(reply, &page) != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if _, kind := scopeOf(strings.Fields(where)[0]); kind == "product" {
			for _, it := range page.Items {
				if it["id"] == sideB.product || it["productId"] == sideB.product {
					t.Errorf("%s: the catalogue shows %v, another product", where, it)
				}
			}
		}
	case "license.details", "credential.list", "tenant.list", "admin.list", "webhook.list":
		var page struct {
			Items []map[string]any
		}
		if err != nil || json.Unmarshal(reply, &page) != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for _, it := range page.Items {
			if it["licenseId"] == sideB.license || it["id"] == sideB.credential || it["tenantId"] == sideB.tenant || it["username"] == sideB.admin ||
				it["id"] == sideB.webhook() {
				t.Errorf("%s: the list shows %v, outside the scope", where, it)
			}
		}
	case "audit.checkpoint", "audit.inclusion", "audit.consistency", "audit.events":
		if ce == nil || ce.Status != 403 || ce.Code != "OUT_OF_SCOPE" {
			t.Errorf("%s: %v, want 403 OUT_OF_SCOPE (the history is the whole ledger's)", where, err)
		}
	default:
		t.Errorf("%s: no outside check for this query", where)
	}
}

func init() {
	for kind := range beyondReach {
		if kind != "system" {
			beyondReach[kind] = append(beyondReach[kind], "audit.checkpoint", "audit.inclusion", "audit.consistency", "audit.events")
		}
	}
}

// TestProtectedLicense: Keygen's protected attribute over NATS. Only an admin or the owning
// product creates a protected license, and on it users and license tokens cannot manage
// machines; each refusal is 403 PROTECTED naming the field and appends nothing.
func TestProtectedLicense(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	setupLicense(t, admin, "x", 5)
	body := map[string]any{"id": "xl2", "resellerId": "xr", "tenantId": "xt", "planId": "xplan", "protected": true}
	_, resellerToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "xr"}})
	before := lastSequence(t, admin, ctx)
	_, err := client.New(nc, resellerToken).Command(ctx, "license.create", body, "")
	if e := wantCode(t, err, 403, "PROTECTED"); e.Field != "protected" {
		t.Fatalf("field %q; want protected", e.Field)
	}
	if after := lastSequence(t, admin, ctx); after != before+1 {
		t.Fatalf("a refused protected license appended: %d -> %d", before, after)
	}
	if _, err := admin.Command(ctx, "license.create", body, ""); err != nil {
		t.Fatalf("an admin's protected license: %v", err)
	}
	_, licenseToken := issueCredential(t, admin, map[string]any{"role": "license", "scope": map[string]any{"licenseId": "xl2"}})
	_, err = client.New(nc, licenseToken).Command(ctx, "machine.activate", map[string]any{"licenseId": "xl2", "fingerprint": "fp"}, "")
	if e := wantCode(t, err, 403, "PROTECTED"); e.Field != "licenseId" {
		t.Fatalf("field %q; want licenseId", e.Field)
	}
	if _, err := admin.Command(ctx, "machine.activate", map[string]any{"licenseId": "xl2", "fingerprint": "fp"}, ""); err != nil {
		t.Fatalf("an admin manages a protected license's machines: %v", err)
	}
	got, err := admin.Query(ctx, "license.details", map[string]any{"format": "standard"})
	if err != nil || !strings.Contains(string(got), `"licenseId":"xl2"`) || !strings.Contains(string(got), `"protected":true`) {
		t.Fatalf("license.details: %s %v", got, err)
	}
}
