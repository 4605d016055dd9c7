package domain_test

import (
	"testing"

	"github.com/licledger/licledger/domain"
)

func TestAuthorize(t *testing.T) {
	s := given(t, credWorld(reg("ann", 0),
		domain.CredentialIssued{ID: "boss", Role: "system-admin", Scope: domain.Scope{ResellerID: "r1"}, TokenHash: "h9", TokenPrefix: "lic_cc"},
		domain.LicenseCreated{ID: "lp", ResellerID: "r1", TenantID: "t1", ProductID: "p1", PlanID: "plan2", KeyHash: "hp", Seats: 2, Machines: 1, Protected: true},
		domain.SeatRegistered{LicenseID: "lp", ResellerID: "r1", TenantID: "t1", EndUserCompany: "Acme", EndUserName: "ann"})...)
	caller := func(role string, sc domain.Scope) domain.Credential {
		return domain.Credential{ID: "me", Role: role, Scope: sc}
	}
	reseller1 := caller("reseller-admin", domain.Scope{ResellerID: "r1"})
	annOfAcme := domain.Scope{EndUserCompany: "Acme", EndUserName: "ann"}
	cases := []struct {
		name   string
		caller domain.Credential
		cmd    domain.Command
		code   domain.Code // "" allowed
		field  string
	}{
		{"system reaches everything", caller("system-admin", domain.Scope{}), domain.ProductCreate{ID: "p9", Name: "P"}, "", ""},
		{"a reseller's own license", reseller1, domain.LicenseNote{LicenseID: "l1", Note: "x"}, "", ""},
		{"another reseller's tenant", reseller1, domain.TenantCreate{ID: "t9", ResellerID: "r2", Name: "T"}, domain.CodeOutOfScope, "resellerId"},
		{"the catalogue is the system's", reseller1, domain.ProductCreate{ID: "p9", Name: "P"}, domain.CodeOutOfScope, ""},
		{"a missing license is left to the decision", reseller1, domain.LicenseNote{LicenseID: "nope", Note: "x"}, "", ""},
		{"a tenant scope does not reach a new tenant", caller("tenant-admin", domain.Scope{ResellerID: "r1", TenantID: "t1"}),
			domain.TenantCreate{ID: "t9", ResellerID: "r1", Name: "T"}, domain.CodeOutOfScope, "id"},
		{"a reseller scope names the reseller of a tenant beyond it", reseller1,
			domain.TenantCreate{ID: "t9", ResellerID: "r2", Name: "T"}, domain.CodeOutOfScope, "resellerId"},
		{"a reseller scope names the reseller of an admin beyond it", reseller1,
			domain.AdminCreate{Username: "zed", ResellerID: "r2", UserProfileType: "reseller"}, domain.CodeOutOfScope, "resellerId"},
		{"a tenant scope names the tenant of a license beyond it", caller("tenant-admin", domain.Scope{ResellerID: "r1", TenantID: "t1"}),
			domain.LicenseCreate{ID: "l9", ResellerID: "r1", TenantID: "t2", PlanID: "plan2"}, domain.CodeOutOfScope, "tenantId"},
		{"a product scope reaches its plans", caller("product", domain.Scope{ProductID: "p1"}),
			domain.PlanCreate{ID: "plan9", ProductID: "p1", Name: "P", Tier: 5, Seats: 1, Machines: 1}, "", ""},
		{"a product scope does not reach another product", caller("product", domain.Scope{ProductID: "p2"}),
			domain.LicenseNote{LicenseID: "l1", Note: "x"}, domain.CodeOutOfScope, "licenseId"},
		{"a license scope reaches its license", caller("license", domain.Scope{LicenseID: "l1"}),
			domain.MachineActivate{LicenseID: "l1", Fingerprint: "f"}, "", ""},
		{"a user reaches a license it holds a seat on", caller("user", annOfAcme),
			domain.MachineActivate{LicenseID: "l1", Fingerprint: "f"}, "", ""},
		{"a user reaches no license it holds no seat on", caller("user", domain.Scope{EndUserCompany: "Acme", EndUserName: "bob"}),
			domain.MachineActivate{LicenseID: "l1", Fingerprint: "f"}, domain.CodeOutOfScope, "licenseId"},
		{"a user of the same name in another company reaches nothing", caller("user", domain.Scope{EndUserCompany: "Other", EndUserName: "ann"}),
			domain.MachineActivate{LicenseID: "l1", Fingerprint: "f"}, domain.CodeOutOfScope, "licenseId"},
		{"a scope naming only an admin reaches no license by a seat holder's name", caller("user", domain.Scope{UserID: "ann"}),
			domain.MachineActivate{LicenseID: "l1", Fingerprint: "f"}, domain.CodeOutOfScope, "licenseId"},
		{"a user's scope reaches no seat of the same name in another company", caller("user", annOfAcme),
			domain.SeatUnregister{LicenseID: "l1", EndUserCompany: "Other", EndUserName: "ann"}, domain.CodeOutOfScope, "endUserCompany"},
		{"a user registers itself only", caller("user", annOfAcme),
			domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "cy"}, domain.CodeOutOfScope, "endUserName"},
		{"with other fields, userId names the admin, not the reach", caller("tenant-admin", domain.Scope{ResellerID: "r1", TenantID: "t1", UserID: "tina"}),
			domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "cy"}, "", ""},
		{"a credential within the caller's scope and role", reseller1,
			domain.CredentialIssue{ID: "c9", Role: "client-limited", Scope: domain.Scope{ResellerID: "r1", TenantID: "t1"}}, "", ""},
		{"a credential wider than the caller's scope", reseller1,
			domain.CredentialIssue{ID: "c9", Role: "client-limited", Scope: domain.Scope{}}, domain.CodeOutOfScope, "scope.resellerId"},
		{"a credential with a stronger role", reseller1,
			domain.CredentialIssue{ID: "c9", Role: "system-admin", Scope: domain.Scope{ResellerID: "r1"}}, domain.CodeRoleEscalation, "role"},
		{"managing a credential with a stronger role", reseller1,
			domain.CredentialDisable{CredentialID: "boss"}, domain.CodeRoleEscalation, "credentialId"},
		{"managing a credential of an equal role", reseller1, domain.CredentialRotate{CredentialID: "c1", TokenHash: "x"}, "", ""},
		{"a protected license by an admin", caller("admin", domain.Scope{}),
			domain.LicenseCreate{ResellerID: "r1", TenantID: "t1", PlanID: "plan2", Protected: true}, "", ""},
		{"a protected license by its product", caller("product", domain.Scope{ProductID: "p1"}),
			domain.LicenseCreate{ResellerID: "r1", TenantID: "t1", PlanID: "plan2", Protected: true}, "", ""},
		{"a protected license by a reseller", reseller1,
			domain.LicenseCreate{ResellerID: "r1", TenantID: "t1", PlanID: "plan2", Protected: true}, domain.CodeProtected, "protected"},
		{"an unprotected license by a reseller", reseller1,
			domain.LicenseCreate{ResellerID: "r1", TenantID: "t1", PlanID: "plan2"}, "", ""},
		{"a user's machines on a protected license", caller("user", annOfAcme),
			domain.MachineActivate{LicenseID: "lp", Fingerprint: "f"}, domain.CodeProtected, "licenseId"},
		{"a license token's machines on a protected license", caller("license", domain.Scope{LicenseID: "lp"}),
			domain.MachineDeactivate{LicenseID: "lp", Fingerprint: "f"}, domain.CodeProtected, "licenseId"},
		{"its product manages a protected license's machines", caller("product", domain.Scope{ProductID: "p1"}),
			domain.MachineActivate{LicenseID: "lp", Fingerprint: "f"}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Authorize(c.caller, c.cmd)
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, _ := err.(*domain.Error)
			if e == nil || e.Code != c.code || e.Field != c.field {
				t.Fatalf("got %v, want %s (field %q)", err, c.code, c.field)
			}
		})
	}
}

func TestScopeString(t *testing.T) {
	if got := (domain.Scope{}).String(); got != "system" {
		t.Errorf("empty scope: %q", got)
	}
	if got := (domain.Scope{ResellerID: "r1", TenantID: "t1"}).String(); got != "reseller r1, tenant t1" {
		t.Errorf("tenant scope: %q", got)
	}
}
