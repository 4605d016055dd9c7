package domain_test

import (
	"testing"

	"github.com/licledger/licledger/domain"
)

func ops(role string) map[string]bool {
	list, _ := domain.RoleOperations(role)
	m := map[string]bool{}
	for _, op := range list {
		m[op] = true
	}
	return m
}

// minus returns what a has and b lacks.
func minus(a, b map[string]bool) []string {
	var out []string
	for op := range a {
		if !b[op] {
			out = append(out, op)
		}
	}
	return out
}

func TestEveryRoleHasARowAndOnlyKnownOperations(t *testing.T) {
	known := map[string]bool{}
	for _, op := range domain.Operations {
		known[op] = true
	}
	for _, r := range domain.Roles {
		list, ok := domain.RoleOperations(r)
		if !ok || len(list) == 0 {
			t.Errorf("role %s has no row in the matrix", r)
		}
		for _, op := range list {
			if !known[op] {
				t.Errorf("role %s allows unknown operation %s", r, op)
			}
		}
	}
	if _, ok := domain.RoleOperations("king"); ok {
		t.Error("an unknown role has a row")
	}
}

// TestPartnerCentralRoles checks the seed's sentences one by one.
func TestPartnerCentralRoles(t *testing.T) {
	same := func(t *testing.T, got []string, want ...string) {
		t.Helper()
		g := map[string]bool{}
		for _, op := range got {
			g[op] = true
		}
		w := map[string]bool{}
		for _, op := range want {
			w[op] = true
		}
		if len(minus(g, w)) > 0 || len(minus(w, g)) > 0 {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	// "Advanced: all operations on licenses except for the suspending."
	same(t, minus(ops("client-all"), ops("client-advanced")), "license.suspend", "license.reinstate")
	// "Standard: except for the downgrade and suspension."
	same(t, minus(ops("client-all"), ops("client-standard")), "license.suspend", "license.reinstate", "license.downgrade")
	// "Limited: no create, upgrade, downgrade, suspend, or product configuration" (the seats, and
	// the license's own entitlements).
	same(t, minus(ops("client-all"), ops("client-limited")), "license.create", "license.upgrade", "license.downgrade",
		"license.suspend", "license.reinstate", "license.set-quota", "license.expire", "license.attach-entitlements", "license.detach-entitlements")
	// Reseller roles: the client role's license operations plus customers by level.
	same(t, minus(ops("reseller-all"), ops("client-all")), "tenant.get", "tenant.list", "tenant.create", "tenant.update")
	same(t, minus(ops("reseller-advanced"), ops("client-advanced")), "tenant.get", "tenant.list", "tenant.create")
	same(t, minus(ops("reseller-standard"), ops("client-standard")), "tenant.get", "tenant.list", "tenant.create")
	// "Limited: search for customers" and nothing more than a client's limited role.
	same(t, minus(ops("reseller-limited"), ops("client-limited")), "tenant.get", "tenant.list")
	for _, r := range []string{"client-all", "client-advanced", "client-standard", "client-limited", "reseller-all", "reseller-advanced", "reseller-standard", "reseller-limited"} {
		for _, op := range []string{"reseller.create", "product.create", "plan.create", "admin.create", "credential.issue"} {
			if domain.Allowed(r, op) {
				t.Errorf("%s may %s", r, op)
			}
		}
	}
}

func TestKeygenAndAPIORoles(t *testing.T) {
	for _, r := range []string{"admin", "developer", "system-admin"} {
		if len(ops(r)) != len(domain.Operations) {
			t.Errorf("%s may not do everything", r)
		}
	}
	if got := ops("anonymous"); len(got) != 3 || !got["license.validate"] || !got["license.signing-keys"] || !got[domain.AdminLoginOp] {
		t.Errorf("anonymous: %v", got)
	}
	// Support agents update licenses and machines but create and delete nothing.
	for _, op := range []string{"license.create", "license.terminate", "machine.activate", "machine.deactivate", "plan.create", "admin.delete", "credential.revoke"} {
		if domain.Allowed("support-agent", op) {
			t.Errorf("support-agent may %s", op)
		}
	}
	// Sales agents create policies and licenses, and delete licenses and machines, but manage no
	// logins or admins.
	for op, want := range map[string]bool{"plan.create": true, "license.create": true, "license.terminate": true, "machine.deactivate": true,
		"product.create": false, "admin.create": false, "credential.issue": false} {
		if domain.Allowed("sales-agent", op) != want {
			t.Errorf("sales-agent %s: want %v", op, want)
		}
	}
	// A license token activates machines and keeps them alive, validates, takes its license file
	// and reads its own machines (license.details); nothing else changes.
	// (A batch carries only what the role may send alone: batch.submit adds nothing; admin.login
	// is open to all.)
	if got := minus(ops("license"), map[string]bool{domain.AdminLoginOp: true, "license.validate": true, "machine.activate": true, "machine.deactivate": true, "role.show": true, "batch.submit": true, "license.checkout": true, "license.signing-keys": true,
		"machine.heartbeat": true, "license.details": true}); len(got) > 0 {
		t.Errorf("license may also %v", got)
	}
	// APIO: the catalogue is the system admin's alone.
	for _, r := range []string{"reseller-admin", "tenant-admin"} {
		if domain.Allowed(r, "product.create") || domain.Allowed(r, "reseller.create") {
			t.Errorf("%s may change the system catalogue", r)
		}
	}
	if !domain.Allowed("tenant-admin", "admin.delete") || domain.Allowed("tenant-admin", "license.create") {
		t.Error("tenant-admin row")
	}
}

// TestBatchSubmitGoesWithCommands: a role may submit a batch exactly when it may send some
// command (each of the batch's commands is then authorized on its own); admin.login, open to
// all, never goes in a batch.
func TestBatchSubmitGoesWithCommands(t *testing.T) {
	queries := map[string]bool{}
	for _, q := range domain.Queries {
		queries[q] = true
	}
	for _, role := range domain.Roles {
		hasCommand := false
		for op := range ops(role) {
			hasCommand = hasCommand || !queries[op] && op != domain.BatchSubmit && op != domain.AdminLoginOp
		}
		if domain.Allowed(role, domain.BatchSubmit) != hasCommand {
			t.Errorf("%s: batch.submit %v, but sends commands %v", role, domain.Allowed(role, domain.BatchSubmit), hasCommand)
		}
	}
	for _, role := range []string{"anonymous", "auditor"} {
		if domain.Allowed(role, domain.BatchSubmit) {
			t.Errorf("%s may submit a batch", role)
		}
	}
}
