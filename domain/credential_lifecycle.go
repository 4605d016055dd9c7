package domain

import (
	"slices"
	"time"
)

// View levels, lowest first: a grant of one implies those below it.
var ViewLevels = []string{"none", "basic", "standard", "detail", "expanded"}

// ViewRank is a view level's place in ViewLevels (-1 for no level).
func ViewRank(level string) int { return slices.Index(ViewLevels, level) }

// Cap is the credential's view cap for a resource; a resource its access does not name is not
// capped ("expanded").
func (c Credential) Cap(resource string) string {
	if level, ok := c.Access[resource]; ok {
		return level
	}
	return "expanded"
}

// CredentialRef names the credential a lifecycle command acts on.
type CredentialRef struct {
	CredentialID string `json:"credentialId"`
}

// Credential lifecycle commands.
type (
	CredentialDisable CredentialRef
	CredentialEnable  CredentialRef
	CredentialRevoke  CredentialRef
	// CredentialDelete is the ERP seed's "Delete": the credential is revoked and leaves every
	// list and lookup; the history keeps it, and its id is never issued again.
	CredentialDelete CredentialRef
)

// CredentialUpdate edits a credential's attributes that carry no power (the ERP seed's API user
// description); a field left out stays as it is.
type CredentialUpdate struct {
	CredentialID string  `json:"credentialId"`
	Description  *string `json:"description,omitempty"`
}

// CredentialRotate replaces a credential's token: the old one stops working at once. The caller
// draws the new token and passes its keyed hash and prefix. The expiry stays as it was unless
// ExpiresAt gives a new one.
type CredentialRotate struct {
	CredentialID string     `json:"credentialId"`
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"`
	TokenHash    string     `json:"-"`
	TokenPrefix  string     `json:"-"`
}

// CredentialSetAccess sets the maximum view level per resource.
type CredentialSetAccess struct {
	CredentialID string            `json:"credentialId"`
	Access       map[string]string `json:"access"`
}

func (CredentialDisable) CommandName() string   { return "credential.disable" }
func (CredentialEnable) CommandName() string    { return "credential.enable" }
func (CredentialRevoke) CommandName() string    { return "credential.revoke" }
func (CredentialRotate) CommandName() string    { return "credential.rotate" }
func (CredentialSetAccess) CommandName() string { return "credential.set-access" }
func (CredentialDelete) CommandName() string    { return "credential.delete" }
func (CredentialUpdate) CommandName() string    { return "credential.update" }

// Event types.
const (
	TypeCredentialDisabled  = "credential.disabled.v1"
	TypeCredentialEnabled   = "credential.enabled.v1"
	TypeCredentialRevoked   = "credential.revoked.v1"
	TypeCredentialRotated   = "credential.rotated.v1"
	TypeCredentialAccessSet = "credential.access-set.v1"
	TypeCredentialDeleted   = "credential.deleted.v1"
	TypeCredentialUpdated   = "credential.updated.v1"
)

// CredentialChanged is the data of every credential lifecycle event.
type CredentialChanged struct {
	CredentialID string            `json:"credentialId"`
	ResellerID   string            `json:"resellerId,omitempty"`
	TenantID     string            `json:"tenantId,omitempty"`
	TokenHash    string            `json:"tokenHash,omitempty"`   // rotated: the new token's keyed hash
	TokenPrefix  string            `json:"tokenPrefix,omitempty"` // rotated
	Access       map[string]string `json:"access,omitempty"`      // access-set
	ExpiresAt    *time.Time        `json:"expiresAt,omitempty"`   // rotated: a new expiry
	Reason       string            `json:"reason,omitempty"`      // revoked by the ledger itself: why
	Description  *string           `json:"description,omitempty"` // updated: the new description ("" clears it)
}

// Credential lifecycle events.
type (
	CredentialDisabled  CredentialChanged
	CredentialEnabled   CredentialChanged
	CredentialRevoked   CredentialChanged
	CredentialRotated   CredentialChanged
	CredentialAccessSet CredentialChanged
	CredentialDeleted   CredentialChanged
	CredentialUpdated   CredentialChanged
)

func (CredentialDisabled) EventType() string  { return TypeCredentialDisabled }
func (CredentialEnabled) EventType() string   { return TypeCredentialEnabled }
func (CredentialRevoked) EventType() string   { return TypeCredentialRevoked }
func (CredentialRotated) EventType() string   { return TypeCredentialRotated }
func (CredentialAccessSet) EventType() string { return TypeCredentialAccessSet }
func (CredentialDeleted) EventType() string   { return TypeCredentialDeleted }
func (CredentialUpdated) EventType() string   { return TypeCredentialUpdated }

func (e CredentialDisabled) AggregateID() string  { return e.CredentialID }
func (e CredentialEnabled) AggregateID() string   { return e.CredentialID }
func (e CredentialRevoked) AggregateID() string   { return e.CredentialID }
func (e CredentialRotated) AggregateID() string   { return e.CredentialID }
func (e CredentialAccessSet) AggregateID() string { return e.CredentialID }
func (e CredentialDeleted) AggregateID() string   { return e.CredentialID }
func (e CredentialUpdated) AggregateID() string   { return e.CredentialID }

func (e CredentialDisabled) Stream() string  { return credentialStream(e.CredentialID) }
func (e CredentialEnabled) Stream() string   { return credentialStream(e.CredentialID) }
func (e CredentialRevoked) Stream() string   { return credentialStream(e.CredentialID) }
func (e CredentialRotated) Stream() string   { return credentialStream(e.CredentialID) }
func (e CredentialAccessSet) Stream() string { return credentialStream(e.CredentialID) }
func (e CredentialDeleted) Stream() string   { return credentialStream(e.CredentialID) }
func (e CredentialUpdated) Stream() string   { return credentialStream(e.CredentialID) }

func (e CredentialDisabled) Owner() (string, string)  { return e.ResellerID, e.TenantID }
func (e CredentialEnabled) Owner() (string, string)   { return e.ResellerID, e.TenantID }
func (e CredentialRevoked) Owner() (string, string)   { return e.ResellerID, e.TenantID }
func (e CredentialRotated) Owner() (string, string)   { return e.ResellerID, e.TenantID }
func (e CredentialAccessSet) Owner() (string, string) { return e.ResellerID, e.TenantID }
func (e CredentialDeleted) Owner() (string, string)   { return e.ResellerID, e.TenantID }
func (e CredentialUpdated) Owner() (string, string)   { return e.ResellerID, e.TenantID }

// liveCredential finds a credential that may still change: it exists and is not revoked. A
// deleted credential does not exist any more, except for its id.
func (s *State) liveCredential(id string, revokedToo bool) (*Credential, error) {
	if err := checkID("credentialId", id); err != nil {
		return nil, err
	}
	c, ok := s.Credentials[id]
	if !ok || c.Deleted {
		return nil, Errorf(CodeCredentialNotFound, "credentialId", "credential %q does not exist", id)
	}
	if c.Revoked && !revokedToo {
		return nil, Errorf(CodeCredentialRevoked, "credentialId", "credential %q is revoked; it cannot change any more", id)
	}
	return c, nil
}

func (s *State) decideCredential(now time.Time, cmd Command) ([]Event, error) {
	id := credentialOf(cmd)
	// A revoked credential can still be deleted, to take it out of the lists.
	_, deleting := cmd.(CredentialDelete)
	cred, err := s.liveCredential(id, deleting)
	if err != nil {
		return nil, err
	}
	ch := CredentialChanged{CredentialID: cred.ID, ResellerID: cred.Scope.ResellerID, TenantID: cred.Scope.TenantID}
	switch c := cmd.(type) {
	case CredentialDisable:
		if !cred.Enabled {
			return nil, nil // already disabled: nothing changes
		}
		return []Event{CredentialDisabled(ch)}, nil
	case CredentialEnable:
		if cred.Enabled {
			return nil, nil
		}
		return []Event{CredentialEnabled(ch)}, nil
	case CredentialRevoke:
		return []Event{CredentialRevoked(ch)}, nil
	case CredentialRotate:
		if c.TokenHash == "" {
			return nil, Errorf(CodeInvalidArgument, "token", "a credential needs a token hash")
		}
		if err := checkExpiry(now, c.ExpiresAt); err != nil {
			return nil, err
		}
		ch.TokenHash, ch.TokenPrefix, ch.ExpiresAt = c.TokenHash, c.TokenPrefix, c.ExpiresAt
		return []Event{CredentialRotated(ch)}, nil
	case CredentialSetAccess:
		if err := checkAccess(c.Access); err != nil {
			return nil, err
		}
		ch.Access = c.Access
		return []Event{CredentialAccessSet(ch)}, nil
	case CredentialDelete:
		return []Event{CredentialDeleted(ch)}, nil
	case CredentialUpdate:
		if c.Description == nil {
			return nil, Errorf(CodeInvalidArgument, "description", "nothing to change: give the new description")
		}
		if *c.Description != "" {
			if err := checkText("description", *c.Description); err != nil {
				return nil, err
			}
		}
		if *c.Description == cred.Description {
			return nil, nil // as it is: nothing changes
		}
		ch.Description = c.Description
		return []Event{CredentialUpdated(ch)}, nil
	}
	return nil, Errorf(CodeInvalidArgument, "", "unknown credential command %T", cmd)
}

// AccessResources are the resources a credential's view caps may name: every resource that has
// a query (the ERP seed's "for each API resource"), each with its view table (handlers/views.go).
var AccessResources = []string{"licenses", "credentials", "customers", "admins", "products", "plans", "usage"}

// Apply applies one of the credential's lifecycle events. Read models that keep their own
// credentials use it too, so the rule lives in one place.
func (c *Credential) Apply(e Event) {
	switch e := e.(type) {
	case CredentialDisabled:
		c.Enabled = false
	case CredentialEnabled:
		c.Enabled = true
	case CredentialRevoked:
		c.Revoked, c.Enabled = true, false
	case CredentialRotated:
		c.TokenHash = e.TokenHash
		if e.ExpiresAt != nil {
			c.ExpiresAt = *e.ExpiresAt
		}
	case CredentialAccessSet:
		c.Access = e.Access
	case CredentialDeleted:
		c.Revoked, c.Enabled, c.Deleted = true, false, true
	case CredentialUpdated:
		c.Description = *e.Description
	}
}
