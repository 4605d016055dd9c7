package domain

import "sort"

// Queries lists every query the ledger serves, by wire name.
var Queries = []string{
	"usage.quota", "usage.summary", "dashboard.show", "dashboard.history", "license.validate", "license.signing-keys", "seat.authenticate",
	"tenant.get", "tenant.list", "admin.get", "admin.list", "product.list", "plan.list",
	"license.details", "role.show", "credential.get", "credential.list", "webhook.list", "webhook.deliveries",
	"audit.checkpoint", "audit.inclusion", "audit.consistency", "audit.events",
}

// Operations lists every command and query the ledger serves, by wire name. The permission
// matrix below is over exactly these; a test keeps the list equal to what the handlers serve.
var Operations = append([]string{
	"reseller.create", "tenant.create", "tenant.update", "product.create", "plan.create",
	"license.create", "license.upgrade", "license.downgrade", "license.suspend", "license.reinstate",
	"license.renew", "license.expire", "license.terminate", "license.note", "license.set-quota",
	"license.rotate-key", "license.checkout", "machine.heartbeat", "license.attach-entitlements", "license.detach-entitlements",
	"entitlement.create", "plan.attach-entitlements", "plan.detach-entitlements", "seat.register", "seat.unregister", "machine.activate", "machine.deactivate",
	"admin.create", "admin.update", "admin.delete", AdminLoginOp,
	"credential.issue", "credential.disable", "credential.enable", "credential.revoke",
	"credential.rotate", "credential.set-access", "credential.update", "credential.delete",
	"webhook.create", "webhook.update", "webhook.disable", "webhook.enable", "webhook.delete", BatchSubmit,
}, Queries...)

// AdminLoginOp opens an admin's login session. It is open to everyone, with or without a token:
// the password is the credential (handlers check it and limit failures).
const AdminLoginOp = "admin.login"

// BatchSubmit sends many commands in one request. Each of them is authorized on its own, so a role
// may submit a batch if it may send any command at all (init, below).
const BatchSubmit = "batch.submit"

// Capability sets the seeds speak in. Each role below is a union of these.
var (
	// Whoever may search licenses may also take a signed license file of one they reach
	// (license.checkout appends an event, but changes nothing).
	searchLicenses = []string{"product.list", "plan.list", "usage.quota", "usage.summary", "dashboard.show", "dashboard.history", "license.validate", "seat.authenticate", "license.details", "role.show", "license.checkout", "license.signing-keys"}
	// Partner Central: "modify existing licenses" (activation, notes, retrieval, terminating, …);
	// the limited roles may not "assign a product configuration" (the seat quota).
	limitedModify = []string{"license.note", "license.renew", "license.terminate", "license.rotate-key",
		"seat.register", "seat.unregister", "machine.activate", "machine.deactivate"}
	// The license's own entitlements are product configuration too (no limited role has them).
	modify         = append([]string{"license.set-quota", "license.expire", "license.attach-entitlements", "license.detach-entitlements"}, limitedModify...)
	createLicenses = []string{"license.create"}
	upgrade        = []string{"license.upgrade"}
	downgrade      = []string{"license.downgrade"}
	suspend        = []string{"license.suspend", "license.reinstate"}
	// Partner Central: a reseller's every level "can search for customers"; a client's cannot.
	searchCustomers = []string{"tenant.get", "tenant.list"}
	createCustomers = []string{"tenant.create"}
	modifyCustomers = []string{"tenant.update"}
	// APIO: whoever manages admins retrieves them (admin.get, admin.list).
	manageAdmins = []string{"admin.create", "admin.update", "admin.delete", "admin.get", "admin.list"}
	manageLogins = []string{"credential.issue", "credential.disable", "credential.enable", "credential.revoke", "credential.rotate", "credential.set-access", "credential.update", "credential.delete", "credential.get", "credential.list"}
	createPlans  = []string{"plan.create", "entitlement.create", "plan.attach-entitlements", "plan.detach-entitlements"} // Keygen: "create policies" and their entitlements
	// Webhooks and their deliveries: a reseller's whole feed, so for whoever sees all of it.
	manageWebhooks = []string{"webhook.create", "webhook.update", "webhook.disable", "webhook.enable", "webhook.delete", "webhook.list", "webhook.deliveries"}
	// The history, its checkpoints and proofs: the whole log, so only with a system scope.
	audit = []string{"audit.checkpoint", "audit.inclusion", "audit.consistency", "audit.events"}
)

func union(sets ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, s := range sets {
		for _, op := range s {
			m[op] = true
		}
	}
	return m
}

func all() map[string]bool { return union(Operations) }

// permissions is the one permission matrix: role -> the operations it may perform. Scope (which
// reseller, tenant, product, license or user) narrows it further; see the authorization issue.
var permissions = map[string]map[string]bool{
	// Partner Central (Odin): clients work on their licenses; resellers also on customers.
	"client-all":        union(searchLicenses, modify, createLicenses, upgrade, downgrade, suspend),
	"client-advanced":   union(searchLicenses, modify, createLicenses, upgrade, downgrade),
	"client-standard":   union(searchLicenses, modify, createLicenses, upgrade),
	"client-limited":    union(searchLicenses, limitedModify),
	"reseller-all":      union(searchLicenses, searchCustomers, modify, createLicenses, upgrade, downgrade, suspend, createCustomers, modifyCustomers),
	"reseller-advanced": union(searchLicenses, searchCustomers, modify, createLicenses, upgrade, downgrade, createCustomers),
	"reseller-standard": union(searchLicenses, searchCustomers, modify, createLicenses, upgrade, createCustomers),
	"reseller-limited":  union(searchLicenses, searchCustomers, limitedModify),

	// Keygen: admin and developer everything; agents read everything and change licenses and
	// machines to the extent the seed lists; product everything about its product's licenses;
	// user reads its licenses and handles its machines; license activates machines and validates.
	"admin":     all(),
	"developer": all(),
	"sales-agent": union(searchLicenses, searchCustomers, createPlans, createLicenses, upgrade, downgrade, suspend, modify,
		[]string{"license.terminate", "machine.activate", "machine.deactivate"}),
	"support-agent": union(searchLicenses, searchCustomers, upgrade, downgrade, suspend,
		[]string{"license.note", "license.renew", "license.expire", "license.set-quota", "license.rotate-key", "seat.register", "seat.unregister"}),
	"product": union(searchLicenses, createPlans, createLicenses, upgrade, downgrade, suspend, modify),
	"user":    union(searchLicenses, []string{"machine.activate", "machine.deactivate"}),
	// (license.details: Keygen's license token reads its own machines.)
	"license":   union([]string{"license.validate", "license.signing-keys", "machine.activate", "machine.deactivate", "role.show", "license.checkout", "license.details"}),
	"anonymous": union([]string{"license.validate", "license.signing-keys"}),

	// APIO: the system admin does everything; a reseller admin everything within its reseller
	// but the system-wide catalogue; a tenant admin its tenant's seats, machines and admins.
	"system-admin":   all(),
	"reseller-admin": union(searchLicenses, searchCustomers, modify, createLicenses, upgrade, downgrade, suspend, createCustomers, modifyCustomers, manageAdmins, manageLogins, manageWebhooks),
	"tenant-admin":   union(searchLicenses, searchCustomers, []string{"license.note", "seat.register", "seat.unregister", "machine.activate", "machine.deactivate"}, manageAdmins),

	// An auditor reads and verifies the history and nothing else (on NATS too: see
	// natsapi.CredentialNATSPermissions).
	"auditor": union(audit),
}

func init() {
	// A machine that may be activated may send heartbeats; anyone may log an admin in (the
	// password is the credential), so no role has power over another by it.
	for _, ops := range permissions {
		if ops["machine.activate"] {
			ops["machine.heartbeat"] = true
		}
		ops[AdminLoginOp] = true
	}
	queries := union(Queries)
	for _, ops := range permissions {
		for op := range ops {
			if !queries[op] && op != BatchSubmit && op != AdminLoginOp {
				ops[BatchSubmit] = true
				break
			}
		}
	}
}

// Allowed reports whether role may perform operation op (before scope is considered).
func Allowed(role, op string) bool { return permissions[role][op] }

// AllowedEverything reports whether role may perform every operation (admin, developer,
// system-admin): Keygen's admins, who may set protected attributes and, with a system scope,
// see the whole ledger.
func AllowedEverything(role string) bool { return len(permissions[role]) == len(Operations) }

// RoleOperations lists, sorted, the operations a role may perform (Odin's "View" button), or
// false for an unknown role.
func RoleOperations(role string) ([]string, bool) {
	p, ok := permissions[role]
	if !ok {
		return nil, false
	}
	ops := make([]string, 0, len(p))
	for op := range p {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops, true
}
