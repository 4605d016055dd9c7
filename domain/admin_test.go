package domain_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
)

func sp(s string) *string { return &s }

func adminWorld(extra ...domain.Event) []domain.Event {
	return append(append(world(),
		domain.AdminCreated{Username: "boss", ResellerID: "r1", UserProfileType: domain.ProfileResellerAdmin, At: t0},
		domain.AdminCreated{Username: "tina", ResellerID: "r1", TenantID: "t1", UserProfileType: domain.ProfileTenantAdmin, At: t0},
	), extra...)
}

func TestAdmins(t *testing.T) {
	runDecideCases(t, []decideCase{
		{name: "create a reseller admin", given: world(), now: t0,
			when: domain.AdminCreate{ResellerID: "r1", Username: "ann", UserProfileType: domain.ProfileResellerAdmin,
				AdminProfile: domain.AdminProfile{FirstName: sp("Ann"), Language: sp("English")}, PasswordHash: "$argon2id$x"},
			then: []domain.Event{domain.AdminCreated{Username: "ann", ResellerID: "r1", UserProfileType: domain.ProfileResellerAdmin,
				FirstName: "Ann", Language: "English", PasswordHash: "$argon2id$x", At: t0}}},
		{name: "a tenant admin needs a tenant", given: world(), now: t0,
			when: domain.AdminCreate{ResellerID: "r1", Username: "ann", UserProfileType: domain.ProfileTenantAdmin},
			code: domain.CodeInvalidArgument, field: "tenantId"},
		{name: "only a tenant admin has a tenant", given: world(), now: t0,
			when: domain.AdminCreate{ResellerID: "r1", Username: "ann", UserProfileType: domain.ProfileResellerAdmin, TenantID: "t1"},
			code: domain.CodeFieldNotAllowed, field: "tenantId"},
		{name: "a tenant of another reseller", given: world(), now: t0,
			when: domain.AdminCreate{ResellerID: "r2", Username: "ann", UserProfileType: domain.ProfileTenantAdmin, TenantID: "t1"},
			code: domain.CodeTenantMismatch, field: "tenantId"},
		{name: "readOnly cannot be set on create", given: world(), now: t0,
			when: domain.AdminCreate{ResellerID: "r1", Username: "ann", UserProfileType: domain.ProfileResellerAdmin,
				Forbidden: domain.Forbidden{ReadOnly: json.RawMessage("true")}},
			code: domain.CodeFieldNotAllowed, field: "readOnly"},
		{name: "an unknown profile type", given: world(), now: t0,
			when: domain.AdminCreate{ResellerID: "r1", Username: "ann", UserProfileType: "king"},
			code: domain.CodeInvalidArgument, field: "userProfileType"},
		{name: "a taken username", given: adminWorld(), now: t0,
			when: domain.AdminCreate{ResellerID: "r1", Username: "boss", UserProfileType: domain.ProfileResellerAdmin},
			code: domain.CodeAlreadyExists, field: "username"},
		{name: "update the profile", given: adminWorld(), now: t0,
			when: domain.AdminUpdate{Username: "boss", AdminProfile: domain.AdminProfile{LastName: sp("Hello"), Language: sp("French")}},
			then: []domain.Event{domain.AdminUpdated{Username: "boss", ResellerID: "r1", AdminProfile: domain.AdminProfile{LastName: sp("Hello"), Language: sp("French")}}}},
		{name: "the tenant cannot change", given: adminWorld(), now: t0,
			when: domain.AdminUpdate{Username: "tina", TenantID: json.RawMessage(`"t2"`)},
			code: domain.CodeFieldNotAllowed, field: "tenantId"},
		{name: "userLevel cannot be set on update", given: adminWorld(), now: t0,
			when: domain.AdminUpdate{Username: "boss", Forbidden: domain.Forbidden{UserLevel: json.RawMessage("12")}},
			code: domain.CodeFieldNotAllowed, field: "userLevel"},
		{name: "a tenant admin promoted drops the tenant", given: adminWorld(), now: t0,
			when: domain.AdminUpdate{Username: "tina", UserProfileType: sp(domain.ProfileResellerAdmin)},
			then: []domain.Event{domain.AdminUpdated{Username: "tina", ResellerID: "r1", TenantID: "t1", UserProfileType: sp(domain.ProfileResellerAdmin), DropTenant: true}}},
		{name: "nobody becomes a tenant admin on update", given: adminWorld(), now: t0,
			when: domain.AdminUpdate{Username: "boss", UserProfileType: sp(domain.ProfileTenantAdmin)},
			code: domain.CodeFieldNotAllowed, field: "userProfileType"},
		{name: "update an unknown admin", given: adminWorld(), now: t0, when: domain.AdminUpdate{Username: "nobody"},
			code: domain.CodeAdminNotFound, field: "username"},
		{name: "delete", given: adminWorld(), now: t0, when: domain.AdminDelete{Username: "tina", By: "boss"},
			then: []domain.Event{domain.AdminDeleted{Username: "tina", ResellerID: "r1", TenantID: "t1"}}},
		{name: "nobody deletes themselves", given: adminWorld(), now: t0, when: domain.AdminDelete{Username: "boss", By: "boss"},
			code: domain.CodeCannotDeleteYourself, field: "username"},
	})
}

func TestPasswordRule(t *testing.T) {
	for pw, ok := range map[string]bool{"Secret12": true, "abcdefgH": true, "short1A": false, "alllowercase": false, "ALLUPPERCASE": false, "": false} {
		if err := domain.APIOPasswordRule.Check(pw); (err == nil) != ok {
			t.Errorf("APIO rule, %q: %v", pw, err)
		}
	}
	strict, on, err := domain.ParsePasswordRule("min=12, upper,lower,digit,symbol")
	if err != nil || !on || strict != (domain.PasswordRule{MinLength: 12, Upper: true, Lower: true, Digit: true, Symbol: true}) {
		t.Fatalf("parse: %+v %v %v", strict, on, err)
	}
	for pw, ok := range map[string]bool{"Correct-Horse-7": true, "Correct-Horse": false, "correct-horse-7": false, "CorrectHorse77": false, "C-h-7": false} {
		if err := strict.Check(pw); (err == nil) != ok {
			t.Errorf("strict rule, %q: %v", pw, err)
		}
	}
	if err := strict.Check("short"); err == nil || !strings.Contains(err.Error(), "at least 12 characters, one upper case letter, one lower case letter, one digit, one symbol") {
		t.Errorf("the refusal must say the rule: %v", err)
	}
	if r, on, err := domain.ParsePasswordRule("true"); err != nil || !on || r != domain.APIOPasswordRule {
		t.Errorf("true: %+v %v %v", r, on, err)
	}
	if _, on, err := domain.ParsePasswordRule("false"); err != nil || on {
		t.Errorf("false: %v %v", on, err)
	}
	for _, bad := range []string{"min=0", "min=x", "min=999", "uppercase", "", "upper,"} {
		if _, _, err := domain.ParsePasswordRule(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestAdminStateFollowsEvents(t *testing.T) {
	s := given(t, adminWorld(domain.AdminUpdated{Username: "tina", ResellerID: "r1", TenantID: "t1", UserProfileType: sp(domain.ProfileResellerAdmin), DropTenant: true,
		AdminProfile: domain.AdminProfile{FirstName: sp("Tina")}, PasswordHash: "$argon2id$new"}, domain.AdminDeleted{Username: "boss", ResellerID: "r1"})...)
	a := s.Admins["tina"]
	if a == nil || a.ProfileType != domain.ProfileResellerAdmin || a.TenantID != "" || a.FirstName != "Tina" || a.PasswordHash != "$argon2id$new" {
		t.Fatalf("tina: %+v", a)
	}
	if s.Admins["boss"] != nil {
		t.Fatal("deleted admin still there")
	}
}

// TestAdminLoginAndSessions: a login opens a session credential with the admin's profile and
// place only while the verified hash is still the admin's; a new password or profile ends the
// admin's sessions and nothing else.
func TestAdminLoginAndSessions(t *testing.T) {
	at := t0.Add(time.Hour)
	withPassword := adminWorld(domain.AdminUpdated{Username: "tina", ResellerID: "r1", TenantID: "t1", PasswordHash: "sealed-1"})
	session := domain.CredentialIssued{ID: "s1", Role: domain.ProfileTenantAdmin, Scope: domain.Scope{ResellerID: "r1", TenantID: "t1", UserID: "tina"},
		Description: "login session of admin tina", ExpiresAt: &at, TokenHash: "hs", TokenPrefix: "lic_s", Session: true}
	apiKey := domain.CredentialIssued{ID: "k1", Role: "client-limited", Scope: domain.Scope{ResellerID: "r1", TenantID: "t1", UserID: "tina"}, TokenHash: "hk"}
	login := domain.AdminLogin{Username: "tina", VerifiedHash: "sealed-1", CredentialID: "s1", TokenHash: "hs", TokenPrefix: "lic_s", ExpiresAt: at}
	plus := func(extra ...domain.Event) []domain.Event { return append(slices.Clone(withPassword), extra...) }
	ended := func(reason string) domain.Event {
		return domain.CredentialRevoked{CredentialID: "s1", ResellerID: "r1", TenantID: "t1", Reason: reason}
	}
	runDecideCases(t, []decideCase{
		{name: "a login opens a session", given: withPassword, now: t0, when: login, then: []domain.Event{session}},
		{name: "a password changed since it was verified", given: plus(domain.AdminUpdated{Username: "tina", ResellerID: "r1", TenantID: "t1", PasswordHash: "sealed-2"}),
			now: t0, when: login, code: domain.CodeLoginFailed, field: "password"},
		{name: "an admin without a password", given: adminWorld(), now: t0, when: domain.AdminLogin{Username: "tina", CredentialID: "s1", TokenHash: "hs", ExpiresAt: at},
			code: domain.CodeLoginFailed, field: "password"},
		{name: "no such admin", given: adminWorld(), now: t0, when: domain.AdminLogin{Username: "ghost", VerifiedHash: "x", CredentialID: "s1", TokenHash: "hs", ExpiresAt: at},
			code: domain.CodeLoginFailed, field: "password"},
		{name: "a new password ends the sessions, not the API keys", given: plus(session, apiKey), now: t0,
			when: domain.AdminUpdate{Username: "tina", PasswordHash: "sealed-3"},
			then: []domain.Event{domain.AdminUpdated{Username: "tina", ResellerID: "r1", TenantID: "t1", PasswordHash: "sealed-3"}, ended("admin tina changed its password")}},
		{name: "a new name ends nothing", given: plus(session), now: t0,
			when: domain.AdminUpdate{Username: "tina", AdminProfile: domain.AdminProfile{FirstName: sp("Tina")}},
			then: []domain.Event{domain.AdminUpdated{Username: "tina", ResellerID: "r1", TenantID: "t1", AdminProfile: domain.AdminProfile{FirstName: sp("Tina")}}}},
	})
}
