package domain

import (
	"slices"
	"strings"
	"time"
)

// Power is what a credential may do, in five dimensions: its role's operations, its scope, the
// admin it acts for, its view caps and its lifetime. The one rule of this file is that nothing a
// credential creates or changes may have more power than the credential itself, in any of them:
//
//   - credential.issue, .rotate, .enable, .disable, .revoke and .set-access produce or manage a
//     credential, whose power (after the change) must be within the caller's (withinCaller);
//   - admin.create, .update and .delete produce or manage an admin, whose profile type is a level
//     the caller must stand at or above (withinLevel).
//
// Authorize applies it to every command before the decision; a command added later that creates
// or changes power must be named in checkPower, and TestEveryPowerCommandIsChecked keeps that so.

// Codes of the refusals (all 403; nothing is appended).
const (
	// CodeAccessEscalation: the credential would see a resource at a higher view level than
	// the caller's cap for it.
	CodeAccessEscalation Code = "ACCESS_ESCALATION"
	// CodeExpiryEscalation: the credential would outlive the caller's own expiry.
	CodeExpiryEscalation Code = "EXPIRY_ESCALATION"
	// CodeLevelEscalation: the admin (or the admin a credential acts for) has a profile type above
	// the caller's level.
	CodeLevelEscalation Code = "LEVEL_ESCALATION"
	// CodeActsForAnother: the credential would act for an admin other than the caller's own,
	// and the caller's role does not manage admins.
	CodeActsForAnother Code = "ACTS_FOR_ANOTHER_ADMIN"
	// CodeScopeMismatch (422): a scope's fields do not lie inside one another (a license of
	// another tenant, an admin of another reseller).
	CodeScopeMismatch Code = "SCOPE_MISMATCH"
)

// PowerCommands lists the commands that create or change what someone may do. Each is checked
// by checkPower; a test proves every one of them is.
var PowerCommands = []string{
	"credential.issue", "credential.rotate", "credential.enable", "credential.disable", "credential.revoke",
	"credential.set-access", "credential.update", "credential.delete", "admin.create", "admin.update", "admin.delete",
}

// Profile levels: a userProfileType is a level, and nobody sets or manages one above their own.
var profileLevels = map[string]int{ProfileTenantAdmin: 1, ProfileResellerAdmin: 2, ProfileSystemAdmin: 3}

// Level is the highest admin profile level a credential stands at: the lowest of what its role
// is (a role allowed everything is a system admin; the APIO roles are their own level; any
// other role is no admin at all, 0), what its scope spans (the system 3, a reseller 2, a tenant
// 1, anything narrower 0) and, if it acts for an admin, that admin's profile type (0 if the admin
// no longer exists).
func (s *State) Level(c Credential) int {
	level := profileLevels[c.Role]
	if AllowedEverything(c.Role) {
		level = profileLevels[ProfileSystemAdmin]
	}
	sc := c.Scope
	switch {
	case sc.ProductID != "" || sc.LicenseID != "" || sc.endUser() || sc.adminOnly():
		level = 0
	case sc.TenantID != "":
		level = min(level, profileLevels[ProfileTenantAdmin])
	case sc.ResellerID != "":
		level = min(level, profileLevels[ProfileResellerAdmin])
	}
	if sc.UserID != "" {
		a, ok := s.Admins[sc.UserID]
		if !ok {
			return 0
		}
		level = min(level, profileLevels[a.ProfileType])
	}
	return level
}

// checkPower applies the rule to cmd, if it creates or changes power. A command naming a
// credential or admin that does not exist passes: the decision answers with its not-found code.
func (s *State) checkPower(caller Credential, cmd Command) error {
	managed := func(id string, change func(*Credential), changed ...string) error {
		c, ok := s.Credentials[id]
		if !ok {
			return nil
		}
		after := *c
		if change != nil {
			change(&after)
		}
		return s.withinCaller(caller, after, func(dimension string) string {
			if slices.Contains(changed, dimension) {
				return dimension
			}
			return "credentialId" // the credential as it stands is beyond the caller
		})
	}
	switch c := cmd.(type) {
	case CredentialIssue:
		issued := Credential{Role: c.Role, Scope: c.Scope, Access: c.Access}
		if c.ExpiresAt != nil {
			issued.ExpiresAt = *c.ExpiresAt
		}
		return s.withinCaller(caller, issued, func(dimension string) string { return dimension })
	case CredentialSetAccess:
		return managed(c.CredentialID, func(after *Credential) { after.Access = c.Access }, "access")
	case CredentialRotate:
		return managed(c.CredentialID, func(after *Credential) {
			if c.ExpiresAt != nil {
				after.ExpiresAt = *c.ExpiresAt
			}
		}, "expiresAt")
	case CredentialEnable, CredentialDisable, CredentialRevoke, CredentialDelete, CredentialUpdate:
		return managed(credentialOf(c), nil)
	case AdminCreate:
		return s.withinLevel(caller, c.UserProfileType, "userProfileType")
	case AdminUpdate:
		if a, ok := s.Admins[c.Username]; ok {
			if err := s.withinLevel(caller, a.ProfileType, "username"); err != nil {
				return err
			}
		}
		if c.UserProfileType != nil {
			return s.withinLevel(caller, *c.UserProfileType, "userProfileType")
		}
	case AdminDelete:
		if a, ok := s.Admins[c.Username]; ok {
			return s.withinLevel(caller, a.ProfileType, "username")
		}
	}
	return nil
}

// withinCaller checks that credential t has no more power than caller in any dimension. field
// names the request field to blame for a dimension ("role", "scope", "scope.userId", "access",
// "expiresAt").
func (s *State) withinCaller(caller, t Credential, field func(dimension string) string) error {
	if extra := RoleExcess(t.Role, caller.Role); len(extra) > 0 {
		return Errorf(CodeRoleEscalation, field("role"), "the role %s may %s, which the caller's role %s may not",
			t.Role, joinOps(extra), caller.Role)
	}
	if !caller.Scope.Contains(t.Scope) {
		return Errorf(CodeOutOfScope, field("scope"), "the scope %s is not within the caller's (%s)", t.Scope, caller.Scope)
	}
	if u := t.Scope.UserID; u != "" && u != caller.Scope.UserID {
		// Acting for an admin other than one's own is managing that admin.
		if !Allowed(caller.Role, "admin.update") {
			return Errorf(CodeActsForAnother, field("scope.userId"), "the caller's role %s does not manage admins: it may not act for admin %q", caller.Role, u)
		}
		if a, ok := s.Admins[u]; ok {
			p, _, _ := s.adminPlace(u)
			if !caller.Scope.Reaches(p) {
				return Errorf(CodeOutOfScope, field("scope.userId"), "admin %q is outside the caller's scope (%s)", u, caller.Scope)
			}
			if err := s.withinLevel(caller, a.ProfileType, field("scope.userId")); err != nil {
				return err
			}
		}
	}
	for _, r := range AccessResources {
		if ViewRank(t.Cap(r)) > ViewRank(caller.Cap(r)) {
			return Errorf(CodeAccessEscalation, field("access")+"."+r, "the view level %s of %s is above the caller's cap (%s)",
				t.Cap(r), r, caller.Cap(r))
		}
	}
	if !caller.ExpiresAt.IsZero() && (t.ExpiresAt.IsZero() || t.ExpiresAt.After(caller.ExpiresAt)) {
		return Errorf(CodeExpiryEscalation, field("expiresAt"), "the credential would outlive the caller's own, which expires at %s",
			caller.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// withinLevel checks that an admin of profile type profile is at or below the caller's level.
func (s *State) withinLevel(caller Credential, profile, field string) error {
	if lv, ok := profileLevels[profile]; ok {
		if own := s.Level(caller); lv > own {
			return Errorf(CodeLevelEscalation, field, "a %s is above the caller's level (%s)", profile, levelName(own))
		}
	}
	return nil
}

func levelName(level int) string {
	for name, lv := range profileLevels {
		if lv == level {
			return name
		}
	}
	return "no admin level"
}

func joinOps(ops []string) string { return strings.Join(ops, ", ") }

// actingAdmin is the admin a scope acts for, if it names one that exists.
func (s *State) actingAdmin(sc Scope) (*Admin, bool) {
	if sc.UserID == "" {
		return nil, false
	}
	a, ok := s.Admins[sc.UserID]
	return a, ok
}

// checkScope refuses a scope whose fields name objects that do not exist or do not lie inside
// one another: a tenant of that reseller, a license of that reseller, tenant and product, an
// admin of that reseller (and tenant, for a tenant admin), an end user named by company and name.
func (s *State) checkScope(sc Scope) error {
	for _, f := range []struct{ field, id string }{
		{"scope.resellerId", sc.ResellerID}, {"scope.tenantId", sc.TenantID}, {"scope.productId", sc.ProductID},
		{"scope.licenseId", sc.LicenseID}, {"scope.userId", sc.UserID},
	} {
		if f.id != "" {
			if err := checkID(f.field, f.id); err != nil {
				return err
			}
		}
	}
	if sc.endUser() {
		if err := checkText("scope.endUserCompany", sc.EndUserCompany); err != nil {
			return err
		}
		if err := checkText("scope.endUserName", sc.EndUserName); err != nil {
			return err
		}
		if sc.UserID != "" {
			return Errorf(CodeFieldNotAllowed, "scope.userId", "an end user's scope acts for no admin")
		}
	}
	if r := sc.ResellerID; r != "" {
		if _, ok := s.Resellers[r]; !ok {
			return Errorf(CodeResellerNotFound, "scope.resellerId", "reseller %q does not exist", r)
		}
	}
	if id := sc.TenantID; id != "" {
		t, ok := s.Tenants[id]
		if !ok {
			return Errorf(CodeTenantNotFound, "scope.tenantId", "tenant %q does not exist", id)
		}
		if sc.ResellerID != "" && t.ResellerID != sc.ResellerID {
			return Errorf(CodeTenantMismatch, "scope.tenantId", "tenant %q is not a customer of reseller %q", id, sc.ResellerID)
		}
	}
	if id := sc.ProductID; id != "" {
		if _, ok := s.Products[id]; !ok {
			return Errorf(CodeProductNotFound, "scope.productId", "product %q does not exist", id)
		}
	}
	if id := sc.LicenseID; id != "" {
		l, ok := s.Licenses[id]
		if !ok {
			return Errorf(CodeLicenseNotFound, "scope.licenseId", "license %q does not exist", id)
		}
		for _, f := range [][3]string{{"reseller", sc.ResellerID, l.ResellerID}, {"tenant", sc.TenantID, l.TenantID}, {"product", sc.ProductID, l.ProductID}} {
			if f[1] != "" && f[1] != f[2] {
				return Errorf(CodeScopeMismatch, "scope.licenseId", "license %q is not of %s %q", id, f[0], f[1])
			}
		}
	}
	if u := sc.UserID; u != "" {
		a, ok := s.Admins[u]
		if !ok {
			return Errorf(CodeAdminNotFound, "scope.userId", "admin %q does not exist", u)
		}
		if sc.ResellerID != a.ResellerID {
			return Errorf(CodeScopeMismatch, "scope.resellerId", "a credential acting for admin %q lies within its reseller: scope.resellerId must be %q", u, a.ResellerID)
		}
		if a.TenantID != "" && sc.TenantID != a.TenantID {
			return Errorf(CodeScopeMismatch, "scope.tenantId", "a credential acting for tenant admin %q lies within its tenant: scope.tenantId must be %q", u, a.TenantID)
		}
	}
	return nil
}
