package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/internal/testreport"
)

// The power matrix: every role, as a caller with a plain, a capped and expiring, and (for the
// roles that manage admins) an admin-acting credential, tries every command that creates or
// changes power, aimed at targets at, below and above itself in each dimension (role, scope,
// acting admin, view caps, expiry, admin profile level). Whatever succeeds must leave nothing
// beyond the caller (judged by exceeds, written here from the rule's statement, not from the
// ledger's code); whatever the rule forbids must be refused 403; every refusal appends nothing.

// The world the matrix runs in: a caller's reseller pw-r with two tenants, another reseller pw-x,
// a product, licenses in both, an end user ann of Acme with a seat on pw-l, and admins at each
// level.
const (
	pwReseller, pwOther, pwTenant, pwTenant2, pwOtherTenant = "pw-r", "pw-x", "pw-t", "pw-t2", "pw-xt"
	pwProduct, pwPlan, pwLicense, pwOtherLicense            = "pw-p", "pw-plan", "pw-l", "pw-xl"
)

// pwAdmin is an admin of the world: its profile and where it sits.
type pwAdmin struct{ profile, reseller, tenant string }

var pwAdmins = map[string]pwAdmin{
	"pw-sys": {"system-admin", pwReseller, ""},
	"pw-ra":  {"reseller-admin", pwReseller, ""},
	"pw-ta":  {"tenant-admin", pwReseller, pwTenant},
	"pw-ta2": {"tenant-admin", pwReseller, pwTenant},
	"pw-xa":  {"reseller-admin", pwOther, ""},
}

var profileLevel = map[string]int{"tenant-admin": 1, "reseller-admin": 2, "system-admin": 3}

// power is what a credential may do, as the wire shows it.
type power struct {
	Role      string            `json:"role"`
	Scope     map[string]string `json:"scope"`
	Access    map[string]string `json:"access,omitempty"`
	ExpiresAt *time.Time        `json:"expiresAt,omitempty"`
}

func (p power) with(change func(*power)) power {
	p.Scope, p.Access = maps.Clone(p.Scope), maps.Clone(p.Access)
	if p.Scope == nil {
		p.Scope = map[string]string{}
	}
	change(&p)
	return p
}

func (p power) body() map[string]any {
	b := map[string]any{"role": p.Role, "scope": p.Scope}
	if p.Access != nil {
		b["access"] = p.Access
	}
	if p.ExpiresAt != nil {
		b["expiresAt"] = p.ExpiresAt.Format(time.RFC3339)
	}
	return b
}

// level is the admin profile level a credential stands at: its role's (a role allowed everything
// is a system admin's, the APIO roles their own, any other none), no more than its scope spans (a
// tenant 1, a reseller 2, the system 3, anything narrower 0), and no more than the profile of the
// admin it acts for.
func (p power) level() int {
	lv := profileLevel[p.Role]
	if domain.AllowedEverything(p.Role) {
		lv = 3
	}
	sc := p.Scope
	switch {
	case sc["productId"] != "" || sc["licenseId"] != "" || sc["endUserName"] != "" || len(sc) == 1 && sc["userId"] != "":
		lv = 0
	case sc["tenantId"] != "":
		lv = min(lv, 1)
	case sc["resellerId"] != "":
		lv = min(lv, 2)
	}
	if u := sc["userId"]; u != "" {
		lv = min(lv, profileLevel[pwAdmins[u].profile])
	}
	return lv
}

func rank(access map[string]string, resource string) int {
	if l, ok := access[resource]; ok {
		return slices.Index(domain.ViewLevels, l)
	}
	return len(domain.ViewLevels) - 1 // not capped
}

// exceeds lists the dimensions in which got has more power than caller.
func exceeds(caller, got power) []string {
	var out []string
	for _, op := range domain.Operations {
		if domain.Allowed(got.Role, op) && !domain.Allowed(caller.Role, op) {
			out = append(out, "role")
			break
		}
	}
	for k, v := range caller.Scope {
		if got.Scope[k] != v {
			out = append(out, "scope")
			break
		}
	}
	if u := got.Scope["userId"]; u != "" && u != caller.Scope["userId"] &&
		(!domain.Allowed(caller.Role, "admin.update") || profileLevel[pwAdmins[u].profile] > caller.level()) {
		out = append(out, "acting admin")
	}
	for _, r := range domain.AccessResources {
		if rank(got.Access, r) > rank(caller.Access, r) {
			out = append(out, "access")
			break
		}
	}
	if caller.ExpiresAt != nil && (got.ExpiresAt == nil || got.ExpiresAt.After(*caller.ExpiresAt)) {
		out = append(out, "expiry")
	}
	return out
}

// matrixCallers are the callers: each role with its usual scope, the same capped and expiring,
// and the admin-managing roles acting for an admin.
func matrixCallers(now time.Time) []power {
	soon := now.Add(time.Hour)
	acting := map[string]map[string]string{
		"system-admin":   {"resellerId": pwReseller, "userId": "pw-sys"},
		"admin":          {"resellerId": pwReseller, "userId": "pw-sys"},
		"reseller-admin": {"resellerId": pwReseller, "userId": "pw-ra"},
		"tenant-admin":   {"resellerId": pwReseller, "tenantId": pwTenant, "userId": "pw-ta"},
	}
	var out []power
	for _, role := range domain.Roles {
		plain := power{Role: role, Scope: map[string]string{"resellerId": pwReseller}}
		switch role {
		case "system-admin", "auditor":
			plain.Scope = map[string]string{}
		case "product":
			plain.Scope = map[string]string{"productId": pwProduct}
		case "license":
			plain.Scope = map[string]string{"licenseId": pwLicense}
		case "user":
			plain.Scope = map[string]string{"endUserCompany": "Acme", "endUserName": "ann"}
		case "tenant-admin", "client-all", "client-advanced", "client-standard", "client-limited":
			plain.Scope["tenantId"] = pwTenant
		}
		out = append(out, plain, plain.with(func(p *power) {
			p.Access = map[string]string{"licenses": "basic", "credentials": "standard"}
			p.ExpiresAt = &soon
		}))
		if sc, ok := acting[role]; ok {
			out = append(out, power{Role: role, Scope: sc})
		}
	}
	return out
}

// target is a power aimed at, below or above a caller's in one dimension.
type target struct {
	name string
	p    power
}

func matrixTargets(c power, now time.Time) []target {
	ts := []target{{"at", c}}
	add := func(name string, change func(*power)) { ts = append(ts, target{name, c.with(change)}) }
	// Roles: the weakest one within the caller's, one above, one beside.
	ops := func(r string) []string { o, _ := domain.RoleOperations(r); return o }
	below, beside := "", ""
	for _, r := range domain.Roles {
		if r == c.Role {
			continue
		}
		switch {
		case len(domain.RoleExcess(r, c.Role)) == 0:
			if below == "" || len(ops(r)) < len(ops(below)) {
				below = r
			}
		case beside == "" && len(domain.RoleExcess(c.Role, r)) > 0:
			beside = r
		}
	}
	for name, r := range map[string]string{"role below": below, "role beside": beside, "role above": "system-admin"} {
		if r != "" && r != c.Role {
			add(name, func(p *power) { p.Role = r })
		}
	}
	// Scopes: narrower, wider, beside.
	sc := c.Scope
	switch {
	case sc["licenseId"] != "":
	case sc["tenantId"] != "" || sc["productId"] != "" || sc["endUserName"] != "":
		add("scope narrower", func(p *power) { p.Scope["licenseId"] = pwLicense })
	case sc["resellerId"] != "":
		add("scope narrower", func(p *power) { p.Scope["tenantId"] = pwTenant })
	default:
		add("scope narrower", func(p *power) { p.Scope["resellerId"] = pwReseller })
	}
	if sc["tenantId"] != "" {
		add("scope wider", func(p *power) { delete(p.Scope, "tenantId") })
	}
	if len(sc) > 0 {
		add("scope system", func(p *power) { p.Scope = map[string]string{} })
	}
	add("scope beside", func(p *power) { p.Scope = map[string]string{"resellerId": pwOther} })
	// Acting for an admin: each of the world's, or for nobody.
	for _, u := range slices.Sorted(maps.Keys(pwAdmins)) {
		if u == sc["userId"] {
			continue
		}
		a := pwAdmins[u]
		add("acting for "+u, func(p *power) {
			p.Scope = map[string]string{"resellerId": a.reseller, "userId": u}
			if a.tenant != "" {
				p.Scope["tenantId"] = a.tenant
			}
		})
	}
	if sc["userId"] != "" {
		add("acting for nobody", func(p *power) { delete(p.Scope, "userId") })
	}
	// View caps and expiry.
	add("caps left out", func(p *power) { p.Access = nil })
	add("expiry left out", func(p *power) { p.ExpiresAt = nil })
	add("caps lower", func(p *power) { p.Access = map[string]string{"licenses": "none", "credentials": "basic"} })
	add("caps higher", func(p *power) { p.Access = map[string]string{"licenses": "expanded", "credentials": "expanded"} })
	sooner, later := now.Add(30*time.Minute), now.Add(2*time.Hour)
	add("expiry sooner", func(p *power) { p.ExpiresAt = &sooner })
	add("expiry later", func(p *power) { p.ExpiresAt = &later })
	return ts
}

// matrixRun is one run of the matrix against a ledger.
type matrixRun struct {
	t                 *testing.T
	ctx               context.Context
	nc                *nats.Conn
	admin             *client.Client
	n                 int
	allowed, refused  int
	forbiddenExceeded int // requests whose target exceeded the caller: each must be refused 403
}

// try sends one request as caller and checks the refusal appended nothing. It returns the error.
func (m *matrixRun) try(c *client.Client, where, op string, body map[string]any) (*client.CommandReply, error) {
	m.t.Helper()
	before := lastSequence(m.t, m.admin, m.ctx)
	r, err := c.Command(m.ctx, op, body, "")
	if err != nil {
		m.refused++
		if ce, ok := err.(*client.Error); !ok || ce.Status >= 500 {
			m.t.Errorf("%s: %v", where, err)
		}
		if after := lastSequence(m.t, m.admin, m.ctx); after != before+1 {
			m.t.Errorf("%s: refused (%v) but appended %d events", where, err, after-before-1)
		}
		return nil, err
	}
	m.allowed++
	return r, nil
}

// mustRefuse: a request whose outcome would exceed the caller is refused 403.
func (m *matrixRun) mustRefuse(where string, err error, why []string) {
	m.t.Helper()
	m.forbiddenExceeded++
	if ce, ok := err.(*client.Error); !ok || ce.Status != 403 {
		m.t.Errorf("%s: would exceed the caller in %v, but got %v (want 403)", where, why, err)
	}
}

// credential reads a credential's power as the system admin sees it.
func (m *matrixRun) credential(id string) (p power, revoked bool) {
	m.t.Helper()
	raw, err := m.admin.Query(m.ctx, "credential.get", map[string]any{"credentialId": id, "format": "standard"})
	if err != nil {
		m.t.Fatalf("credential.get %s: %v", id, err)
	}
	var v struct {
		power
		Revoked bool `json:"revoked"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		m.t.Fatal(err)
	}
	return v.power, v.Revoked
}

// inherit is what an issue request asks for once the issuer's caps and expiry fill what it left
// out (docs/WIRE.md: a child inherits the parent's caps as a ceiling, and its expiry).
func inherit(caller, asked power) power {
	return asked.with(func(p *power) {
		if caller.Access != nil {
			access := maps.Clone(caller.Access)
			maps.Copy(access, asked.Access)
			p.Access = access
		}
		if p.ExpiresAt == nil {
			p.ExpiresAt = caller.ExpiresAt
		}
	})
}

func (m *matrixRun) issueMatrix(caller power, c *client.Client, ts []target) {
	for _, tg := range ts {
		m.n++
		where := caller.Role + " " + scopeName(caller) + " credential.issue " + tg.name
		asked := tg.p
		body := asked.body()
		body["id"] = "pw-c" + itoa(m.n)
		_, err := m.try(c, where, "credential.issue", body)
		want := inherit(caller, asked)
		why := exceeds(caller, want)
		switch {
		case err == nil:
			got, _ := m.credential(body["id"].(string))
			if bad := exceeds(caller, got); len(bad) > 0 {
				m.t.Errorf("%s: issued %+v, beyond the caller %+v in %v", where, got, caller, bad)
			}
		case len(why) > 0 && domain.Allowed(caller.Role, "credential.issue"):
			m.mustRefuse(where, err, why)
		}
		// The caller's own power, and what it passes on when the request leaves caps or expiry out,
		// are never refused.
		if (tg.name == "at" || tg.name == "caps left out" || tg.name == "expiry left out") &&
			domain.Allowed(caller.Role, "credential.issue") && err != nil {
			m.t.Errorf("%s: a credential with the caller's own power was refused: %v", where, err)
		}
	}
}

// lifecycleMatrix: for each target, the system admin issues a victim with that power; the caller
// then sets its access to the caller's own caps, rotates, disables, enables and revokes it.
func (m *matrixRun) lifecycleMatrix(caller power, c *client.Client, ts []target) {
	for _, tg := range ts {
		m.n++
		id := "pw-v" + itoa(m.n)
		body := tg.p.body()
		body["id"] = id
		if _, err := m.admin.Command(m.ctx, "credential.issue", body, ""); err != nil {
			continue // not a scope that can exist (an admin outside its reseller, say)
		}
		steps := []struct {
			op   string
			body map[string]any
		}{
			{"credential.set-access", map[string]any{"access": orEmpty(caller.Access)}},
			{"credential.rotate", map[string]any{}},
			{"credential.disable", map[string]any{}},
			{"credential.enable", map[string]any{}},
			{"credential.revoke", map[string]any{}},
		}
		if tg.name == "at" { // the changes themselves, on a victim with the caller's power
			later := time.Now().Add(3 * time.Hour)
			steps = append([]struct {
				op   string
				body map[string]any
			}{
				{"credential.set-access", map[string]any{"access": map[string]string{}}},
				{"credential.set-access", map[string]any{"access": map[string]string{"licenses": "expanded", "credentials": "expanded"}}},
				{"credential.set-access", map[string]any{"access": map[string]string{"licenses": "none"}}},
				{"credential.rotate", map[string]any{"expiresAt": later.UTC().Format(time.RFC3339)}},
			}, steps...)
		}
		for _, st := range steps {
			before, _ := m.credential(id)
			st.body["credentialId"] = id
			where := caller.Role + " " + scopeName(caller) + " " + st.op + " on " + tg.name
			_, err := m.try(c, where, st.op, st.body)
			after, revoked := m.credential(id)
			// What the command asks the victim to become, as the rule judges it.
			asked := before
			if a, ok := st.body["access"].(map[string]string); ok {
				asked.Access = a
			}
			if e, ok := st.body["expiresAt"].(string); ok {
				at, _ := time.Parse(time.RFC3339, e)
				asked.ExpiresAt = &at
			}
			why := exceeds(caller, asked)
			switch {
			case err == nil && !revoked:
				if bad := exceeds(caller, after); len(bad) > 0 {
					m.t.Errorf("%s: the credential is now %+v, beyond the caller %+v in %v", where, after, caller, bad)
				}
			case err == nil && len(exceeds(caller, before)) > 0:
				m.t.Errorf("%s: revoked a credential beyond the caller (%+v)", where, before)
			case err != nil && len(why) > 0 && domain.Allowed(caller.Role, st.op):
				m.mustRefuse(where, err, why)
			}
		}
	}
}

// adminMatrix: the caller creates, updates and deletes admins at each profile level.
func (m *matrixRun) adminMatrix(caller power, c *client.Client) {
	for _, profile := range []string{"tenant-admin", "reseller-admin", "system-admin"} {
		fresh := func() string {
			m.n++
			u := "pw-a" + itoa(m.n)
			body := map[string]any{"resellerId": pwReseller, "username": u, "userProfileType": profile}
			if profile == "tenant-admin" {
				body["tenantId"] = pwTenant
			}
			if _, err := m.admin.Command(m.ctx, "admin.create", body, ""); err != nil {
				m.t.Fatal(err)
			}
			return u
		}
		check := func(where string, err error, levels ...string) {
			high := 0
			for _, l := range levels {
				high = max(high, profileLevel[l])
			}
			if err == nil && high > caller.level() {
				m.t.Errorf("%s: allowed at level %d, above the caller's %d", where, high, caller.level())
			}
			if err != nil && high > caller.level() && domain.Allowed(caller.Role, "admin.update") {
				m.mustRefuse(where, err, []string{"level"})
			}
		}
		prefix := caller.Role + " " + scopeName(caller) + " "
		m.n++
		body := map[string]any{"resellerId": pwReseller, "username": "pw-n" + itoa(m.n), "userProfileType": profile}
		if profile == "tenant-admin" {
			body["tenantId"] = pwTenant
		}
		_, err := m.try(c, prefix+"admin.create "+profile, "admin.create", body)
		check(prefix+"admin.create "+profile, err, profile)

		u := fresh()
		_, err = m.try(c, prefix+"admin.update "+profile, "admin.update", map[string]any{"username": u, "firstName": "Renamed"})
		check(prefix+"admin.update "+profile, err, profile)
		for _, to := range []string{"reseller-admin", "system-admin"} {
			u := fresh()
			where := prefix + "admin.update " + profile + " to " + to
			_, err := m.try(c, where, "admin.update", map[string]any{"username": u, "userProfileType": to})
			check(where, err, profile, to)
		}
		u = fresh()
		_, err = m.try(c, prefix+"admin.delete "+profile, "admin.delete", map[string]any{"username": u})
		check(prefix+"admin.delete "+profile, err, profile)
	}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func scopeName(p power) string {
	b, _ := json.Marshal(p.Scope)
	s := string(b)
	if p.Access != nil {
		s += " capped"
	}
	if p.ExpiresAt != nil {
		s += " expiring"
	}
	return s
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// buildPowerWorld creates the matrix's world as the system admin.
func buildPowerWorld(t *testing.T, ctx context.Context, admin *client.Client) {
	t.Helper()
	steps := []struct {
		cmd  string
		body map[string]any
	}{
		{"reseller.create", map[string]any{"id": pwReseller, "name": "R"}},
		{"reseller.create", map[string]any{"id": pwOther, "name": "X"}},
		{"tenant.create", map[string]any{"id": pwTenant, "resellerId": pwReseller, "name": "T"}},
		{"tenant.create", map[string]any{"id": pwTenant2, "resellerId": pwReseller, "name": "T2"}},
		{"tenant.create", map[string]any{"id": pwOtherTenant, "resellerId": pwOther, "name": "XT"}},
		{"product.create", map[string]any{"id": pwProduct, "name": "P"}},
		{"plan.create", map[string]any{"id": pwPlan, "productId": pwProduct, "name": "Plan", "tier": 1, "seats": 10, "machines": 10}},
		{"license.create", map[string]any{"id": pwLicense, "resellerId": pwReseller, "tenantId": pwTenant, "planId": pwPlan}},
		{"license.create", map[string]any{"id": pwOtherLicense, "resellerId": pwOther, "tenantId": pwOtherTenant, "planId": pwPlan}},
		{"seat.register", map[string]any{"licenseId": pwLicense, "endUserCompany": "Acme", "endUserName": "ann"}},
	}
	for _, u := range slices.Sorted(maps.Keys(pwAdmins)) {
		a := pwAdmins[u]
		body := map[string]any{"resellerId": a.reseller, "username": u, "userProfileType": a.profile}
		if a.tenant != "" {
			body["tenantId"] = a.tenant
		}
		steps = append(steps, struct {
			cmd  string
			body map[string]any
		}{"admin.create", body})
	}
	for _, s := range steps {
		if _, err := admin.Command(ctx, s.cmd, s.body, ""); err != nil {
			t.Fatalf("%s: %v", s.cmd, err)
		}
	}
}

// TestPowerMatrixOverNATS runs the matrix (see the top of this file).
func TestPowerMatrixOverNATS(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx := context.Background()
	buildPowerWorld(t, ctx, admin)
	m := &matrixRun{t: t, ctx: ctx, nc: nc, admin: admin}
	now := time.Now().UTC().Truncate(time.Second)
	for _, caller := range matrixCallers(now) {
		body := caller.body()
		_, token := issueCredential(t, admin, body)
		c := client.New(nc, token)
		ts := matrixTargets(caller, now)
		m.issueMatrix(caller, c, ts)
		if domain.Allowed(caller.Role, "credential.rotate") {
			m.lifecycleMatrix(caller, c, ts)
		} else {
			m.lifecycleMatrix(caller, c, ts[:1]) // the matrix refuses each: FORBIDDEN, nothing appended
		}
		if domain.Allowed(caller.Role, "admin.create") || caller.Access == nil {
			m.adminMatrix(caller, c)
		}
		if t.Failed() {
			break // one caller's failures say enough
		}
	}
	if m.allowed < 300 || m.refused < 300 || m.forbiddenExceeded < 200 {
		t.Fatalf("allowed %d, refused %d, refused for exceeding %d: the generator lost its cases", m.allowed, m.refused, m.forbiddenExceeded)
	}
	testreport.Line(t, "power matrix: %d power-changing requests over NATS (%d allowed and within the caller, %d refused, %d of them for exceeding it, each 403 and appending nothing)",
		m.allowed+m.refused, m.allowed, m.refused, m.forbiddenExceeded)
}
