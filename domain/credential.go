package domain

// Roles a credential can hold. The permission matrix that gives them meaning comes with
// authorization; until then every valid credential may do everything.
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

// Scope limits what a credential reaches: empty is the whole system.
type Scope struct {
	ResellerID string `json:"resellerId,omitempty"`
	TenantID   string `json:"tenantId,omitempty"`
	ProductID  string `json:"productId,omitempty"`
	LicenseID  string `json:"licenseId,omitempty"`
	UserID     string `json:"userId,omitempty"`
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
	TokenHash   string            // keyed hash of the current token
	Access      map[string]string // resource -> maximum view level
}

// CredentialIssue creates a credential. TokenHash and TokenPrefix come from the caller, who drew
// the token and shows it once.
type CredentialIssue struct {
	ID          string `json:"id,omitempty"`
	Role        string `json:"role"`
	Scope       Scope  `json:"scope"`
	Description string `json:"description,omitempty"`
	TokenHash   string `json:"-"`
	TokenPrefix string `json:"-"`
}

func (CredentialIssue) CommandName() string { return "credential.issue" }

// TypeCredentialIssued is the type of CredentialIssued.
const TypeCredentialIssued = "credential.issued.v1"

// CredentialIssued records a new credential: its token's keyed hash, never the token.
type CredentialIssued struct {
	ID          string `json:"id"`
	Role        string `json:"role"`
	Scope       Scope  `json:"scope"`
	Description string `json:"description,omitempty"`
	TokenHash   string `json:"tokenHash"`
	TokenPrefix string `json:"tokenPrefix"`
}

func (CredentialIssued) EventType() string     { return TypeCredentialIssued }
func (e CredentialIssued) AggregateID() string { return e.ID }
func (e CredentialIssued) Stream() string      { return credentialStream(e.ID) }
func (e CredentialIssued) Owner() (string, string) {
	return e.Scope.ResellerID, e.Scope.TenantID
}

func knownRole(r string) bool {
	for _, k := range Roles {
		if k == r {
			return true
		}
	}
	return false
}

func (s *State) decideCredentialIssue(c CredentialIssue) ([]Event, error) {
	if err := checkID("id", c.ID); err != nil {
		return nil, err
	}
	if !knownRole(c.Role) {
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
	if _, ok := s.Credentials[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "credential %q already exists", c.ID)
	}
	if r := c.Scope.ResellerID; r != "" {
		if _, ok := s.Resellers[r]; !ok {
			return nil, Errorf(CodeResellerNotFound, "scope.resellerId", "reseller %q does not exist", r)
		}
	}
	return []Event{CredentialIssued(c)}, nil
}
