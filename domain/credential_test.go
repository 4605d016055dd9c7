package domain_test

import (
	"testing"

	"github.com/licledger/licledger/domain"
)

func credWorld(extra ...domain.Event) []domain.Event {
	return append(append(world(), domain.CredentialIssued{ID: "c1", Role: "reseller-admin", Scope: domain.Scope{ResellerID: "r1"}, TokenHash: "h1", TokenPrefix: "lic_aa"}), extra...)
}

func credChange(extra func(*domain.CredentialChanged)) domain.CredentialChanged {
	c := domain.CredentialChanged{CredentialID: "c1", ResellerID: "r1"}
	if extra != nil {
		extra(&c)
	}
	return c
}

func TestCredentialLifecycle(t *testing.T) {
	runDecideCases(t, []decideCase{
		{name: "disable", given: credWorld(), when: domain.CredentialDisable{CredentialID: "c1"},
			then: []domain.Event{domain.CredentialDisabled(credChange(nil))}},
		{name: "disabling twice changes nothing", given: credWorld(domain.CredentialDisabled(credChange(nil))), when: domain.CredentialDisable{CredentialID: "c1"}},
		{name: "enable", given: credWorld(domain.CredentialDisabled(credChange(nil))), when: domain.CredentialEnable{CredentialID: "c1"},
			then: []domain.Event{domain.CredentialEnabled(credChange(nil))}},
		{name: "rotate", given: credWorld(), when: domain.CredentialRotate{CredentialID: "c1", TokenHash: "h2", TokenPrefix: "lic_bb"},
			then: []domain.Event{domain.CredentialRotated(credChange(func(c *domain.CredentialChanged) { c.TokenHash, c.TokenPrefix = "h2", "lic_bb" }))}},
		{name: "revoke", given: credWorld(), when: domain.CredentialRevoke{CredentialID: "c1"},
			then: []domain.Event{domain.CredentialRevoked(credChange(nil))}},
		{name: "a revoked credential never changes", given: credWorld(domain.CredentialRevoked(credChange(nil))), when: domain.CredentialEnable{CredentialID: "c1"},
			code: domain.CodeCredentialRevoked, field: "credentialId"},
		{name: "an unknown credential", given: credWorld(), when: domain.CredentialDisable{CredentialID: "nope"},
			code: domain.CodeCredentialNotFound, field: "credentialId"},
		{name: "set access", given: credWorld(), when: domain.CredentialSetAccess{CredentialID: "c1", Access: map[string]string{"licenses": "detail", "credentials": "basic"}},
			then: []domain.Event{domain.CredentialAccessSet(credChange(func(c *domain.CredentialChanged) {
				c.Access = map[string]string{"licenses": "detail", "credentials": "basic"}
			}))}},
		{name: "an unknown view level", given: credWorld(), when: domain.CredentialSetAccess{CredentialID: "c1", Access: map[string]string{"licenses": "everything"}},
			code: domain.CodeInvalidArgument, field: "access.licenses"},
		{name: "a resource without a view", given: credWorld(), when: domain.CredentialSetAccess{CredentialID: "c1", Access: map[string]string{"bogus": "expanded"}},
			code: domain.CodeInvalidArgument, field: "access.bogus"},
	})
	s := given(t, credWorld(domain.CredentialRotated(credChange(func(c *domain.CredentialChanged) { c.TokenHash = "h2" })), domain.CredentialRevoked(credChange(nil)))...)
	if c := s.Credentials["c1"]; c.TokenHash != "h2" || !c.Revoked || c.Enabled {
		t.Fatalf("credential after its history: %+v", c)
	}
}
