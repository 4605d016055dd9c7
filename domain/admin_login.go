package domain

import "time"

// CodeLoginFailed refuses admin.login: no such admin, no password set, or the wrong password
// (one answer for all, so a guesser learns nothing about which usernames exist) (401).
const CodeLoginFailed Code = "LOGIN_FAILED"

// AdminLogin opens a login session for an admin (APIO's password made good for something): a
// short-lived credential acting for the admin, with the role its profile type names and the
// scope its place gives (its reseller, its tenant for a tenant admin, and itself as userId).
// The password is checked before the decision, off the sequencer (argon2id is slow on purpose);
// VerifiedHash is the stored hash it matched, and the decision refuses the login if the admin's
// hash is another by then (the password changed meanwhile).
type AdminLogin struct {
	Username     string
	VerifiedHash string
	CredentialID string
	TokenHash    string
	TokenPrefix  string
	ExpiresAt    time.Time
}

func (AdminLogin) CommandName() string { return "admin.login" }

func (s *State) decideAdminLogin(now time.Time, c AdminLogin) ([]Event, error) {
	a, ok := s.Admins[c.Username]
	if !ok || a.PasswordHash == "" || a.PasswordHash != c.VerifiedHash {
		return nil, Errorf(CodeLoginFailed, "password", "unknown username or wrong password")
	}
	if !c.ExpiresAt.After(now) || c.TokenHash == "" {
		return nil, Errorf(CodeInvalidArgument, "", "a session needs a token and an expiry in the future")
	}
	if _, taken := s.Credentials[c.CredentialID]; taken || checkID("id", c.CredentialID) != nil {
		return nil, Errorf(CodeInvalidArgument, "", "bad session id %q", c.CredentialID)
	}
	at := c.ExpiresAt
	return []Event{CredentialIssued{
		ID: c.CredentialID, Role: a.ProfileType, Scope: Scope{ResellerID: a.ResellerID, TenantID: a.TenantID, UserID: a.Username},
		Description: "login session of admin " + a.Username, ExpiresAt: &at, TokenHash: c.TokenHash, TokenPrefix: c.TokenPrefix,
		Session: true,
	}}, nil
}
