package domain

import "strings"

// CodeOutOfScope refuses a command that would act outside the caller's scope (403). Reads of a
// single object outside the scope answer the object's not-found code instead, so that nobody
// learns what exists beyond their reach.
const CodeOutOfScope Code = "OUT_OF_SCOPE"

// CodeRoleEscalation refuses a credential change that would grant more than the caller holds:
// issuing or managing a credential whose role may do something the caller's role may not (403).
const CodeRoleEscalation Code = "ROLE_ESCALATION"

// CodeProtected refuses a protected attribute (Keygen) set, or a protected license's machines
// managed, by a caller that is neither an admin nor the owning product (403).
const CodeProtected Code = "PROTECTED"

// IsSystem reports whether the scope is the whole system (no field set).
func (sc Scope) IsSystem() bool { return sc == Scope{} }

// endUser reports whether the scope is an end user's (Keygen's user scope).
func (sc Scope) endUser() bool { return sc.EndUserName != "" || sc.EndUserCompany != "" }

// adminOnly reports whether the scope names only the admin it acts for: it reaches that admin's
// own record and nothing else (a credential issued before user scopes named a company has such
// a scope; it no longer reaches licenses by a seat holder's name alone).
func (sc Scope) adminOnly() bool { return sc == Scope{UserID: sc.UserID} && sc.UserID != "" }

// String describes the scope for error messages.
func (sc Scope) String() string {
	if sc.IsSystem() {
		return "system"
	}
	var parts []string
	for _, f := range []struct{ name, v string }{
		{"reseller", sc.ResellerID}, {"tenant", sc.TenantID}, {"product", sc.ProductID},
		{"license", sc.LicenseID}, {"admin", sc.UserID}, {"end user company", sc.EndUserCompany}, {"end user", sc.EndUserName},
	} {
		if f.v != "" {
			parts = append(parts, f.name+" "+f.v)
		}
	}
	return strings.Join(parts, ", ")
}

// Contains reports whether every object inner reaches is one sc reaches, field by field: each
// field sc sets, inner sets to the same value (the system contains every scope). It is how a
// credential's scope is compared with the scope of one it issues or manages, so a child acting
// for nobody is not contained in a parent acting for an admin.
func (sc Scope) Contains(inner Scope) bool {
	for _, f := range [][2]string{
		{sc.ResellerID, inner.ResellerID}, {sc.TenantID, inner.TenantID}, {sc.ProductID, inner.ProductID},
		{sc.LicenseID, inner.LicenseID}, {sc.UserID, inner.UserID},
		{sc.EndUserCompany, inner.EndUserCompany}, {sc.EndUserName, inner.EndUserName},
	} {
		if f[0] != "" && f[0] != f[1] {
			return false
		}
	}
	return true
}

// Place is where an object sits in the scope tree (system > reseller > tenant, and product), as
// far as a scope needs to know.
type Place struct {
	System                                     bool // the catalogue and the resellers themselves: only a system scope reaches it
	ResellerID, TenantID, ProductID, LicenseID string
	UserID                                     string   // the admin the object is
	EndUserCompany, EndUserName                string   // the end user the object is (a seat)
	License                                    *License // the license the object is or belongs to, for an end user's scope
}

// Reaches reports whether an object at place p lies within the scope. Every field the scope sets
// must match the object's; an object without that field (a product, for a reseller scope) lies
// outside. An end user's scope reaches exactly the licenses where that user (company and name)
// holds a seat, and only that user's seats on them.
func (sc Scope) Reaches(p Place) bool { return sc.outside(p) == "" }

// outside names the part of place p that lies beyond the scope, as the scope's own JSON field
// ("resellerId", "tenantId", "productId", "licenseId", "userId", "endUserCompany", "endUserName"),
// or "system" for
// the catalogue; "" when the scope reaches p. The order is the tree's, so a tenant of another
// reseller is outside by its reseller.
func (sc Scope) outside(p Place) string {
	switch {
	case sc.IsSystem():
		return ""
	case p.System:
		return "system"
	case sc.ResellerID != "" && sc.ResellerID != p.ResellerID:
		return "resellerId"
	case sc.TenantID != "" && sc.TenantID != p.TenantID:
		return "tenantId"
	case sc.ProductID != "" && sc.ProductID != p.ProductID:
		return "productId"
	case sc.LicenseID != "" && sc.LicenseID != p.LicenseID:
		return "licenseId"
	case sc.endUser():
		if p.EndUserName != "" && p.EndUserCompany != sc.EndUserCompany {
			return "endUserCompany"
		}
		if p.EndUserName != "" && p.EndUserName != sc.EndUserName {
			return "endUserName"
		}
		if p.License == nil || !p.License.Users.Active(sc.EndUserCompany, sc.EndUserName) {
			return "licenseId"
		}
	case sc.adminOnly():
		if p.UserID != sc.UserID {
			return "userId"
		}
	}
	return ""
}

// LicensePlace is where a license sits.
func LicensePlace(l *License) Place {
	return Place{ResellerID: l.ResellerID, TenantID: l.TenantID, ProductID: l.ProductID, LicenseID: l.ID, License: l}
}

// CredentialPlace is where a credential sits: where its own scope points.
func CredentialPlace(sc Scope) Place {
	return Place{ResellerID: sc.ResellerID, TenantID: sc.TenantID, ProductID: sc.ProductID, LicenseID: sc.LicenseID,
		UserID: sc.UserID, EndUserCompany: sc.EndUserCompany, EndUserName: sc.EndUserName}
}

// placeOf returns where a command acts and the request field that names it, or exists false
// when the object it names does not exist (the decision then reports that, with the object's
// not-found code).
func (s *State) placeOf(cmd Command) (p Place, field string, exists bool) {
	license := func(id string) (Place, string, bool) {
		l, ok := s.Licenses[id]
		if !ok {
			return Place{}, "licenseId", false
		}
		return LicensePlace(l), "licenseId", true
	}
	switch c := cmd.(type) {
	case ResellerCreate, ProductCreate:
		return Place{System: true}, "", true
	case PlanCreate:
		return Place{ProductID: c.ProductID}, "productId", true
	case EntitlementCreate:
		if c.ProductID == "" {
			return Place{System: true}, "", true
		}
		return Place{ProductID: c.ProductID}, "productId", true
	case PlanAttachEntitlements:
		return s.planPlace(c.PlanID)
	case PlanDetachEntitlements:
		return s.planPlace(c.PlanID)
	case TenantCreate:
		return Place{ResellerID: c.ResellerID, TenantID: c.ID}, "resellerId", true
	case TenantUpdate:
		t, ok := s.Tenants[c.TenantID]
		if !ok {
			return Place{}, "tenantId", false
		}
		return Place{ResellerID: t.ResellerID, TenantID: t.ID}, "tenantId", true
	case LicenseCreate:
		plan, ok := s.Plans[c.PlanID]
		if !ok {
			return Place{}, "planId", false
		}
		return Place{ResellerID: c.ResellerID, TenantID: c.TenantID, ProductID: plan.ProductID, LicenseID: c.ID}, "resellerId", true
	case SeatRegister:
		p, field, ok := license(c.LicenseID)
		p.EndUserCompany, p.EndUserName = c.EndUserCompany, c.EndUserName
		return p, field, ok
	case SeatUnregister:
		p, field, ok := license(c.LicenseID)
		p.EndUserCompany, p.EndUserName = c.EndUserCompany, c.EndUserName
		return p, field, ok
	case AdminCreate:
		return Place{ResellerID: c.ResellerID, TenantID: c.TenantID, UserID: c.Username}, "username", true
	case AdminUpdate:
		return s.adminPlace(c.Username)
	case AdminDelete:
		return s.adminPlace(c.Username)
	case CredentialIssue:
		return CredentialPlace(c.Scope), "scope", true
	case WebhookCreate:
		return WebhookPlace(c.ResellerID), "resellerId", true
	}
	if id := webhookOf(cmd); id != "" {
		w, ok := s.Webhooks[id]
		if !ok {
			return Place{}, "webhookId", false
		}
		return WebhookPlace(w.ResellerID), "webhookId", true
	}
	if id := credentialOf(cmd); id != "" {
		cred, ok := s.Credentials[id]
		if !ok {
			return Place{}, "credentialId", false
		}
		return CredentialPlace(cred.Scope), "credentialId", true
	}
	// Every other command acts on one license, named by the stream it targets.
	if kind, id, _ := strings.Cut(Target(cmd), "/"); kind == "license" {
		return license(id)
	}
	return Place{System: true}, "", true // unknown to this table: only the system reaches it
}

func (s *State) planPlace(id string) (Place, string, bool) {
	p, ok := s.Plans[id]
	if !ok {
		return Place{}, "planId", false
	}
	return Place{ProductID: p.ProductID}, "planId", true
}

func (s *State) adminPlace(username string) (Place, string, bool) {
	a, ok := s.Admins[username]
	if !ok {
		return Place{}, "username", false
	}
	return Place{ResellerID: a.ResellerID, TenantID: a.TenantID, UserID: a.Username}, "username", true
}

// placingField names the request field that put cmd outside the scope. A command that places a
// new object by several fields (a tenant, license, admin or credential) names the one that lies
// beyond the scope, as a scope part says (Scope.outside); a command naming an existing object,
// or a seat's end user, names that (byName).
func placingField(cmd Command, part, byName string) string {
	var fields map[string]string
	switch cmd.(type) {
	case TenantCreate:
		fields = map[string]string{"resellerId": "resellerId", "tenantId": "id"}
	case LicenseCreate:
		fields = map[string]string{"resellerId": "resellerId", "tenantId": "tenantId", "productId": "planId", "licenseId": "id"}
	case AdminCreate:
		fields = map[string]string{"resellerId": "resellerId", "tenantId": "tenantId", "userId": "username"}
	case CredentialIssue:
		if part != "system" {
			return "scope." + part
		}
	case SeatRegister, SeatUnregister:
		fields = map[string]string{"endUserCompany": "endUserCompany", "endUserName": "endUserName"}
	}
	if f, ok := fields[part]; ok {
		return f
	}
	return byName
}

// credentialOf names the credential a lifecycle command acts on ("" for other commands).
func credentialOf(cmd Command) string {
	switch c := cmd.(type) {
	case CredentialDisable:
		return c.CredentialID
	case CredentialEnable:
		return c.CredentialID
	case CredentialRevoke:
		return c.CredentialID
	case CredentialRotate:
		return c.CredentialID
	case CredentialSetAccess:
		return c.CredentialID
	case CredentialDelete:
		return c.CredentialID
	case CredentialUpdate:
		return c.CredentialID
	}
	return ""
}

// Authorize checks, against the write model, that the caller may perform cmd where it acts: the
// object must lie within the caller's scope (OUT_OF_SCOPE otherwise), Keygen's protected
// attributes hold, and a command that creates or changes power produces nothing beyond the
// caller's own (checkPower, power.go). A command naming an object that does not exist passes, so
// that the decision answers with the object's not-found code. The permission matrix (Allowed) has
// been checked before.
func (s *State) Authorize(caller Credential, cmd Command) error {
	p, field, exists := s.placeOf(cmd)
	if part := caller.Scope.outside(p); exists && part != "" {
		return Errorf(CodeOutOfScope, placingField(cmd, part, field), "%s is outside the credential's scope (%s)", cmd.CommandName(), caller.Scope)
	}
	if err := s.checkProtected(caller, cmd); err != nil {
		return err
	}
	return s.checkPower(caller, cmd)
}

// checkProtected applies Keygen's protected attributes: only an admin (a role allowed every
// operation) or the product that owns the resource may set one. The protected attribute here is
// a license's "protected"; on a protected license, users and license tokens may not manage
// machines either.
func (s *State) checkProtected(caller Credential, cmd Command) error {
	switch c := cmd.(type) {
	case LicenseCreate:
		if plan, ok := s.Plans[c.PlanID]; ok && c.Protected && !adminOrProduct(caller, plan.ProductID) {
			return Errorf(CodeProtected, "protected", "only an admin or the product %s may create a protected license", plan.ProductID)
		}
	case MachineActivate:
		return s.checkProtectedMachines(caller, c.LicenseID)
	case MachineDeactivate:
		return s.checkProtectedMachines(caller, c.LicenseID)
	}
	return nil
}

func (s *State) checkProtectedMachines(caller Credential, licenseID string) error {
	l, ok := s.Licenses[licenseID]
	if ok && l.Protected && (caller.Role == "user" || caller.Role == "license") {
		return Errorf(CodeProtected, "licenseId", "license %s is protected: only an admin or its product manages its machines", l.ID)
	}
	return nil
}

// adminOrProduct reports whether c may set protected attributes of a resource of product: an
// admin, or that product's token.
func adminOrProduct(c Credential, product string) bool {
	return AllowedEverything(c.Role) || (c.Role == "product" && c.Scope.ProductID == product)
}

// RoleExcess lists, sorted, the operations role may perform and over may not (nil if role is
// unknown: the decision refuses unknown roles with their own error).
func RoleExcess(role, over string) []string {
	ops, _ := RoleOperations(role)
	var extra []string
	for _, op := range ops {
		if !Allowed(over, op) {
			extra = append(extra, op)
		}
	}
	return extra
}
