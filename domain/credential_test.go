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
		{name: "update the description", given: credWorld(), when: domain.CredentialUpdate{CredentialID: "c1", Description: new("billing sync")},
			then: []domain.Event{domain.CredentialUpdated(credChange(func(c *domain.CredentialChanged) { c.Description = new("billing sync") }))}},
		{name: "an update to the same description changes nothing",
			given: credWorld(domain.CredentialUpdated(credChange(func(c *domain.CredentialChanged) { c.Description = new("x") }))),
			when:  domain.CredentialUpdate{CredentialID: "c1", Description: new("x")}},
		{name: "an update clears the description",
			given: credWorld(domain.CredentialUpdated(credChange(func(c *domain.CredentialChanged) { c.Description = new("x") }))),
			when:  domain.CredentialUpdate{CredentialID: "c1", Description: new("")},
			then:  []domain.Event{domain.CredentialUpdated(credChange(func(c *domain.CredentialChanged) { c.Description = new("") }))}},
		{name: "an update with nothing to change", given: credWorld(), when: domain.CredentialUpdate{CredentialID: "c1"},
			code: domain.CodeInvalidArgument, field: "description"},
		{name: "a description with control characters", given: credWorld(), when: domain.CredentialUpdate{CredentialID: "c1", Description: new("a\x00b")},
			code: domain.CodeInvalidArgument, field: "description"},
		{name: "a revoked credential is not updated", given: credWorld(domain.CredentialRevoked(credChange(nil))), when: domain.CredentialUpdate{CredentialID: "c1", Description: new("x")},
			code: domain.CodeCredentialRevoked, field: "credentialId"},
		{name: "delete", given: credWorld(), when: domain.CredentialDelete{CredentialID: "c1"},
			then: []domain.Event{domain.CredentialDeleted(credChange(nil))}},
		{name: "a revoked credential can be deleted", given: credWorld(domain.CredentialRevoked(credChange(nil))), when: domain.CredentialDelete{CredentialID: "c1"},
			then: []domain.Event{domain.CredentialDeleted(credChange(nil))}},
		{name: "a deleted credential is gone", given: credWorld(domain.CredentialDeleted(credChange(nil))), when: domain.CredentialDelete{CredentialID: "c1"},
			code: domain.CodeCredentialNotFound, field: "credentialId"},
		{name: "a deleted credential's id is never issued again", given: credWorld(domain.CredentialDeleted(credChange(nil))),
			when: domain.CredentialIssue{ID: "c1", Role: "reseller-admin", Scope: domain.Scope{ResellerID: "r1"}, TokenHash: "h9"},
			code: domain.CodeAlreadyExists, field: "id"},
	})
	s := given(t, credWorld(domain.CredentialRotated(credChange(func(c *domain.CredentialChanged) { c.TokenHash = "h2" })), domain.CredentialRevoked(credChange(nil)))...)
	if c := s.Credentials["c1"]; c.TokenHash != "h2" || !c.Revoked || c.Enabled {
		t.Fatalf("credential after its history: %+v", c)
	}
	s = given(t, credWorld(domain.CredentialUpdated(credChange(func(c *domain.CredentialChanged) { c.Description = new("sync") })), domain.CredentialDeleted(credChange(nil)))...)
	if c := s.Credentials["c1"]; c.Description != "sync" || !c.Deleted || !c.Revoked || c.Enabled {
		t.Fatalf("credential after its history: %+v", c)
	}
}
