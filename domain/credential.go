package domain

import (
	"maps"
	"slices"
	"time"
)

// Roles a credential can hold; the permission matrix (permissions.go) gives them meaning.
var Roles = []string{
	// Keygen's account roles.
	"admin", "developer", "sales-agent", "support-agent", "product", "user", "license", "anonymous",
	// Partner Central's.
	"client-all", "client-advanced", "client-standard", "client-limited",
	"reseller-all", "reseller-advanced", "reseller-standard", "reseller-limited",
	// APIO's admin levels.
	"system-admin", "reseller-admin", "tenant-admin",
	// Ours: reads and verifies the history, nothing else.
	RoleAuditor,
}

// RoleSystemAdmin may do everything; the bootstrap credential has it.
const RoleSystemAdmin = "system-admin"

// RoleAuditor may read the log, its checkpoints and proofs, and nothing else. It needs the
// system scope: the history is the whole ledger's.
const RoleAuditor = "auditor"

// Scope limits what a credential reaches: empty is the whole system. Each field set narrows
// it, and the fields must lie inside one another (a tenant of that reseller, a license of that
// tenant, an admin of that reseller: checkScope).
//
// UserID names the admin the credential acts for (APIO): the admin a principal may not delete,
// whose profile type caps the credential's role. EndUserCompany and EndUserName name an end
// user as a seat does (Keygen's user scope): the credential reaches exactly the licenses where
// that user holds a seat.
type Scope struct {
	ResellerID     string `json:"resellerId,omitempty"`
	TenantID       string `json:"tenantId,omitempty"`
	ProductID      string `json:"productId,omitempty"`
	LicenseID      string `json:"licenseId,omitempty"`
	UserID         string `json:"userId,omitempty"`
	EndUserCompany string `json:"endUserCompany,omitempty"`
	EndUserName    string `json:"endUserName,omitempty"`
}

// Credential is an API login or API key. Its secret never enters the model: only the keyed hash
// of its token and a display prefix do.
type Credential struct {
	ID          string
	Role        string
	Scope       Scope
	Description string
	Enabled     bool
	Revoked     bool              // final: a revoked credential never works again
	Deleted     bool              // revoked and out of every list; only the history shows it
	TokenHash   string            // keyed hash of the current token
	Access      map[string]string // resource -> maximum view level; a resource left out is not limited
	ExpiresAt   time.Time         // zero: never
	Session     bool              // opened by admin.login: ends when the admin's password or profile changes
}

// FeedReseller says whether a credential of role and scope may follow its reseller's events on
// the event stream, and which reseller: one scoped to a reseller as a whole (not one of its
// tenants, products, licenses or end users) whose role sees everything of it, its credentials and
// admins included. The reseller is a token of every event's subject, so a consumer filtered on
// it reads exactly its events, and the server holds the filter to it (docs/WIRE.md).
func FeedReseller(role string, sc Scope) (string, bool) {
	if sc.ResellerID == "" || sc.TenantID != "" || sc.ProductID != "" || sc.LicenseID != "" || sc.EndUserCompany != "" || sc.EndUserName != "" {
		return "", false
	}
	return sc.ResellerID, Allowed(role, "credential.list") && Allowed(role, "admin.list")
}

// ExpiredAt reports whether the credential's token no longer works at t.
func (c *Credential) ExpiredAt(t time.Time) bool {
	return !c.ExpiresAt.IsZero() && !t.Before(c.ExpiresAt)
}

// NewCredential is the credential an issue event creates. The write model and the credentials
// read model both build theirs here.
func NewCredential(e CredentialIssued) *Credential {
	c := &Credential{ID: e.ID, Role: e.Role, Scope: e.Scope, Description: e.Description, Enabled: true,
		TokenHash: e.TokenHash, Access: e.Access, Session: e.Session}
	if e.ExpiresAt != nil {
		c.ExpiresAt = *e.ExpiresAt
	}
	return c
}

// CredentialIssue creates a credential. TokenHash and TokenPrefix come from the caller, who drew
// the token and shows it once. Access and ExpiresAt left out are inherited from the issuer
// (Inherit): a credential never outlives, or sees more than, the one that issued it.
type CredentialIssue struct {
	ID          string            `json:"id,omitempty"`
	Role        string            `json:"role"`
	Scope       Scope             `json:"scope"`
	Description string            `json:"description,omitempty"`
	Access      map[string]string `json:"access,omitempty"`
	ExpiresAt   *time.Time        `json:"expiresAt,omitempty"`
	TokenHash   string            `json:"-"`
	TokenPrefix string            `json:"-"`
	Session     bool              `json:"-"` // never issued this way: only admin.login opens sessions
}

func (CredentialIssue) CommandName() string { return "credential.issue" }

// TypeCredentialIssued is the type of CredentialIssued.
const TypeCredentialIssued = "credential.issued.v1"

// CredentialIssued records a new credential: its token's keyed hash, never the token.
type CredentialIssued struct {
	ID          string            `json:"id"`
	Role        string            `json:"role"`
	Scope       Scope             `json:"scope"`
	Description string            `json:"description,omitempty"`
	Access      map[string]string `json:"access,omitempty"`
	ExpiresAt   *time.Time        `json:"expiresAt,omitempty"`
	TokenHash   string            `json:"tokenHash"`
	TokenPrefix string            `json:"tokenPrefix"`
	// Session marks an admin's login session (admin.login), not an API key.
	Session bool `json:"session,omitempty"`
}

func (CredentialIssued) EventType() string     { return TypeCredentialIssued }
func (e CredentialIssued) AggregateID() string { return e.ID }
func (e CredentialIssued) Stream() string      { return credentialStream(e.ID) }
func (e CredentialIssued) Owner() (string, string) {
	return e.Scope.ResellerID, e.Scope.TenantID
}

// Inherit fills what the command leaves out from the issuer's own credential: its view caps, as a
// ceiling for each resource the command does not name, and its expiry. What the command does give
// is checked against the issuer by Authorize, never silently lowered.
func (c CredentialIssue) Inherit(issuer Credential) CredentialIssue {
	if len(issuer.Access) > 0 {
		access := maps.Clone(issuer.Access)
		maps.Copy(access, c.Access)
		c.Access = access
	}
	if c.ExpiresAt == nil && !issuer.ExpiresAt.IsZero() {
		at := issuer.ExpiresAt
		c.ExpiresAt = &at
	}
	return c
}

func (s *State) decideCredentialIssue(now time.Time, c CredentialIssue) ([]Event, error) {
	if err := checkID("id", c.ID); err != nil {
		return nil, err
	}
	if !slices.Contains(Roles, c.Role) {
		return nil, Errorf(CodeInvalidArgument, "role", "unknown role %q", c.Role)
	}
	if c.Role == RoleAuditor && !c.Scope.IsSystem() {
		return nil, Errorf(CodeInvalidArgument, "scope", "an auditor reads the whole log: its scope must be the system (empty)")
	}
	if c.Description != "" {
		if err := checkText("description", c.Description); err != nil {
			return nil, err
		}
	}
	if c.TokenHash == "" {
		return nil, Errorf(CodeInvalidArgument, "token", "a credential needs a token hash")
	}
	if err := checkAccess(c.Access); err != nil {
		return nil, err
	}
	if err := checkExpiry(now, c.ExpiresAt); err != nil {
		return nil, err
	}
	if _, ok := s.Credentials[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "credential %q already exists", c.ID)
	}
	if err := s.checkScope(c.Scope); err != nil {
		return nil, err
	}
	if a, ok := s.actingAdmin(c.Scope); ok {
		if extra := RoleExcess(c.Role, a.ProfileType); len(extra) > 0 {
			return nil, Errorf(CodeRoleEscalation, "role", "a credential acting for %s (a %s) may not have the role %s, which may %s",
				a.Username, a.ProfileType, c.Role, joinOps(extra))
		}
	}
	return []Event{CredentialIssued(c)}, nil
}

// checkExpiry refuses an expiry that is not in the future (nil: never expires).
func checkExpiry(now time.Time, at *time.Time) error {
	if at != nil && !at.After(now) {
		return Errorf(CodeInvalidArgument, "expiresAt", "must be in the future (it is %s, now is %s)",
			at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkAccess refuses view caps on a resource that has no view, or at a level that does not
// exist.
func checkAccess(access map[string]string) error {
	// In order, so that the first bad entry named is always the same one.
	for _, resource := range slices.Sorted(maps.Keys(access)) {
		if !slices.Contains(AccessResources, resource) {
			return Errorf(CodeInvalidArgument, "access."+resource, "unknown resource %q: the resources with views are %s",
				resource, joinOps(AccessResources))
		}
		if !slices.Contains(ViewLevels, access[resource]) {
			return Errorf(CodeInvalidArgument, "access."+resource, "must be one of none, basic, standard, detail, expanded")
		}
	}
	return nil
}
