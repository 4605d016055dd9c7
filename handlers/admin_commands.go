package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/wire"
)

// commandEnv is what a command decoder may use besides the body: the server's secrets, the
// configuration, and who is asking.
type commandEnv struct {
	secrets      *Secrets
	passwordRule *domain.PasswordRule // the local rule passwords must follow (nil: none)
	caller       domain.Credential    // the authenticated principal
	personal     *personalKeys        // opens the admins' sealed personal data for replies
	licenseKeys  *licenseKeys         // sign license files (license.checkout)
	// argonMemory overrides the argon2id memory cost in KiB (0: argonMemory). Only tests that
	// decode many passwords (the fuzzer) lower it.
	argonMemory uint32
}

// Argon2id parameters for admin passwords (OWASP's minimum: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword checks the rule (if configured) and returns an argon2id hash in PHC string form.
// It runs on the request's worker, never on the sequencer: it is deliberately slow.
func (env *commandEnv) hashPassword(pw *string) (string, error) {
	if pw == nil {
		return "", nil
	}
	if env.passwordRule != nil {
		if err := env.passwordRule.Check(*pw); err != nil {
			return "", err
		}
	} else if *pw == "" {
		return "", domain.Errorf(domain.CodeInvalidArgument, "password", "must not be empty")
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	memory := uint32(argonMemory)
	if env.argonMemory != 0 {
		memory = env.argonMemory
	}
	key := argon2.IDKey([]byte(*pw), salt, argonTime, memory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Wire forms of the admin commands that may carry a password.
type (
	adminCreateWire struct {
		domain.AdminCreate
		CommandMeta
		Password *string `json:"password,omitempty"`
	}
	adminUpdateWire struct {
		domain.AdminUpdate
		CommandMeta
		Password *string `json:"password,omitempty"`
	}
)

func (w *adminCreateWire) password() *string { return w.Password }
func (w *adminUpdateWire) password() *string { return w.Password }

func (w *adminCreateWire) withHash(h string) (domain.Command, CommandMeta) {
	w.PasswordHash = h
	return w.AdminCreate, w.CommandMeta
}

func (w *adminUpdateWire) withHash(h string) (domain.Command, CommandMeta) {
	w.PasswordHash = h
	return w.AdminUpdate, w.CommandMeta
}

// adminCommand decodes an admin command whose password (if any) is checked and hashed here, and
// answers with the admin as it stands after the command.
func adminCommand[W any, P interface {
	*W
	password() *string
	withHash(hash string) (domain.Command, CommandMeta)
}](w W, env *commandEnv) (*prepared, error) {
	hash, err := env.hashPassword(P(&w).password())
	if err != nil {
		return nil, err
	}
	cmd, meta := P(&w).withHash(hash)
	return &prepared{cmd: cmd, meta: meta, result: untyped(adminResult(cmd, env.personal))}, nil
}

type adminDeleteWire struct {
	domain.AdminDelete
	CommandMeta
}

// adminDeleted is admin.delete's reply.
type adminDeleted struct {
	Username string `json:"username"`
	Deleted  bool   `json:"deleted"`
}

func adminDeleteCommand(w adminDeleteWire, env *commandEnv) (*prepared, error) {
	// A credential that acts for an admin names it in its scope's userId.
	w.By = env.caller.Scope.UserID
	username := w.Username
	return &prepared{cmd: w.AdminDelete, meta: w.CommandMeta, result: func(*domain.State, time.Time) any {
		return adminDeleted{username, true}
	}}, nil
}

// adminView is an admin as replies show it: APIO's GET attributes, those marked always (A) and,
// when they apply, conditional (C) and optional (O) ones; never the password.
type adminView struct {
	Username        string `json:"username"`
	FirstName       string `json:"firstName"`
	LastName        string `json:"lastName"`
	EmailAddress    string `json:"emailAddress"`
	Language        string `json:"language"`
	LanguageCode    string `json:"language_code,omitempty"` // derived from language
	AccessType      int    `json:"accessType"`
	UserLevel       int    `json:"userLevel"` // derived from userProfileType
	ReadOnly        bool   `json:"readOnly"`
	UserProfileType string `json:"userProfileType"`
	ResellerID      string `json:"resellerId"`
	TenantID        string `json:"tenantId,omitempty"` // a tenant admin's
	Role            string `json:"role,omitempty"`
	HasPassword     bool   `json:"hasPassword"`
}

// viewAdmin renders an admin, its personal data opened with its key.
func viewAdmin(a *domain.Admin, personal *personalKeys) adminView {
	return adminView{
		Username: a.Username, Language: a.Language, LanguageCode: domain.LanguageCode(a.Language), Role: a.Role,
		HasPassword: a.PasswordHash != "", AccessType: domain.AccessTypeFull, UserLevel: domain.UserLevel(a.ProfileType),
		FirstName: personal.open(a.FirstName), LastName: personal.open(a.LastName), EmailAddress: personal.open(a.EmailAddress),
		UserProfileType: a.ProfileType, ResellerID: a.ResellerID, TenantID: a.TenantID,
	}
}

// adminResult answers with the admin a command acted on, as it stands after it.
func adminResult(cmd domain.Command, personal *personalKeys) func(*domain.State, time.Time) adminView {
	username := aggregateID(cmd)
	return func(s *domain.State, _ time.Time) adminView { return viewAdmin(s.Admins[username], personal) }
}

// credentialIssueCommand issues an API credential. The token is drawn here and shown once, in
// the reply; the log keeps only its keyed hash and a display prefix.
type credentialIssueWire struct {
	domain.CredentialIssue
	// Scope shadows CredentialIssue.Scope: a credential whose scope was left out must not get
	// the zero scope, which is the whole system.
	Scope *domain.Scope `json:"scope"`
	CommandMeta
}

// credentialIssued is credential.issue's reply.
type credentialIssued struct {
	ID          string            `json:"id"`
	Token       string            `json:"token"` // shown once, here
	TokenPrefix string            `json:"tokenPrefix"`
	InboxPrefix string            `json:"inboxPrefix"` // the NATS reply prefix this token's connections may read
	Role        string            `json:"role"`
	Scope       domain.Scope      `json:"scope"`
	Access      map[string]string `json:"access,omitempty"`    // as inherited from the issuer, where the request named none
	ExpiresAt   *time.Time        `json:"expiresAt,omitempty"` // likewise
}

func credentialIssueCommand(w credentialIssueWire, env *commandEnv) (*prepared, error) {
	if w.Scope == nil {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "scope", "is required ({} is the whole system)")
	}
	w.CredentialIssue.Scope = *w.Scope
	fillID(&w.ID)
	token, hash, prefix := env.secrets.NewToken()
	w.TokenHash, w.TokenPrefix = hash, prefix
	// What the request leaves out, the issuer passes on: its caps and its expiry.
	c := w.CredentialIssue.Inherit(env.caller)
	return &prepared{cmd: c, meta: w.CommandMeta, secret: true, result: func(*domain.State, time.Time) any {
		return credentialIssued{c.ID, token, prefix, wire.InboxPrefix(token), c.Role, c.Scope, c.Access, c.ExpiresAt}
	}}, nil
}

// Wire forms of the credential lifecycle commands.
type (
	credDisableWire struct {
		domain.CredentialDisable
		CommandMeta
	}
	credEnableWire struct {
		domain.CredentialEnable
		CommandMeta
	}
	credRevokeWire struct {
		domain.CredentialRevoke
		CommandMeta
	}
	credSetAccessWire struct {
		domain.CredentialSetAccess
		CommandMeta
	}
	credDeleteWire struct {
		domain.CredentialDelete
		CommandMeta
	}
	credUpdateWire struct {
		domain.CredentialUpdate
		CommandMeta
	}
)

func (w credDisableWire) parts() (domain.Command, CommandMeta) {
	return w.CredentialDisable, w.CommandMeta
}
func (w credEnableWire) parts() (domain.Command, CommandMeta) {
	return w.CredentialEnable, w.CommandMeta
}
func (w credRevokeWire) parts() (domain.Command, CommandMeta) {
	return w.CredentialRevoke, w.CommandMeta
}
func (w credDeleteWire) parts() (domain.Command, CommandMeta) {
	return w.CredentialDelete, w.CommandMeta
}
func (w credUpdateWire) parts() (domain.Command, CommandMeta) {
	return w.CredentialUpdate, w.CommandMeta
}
func (w credSetAccessWire) missing() error {
	if w.Access == nil {
		return domain.Errorf(domain.CodeInvalidArgument, "access", "is required ({} lifts every limit)")
	}
	return nil
}

func (w credSetAccessWire) parts() (domain.Command, CommandMeta) {
	return w.CredentialSetAccess, w.CommandMeta
}

type credentialRotateWire struct {
	domain.CredentialRotate
	CommandMeta
}

// credentialRotated is credential.rotate's reply: the credential and its new token.
type credentialRotated struct {
	credentialView
	Token       string `json:"token"` // shown once, here
	InboxPrefix string `json:"inboxPrefix"`
}

func credentialRotateCommand(w credentialRotateWire, env *commandEnv) (*prepared, error) {
	token, hash, prefix := env.secrets.NewToken()
	w.TokenHash, w.TokenPrefix = hash, prefix
	view := credentialResult(w.CredentialRotate)
	return &prepared{cmd: w.CredentialRotate, meta: w.CommandMeta, secret: true, result: func(s *domain.State, now time.Time) any {
		return credentialRotated{view(s, now), token, wire.InboxPrefix(token)}
	}}, nil
}

// credentialView is a credential as replies show it (never its token or hash).
type credentialView struct {
	ID          string            `json:"id"`
	Role        string            `json:"role"`
	Scope       domain.Scope      `json:"scope"`
	Description string            `json:"description,omitempty"`
	Enabled     bool              `json:"enabled"`
	Revoked     bool              `json:"revoked"`
	Access      map[string]string `json:"access,omitempty"`
	ExpiresAt   *time.Time        `json:"expiresAt,omitempty"`
}

// credentialResult answers with the credential a command acted on, as it stands after it.
func credentialResult(cmd domain.Command) func(*domain.State, time.Time) credentialView {
	id := aggregateID(cmd)
	return func(s *domain.State, _ time.Time) credentialView {
		c := s.Credentials[id]
		return credentialView{ID: c.ID, Role: c.Role, Scope: c.Scope, Description: c.Description,
			Enabled: c.Enabled, Revoked: c.Revoked, Access: c.Access, ExpiresAt: optionalTime(c.ExpiresAt)}
	}
}
