package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
)

// powerWorld adds admins at each level to the world: sys (system-admin), ra (reseller-admin) and
// ta (tenant-admin of t1), all of reseller r1, and credentials acting for sys and ra.
func powerWorld(extra ...domain.Event) []domain.Event {
	return withWorld(append([]domain.Event{
		domain.TenantCreated{ID: "t2", ResellerID: "r2", Name: "Globex"},
		domain.AdminCreated{Username: "sys", ResellerID: "r1", UserProfileType: "system-admin"},
		domain.AdminCreated{Username: "ra", ResellerID: "r1", UserProfileType: "reseller-admin"},
		domain.AdminCreated{Username: "ta", ResellerID: "r1", TenantID: "t1", UserProfileType: "tenant-admin"},
		domain.CredentialIssued{ID: "c-sys", Role: "system-admin", Scope: domain.Scope{ResellerID: "r1", UserID: "sys"}, TokenHash: "h1"},
		domain.CredentialIssued{ID: "b-sys", Role: "reseller-admin", Scope: domain.Scope{ResellerID: "r1", UserID: "sys"}, TokenHash: "h2"},
		domain.CredentialIssued{ID: "a-ra", Role: "client-limited", Scope: domain.Scope{ResellerID: "r1", UserID: "ra"}, TokenHash: "h3"},
	}, extra...)...)
}

func TestAdminChangesRevokeTheCredentialsActingForIt(t *testing.T) {
	reseller := "reseller-admin"
	runDecideCases(t, []decideCase{
		{name: "deleting an admin revokes every credential acting for it, in id order", given: powerWorld(),
			when: domain.AdminDelete{Username: "sys"},
			then: []domain.Event{
				domain.AdminDeleted{Username: "sys", ResellerID: "r1"},
				domain.CredentialRevoked{CredentialID: "b-sys", ResellerID: "r1", Reason: "admin sys was deleted"},
				domain.CredentialRevoked{CredentialID: "c-sys", ResellerID: "r1", Reason: "admin sys was deleted"},
			}},
		{name: "a lower profile revokes the credentials whose role exceeds it", given: powerWorld(),
			when: domain.AdminUpdate{Username: "sys", UserProfileType: &reseller},
			then: []domain.Event{
				domain.AdminUpdated{Username: "sys", ResellerID: "r1", UserProfileType: &reseller},
				domain.CredentialRevoked{CredentialID: "c-sys", ResellerID: "r1", Reason: "admin sys became a reseller-admin"},
			}},
		{name: "a revoked credential is not revoked again", given: powerWorld(domain.CredentialRevoked{CredentialID: "a-ra", ResellerID: "r1"}),
			when: domain.AdminDelete{Username: "ra"},
			then: []domain.Event{domain.AdminDeleted{Username: "ra", ResellerID: "r1"}}},
	})
}

func TestCredentialScopesNameWhatExists(t *testing.T) {
	issue := func(role string, sc domain.Scope) domain.CredentialIssue {
		return domain.CredentialIssue{ID: "new", Role: role, Scope: sc, TokenHash: "hx"}
	}
	past := t0.Add(-time.Hour)
	runDecideCases(t, []decideCase{
		{name: "a tenant of another reseller", given: powerWorld(), when: issue("client-limited", domain.Scope{ResellerID: "r1", TenantID: "t2"}),
			code: domain.CodeTenantMismatch, field: "scope.tenantId"},
		{name: "a license of another tenant", given: powerWorld(), when: issue("client-limited", domain.Scope{ResellerID: "r2", LicenseID: "l1"}),
			code: domain.CodeScopeMismatch, field: "scope.licenseId"},
		{name: "an admin that does not exist", given: powerWorld(), when: issue("client-limited", domain.Scope{ResellerID: "r1", UserID: "ghost"}),
			code: domain.CodeAdminNotFound, field: "scope.userId"},
		{name: "an admin of another reseller", given: powerWorld(), when: issue("client-limited", domain.Scope{ResellerID: "r2", UserID: "ra"}),
			code: domain.CodeScopeMismatch, field: "scope.resellerId"},
		{name: "a tenant admin's credential beyond its tenant", given: powerWorld(), when: issue("tenant-admin", domain.Scope{ResellerID: "r1", UserID: "ta"}),
			code: domain.CodeScopeMismatch, field: "scope.tenantId"},
		{name: "a role beyond the admin's profile", given: powerWorld(), when: issue("reseller-admin", domain.Scope{ResellerID: "r1", TenantID: "t1", UserID: "ta"}),
			code: domain.CodeRoleEscalation, field: "role"},
		{name: "an end user without a company", given: powerWorld(), when: issue("user", domain.Scope{EndUserName: "ann"}),
			code: domain.CodeInvalidArgument, field: "scope.endUserCompany"},
		{name: "an end user acting for an admin", given: powerWorld(), when: issue("user", domain.Scope{ResellerID: "r1", EndUserCompany: "Acme", EndUserName: "ann", UserID: "ra"}),
			code: domain.CodeFieldNotAllowed, field: "scope.userId"},
		{name: "a resource without a view", given: powerWorld(), when: domain.CredentialIssue{ID: "new", Role: "user", TokenHash: "hx",
			Scope: domain.Scope{EndUserCompany: "Acme", EndUserName: "ann"}, Access: map[string]string{"seats": "basic"}},
			code: domain.CodeInvalidArgument, field: "access.seats"},
		{name: "an expiry in the past", given: powerWorld(), now: t0, when: domain.CredentialIssue{ID: "new", Role: "user", TokenHash: "hx",
			Scope: domain.Scope{EndUserCompany: "Acme", EndUserName: "ann"}, ExpiresAt: &past},
			code: domain.CodeInvalidArgument, field: "expiresAt"},
		{name: "an expiry now is not in the future", given: powerWorld(), now: t0, when: domain.CredentialRotate{CredentialID: "a-ra", TokenHash: "hy", ExpiresAt: &t0},
			code: domain.CodeInvalidArgument, field: "expiresAt"},
		{name: "a credential acting for an admin within its reseller and tenant", given: powerWorld(),
			when: issue("tenant-admin", domain.Scope{ResellerID: "r1", TenantID: "t1", UserID: "ta"}),
			then: []domain.Event{domain.CredentialIssued{ID: "new", Role: "tenant-admin", Scope: domain.Scope{ResellerID: "r1", TenantID: "t1", UserID: "ta"}, TokenHash: "hx"}}},
	})
}

func TestLevel(t *testing.T) {
	s := given(t, powerWorld()...)
	for _, c := range []struct {
		role  string
		scope domain.Scope
		want  int
	}{
		{"system-admin", domain.Scope{}, 3},
		{"admin", domain.Scope{ResellerID: "r1"}, 2}, // a role allowed everything, within one reseller
		{"reseller-admin", domain.Scope{}, 2},
		{"reseller-admin", domain.Scope{ResellerID: "r1", TenantID: "t1"}, 1},
		{"tenant-admin", domain.Scope{ResellerID: "r1"}, 1},
		{"client-all", domain.Scope{ResellerID: "r1"}, 0},
		{"system-admin", domain.Scope{ProductID: "p1"}, 0},
		{"system-admin", domain.Scope{ResellerID: "r1", UserID: "ra"}, 2}, // the admin it acts for caps it
		{"system-admin", domain.Scope{ResellerID: "r1", UserID: "gone"}, 0},
		{"system-admin", domain.Scope{UserID: "sys"}, 0}, // reaches its admin record only
	} {
		if got := s.Level(domain.Credential{Role: c.role, Scope: c.scope}); got != c.want {
			t.Errorf("Level(%s, %s) = %d; want %d", c.role, c.scope, got, c.want)
		}
	}
}

// TestEveryPowerCommandIsChecked: every command on credentials or admins is a power command, and
// each one, aimed by a weak caller at a stronger credential or admin, is refused by the rule.
func TestEveryPowerCommandIsChecked(t *testing.T) {
	var commands []string
	for _, op := range domain.Operations {
		// admin.login is no caller's power: the password is the credential, and the session it
		// opens has exactly the admin's profile (TestAdminLogin).
		if !slices.Contains(domain.Queries, op) && op != domain.AdminLoginOp && (strings.HasPrefix(op, "credential.") || strings.HasPrefix(op, "admin.")) {
			commands = append(commands, op)
		}
	}
	slices.Sort(commands)
	if want := slices.Sorted(slices.Values(domain.PowerCommands)); !slices.Equal(commands, want) {
		t.Fatalf("commands on credentials and admins %v; PowerCommands %v", commands, want)
	}
	s := given(t, powerWorld()...)
	weak := domain.Credential{ID: "me", Role: "tenant-admin", Scope: domain.Scope{ResellerID: "r1"}}
	system := "system-admin"
	aimed := map[string]domain.Command{
		"credential.issue":      domain.CredentialIssue{ID: "x", Role: "system-admin", Scope: domain.Scope{ResellerID: "r1"}},
		"credential.rotate":     domain.CredentialRotate{CredentialID: "c-sys"},
		"credential.enable":     domain.CredentialEnable{CredentialID: "c-sys"},
		"credential.disable":    domain.CredentialDisable{CredentialID: "c-sys"},
		"credential.revoke":     domain.CredentialRevoke{CredentialID: "c-sys"},
		"credential.set-access": domain.CredentialSetAccess{CredentialID: "c-sys", Access: map[string]string{}},
		"credential.update":     domain.CredentialUpdate{CredentialID: "c-sys", Description: new("mine now")},
		"credential.delete":     domain.CredentialDelete{CredentialID: "c-sys"},
		"admin.create":          domain.AdminCreate{ResellerID: "r1", Username: "x", UserProfileType: "reseller-admin"},
		"admin.update":          domain.AdminUpdate{Username: "ta", UserProfileType: &system},
		"admin.delete":          domain.AdminDelete{Username: "ra"},
	}
	for _, op := range commands {
		cmd, ok := aimed[op]
		if !ok {
			t.Errorf("%s: no case here; add one aimed above the weak caller", op)
			continue
		}
		err := s.Authorize(weak, cmd)
		switch domain.ErrorCode(err) {
		case domain.CodeRoleEscalation, domain.CodeLevelEscalation, domain.CodeOutOfScope, domain.CodeActsForAnother:
		default:
			t.Errorf("%s above the caller: %v; want a 403 of the rule", op, err)
		}
	}
}
