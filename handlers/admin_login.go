package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// admin.login: an admin's username and password buy a short-lived token acting for that admin.
// It is the one command that needs no token: the password is the credential. Failures are
// limited per source and per username as failed token authentications are, and every failure,
// an unknown username included, costs one argon2id verification and gets the same answer.

// DefaultAdminSessionTTL is how long a login session lasts unless Options.AdminSessionTTL says.
const DefaultAdminSessionTTL = time.Hour

type adminLoginWire struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// adminSession is admin.login's reply: the session's token, shown once, and what it may do.
type adminSession struct {
	CredentialID string       `json:"credentialId"`
	Token        string       `json:"token"`
	InboxPrefix  string       `json:"inboxPrefix"` // the NATS reply prefix this token's connections may read
	Role         string       `json:"role"`
	Scope        domain.Scope `json:"scope"`
	ExpiresAt    time.Time    `json:"expiresAt"`
}

// adminLoginSpec describes admin.login for the endpoint table and schemas. Command handles the
// request itself (adminLogin) before any token is looked at; only a batch reaches this decoder,
// and a login never goes in one.
var adminLoginSpec = prepareCommand[adminLoginWire, adminSession](func(adminLoginWire, *commandEnv) (*prepared, error) {
	return nil, domain.Errorf(domain.CodeInvalidArgument, "name", "admin.login cannot be sent in a batch")
})

// dummyHash is verified against when there is no stored hash to verify, so that an unknown
// username costs what a wrong password costs.
var dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
	base64.RawStdEncoding.EncodeToString(make([]byte, 16)), base64.RawStdEncoding.EncodeToString(make([]byte, argonKeyLen)))

// adminLogin runs admin.login: check the password off the sequencer, then append the session
// credential, which the decision refuses if the password changed in between.
func (l *Ledger) adminLogin(ctx context.Context, r Request) ([]byte, *Failure) {
	var w adminLoginWire
	if err := decodeRequest(schemas.Command, domain.AdminLoginOp, r.Body, &w); err != nil {
		return nil, Refuse(err)
	}
	if !domain.ValidID(w.Username) {
		return nil, Refuse(domain.Errorf(domain.CodeInvalidArgument, "username", "must be 1-%d letters, digits, '_' or '-'", domain.MaxIDLength))
	}
	if w.Password == "" {
		return nil, Refuse(domain.Errorf(domain.CodeInvalidArgument, "password", "is required"))
	}
	now, limitKey := l.now(), "admin:"+w.Username
	if limited, until := l.authFailures.blocked(now, r.Source, limitKey); limited {
		wait := max(until.Sub(now).Round(time.Second), time.Second)
		return nil, Refuse(&domain.Error{Code: CodeRateLimited, Field: "password", Message: fmt.Sprintf("too many failed logins; retry in %s", wait)})
	}
	failed := func() *Failure {
		l.authFailures.fail(now, r.Source, limitKey)
		return Refuse(domain.Errorf(domain.CodeLoginFailed, "password", "unknown username or wrong password"))
	}
	a, found := l.licenses.Admin(w.Username, func(*domain.Admin) bool { return true })
	stored := ""
	if found {
		stored = l.personal.open(a.PasswordHash)
	}
	if ok := verifyPassword(w.Password, stored); !ok || stored == "" {
		return nil, failed()
	}
	if f := l.addressByScope(&r, a.ResellerID); f != nil { // its session is its reseller's credential
		return nil, f
	}
	token, hash, prefix := l.secrets.NewToken()
	cmd := domain.AdminLogin{Username: w.Username, VerifiedHash: a.PasswordHash, TokenHash: hash, TokenPrefix: prefix,
		ExpiresAt: now.Add(l.sessionTTL)}
	fillID(&cmd.CredentialID)
	p := &prepared{cmd: cmd, secret: true, addressed: r.Reseller, result: func(s *domain.State, _ time.Time) any {
		c := s.Credentials[cmd.CredentialID]
		return adminSession{c.ID, token, wire.InboxPrefix(token), c.Role, c.Scope, c.ExpiresAt}
	}}
	reply, f := l.submit(ctx, eventstore.Command{Actor: cmd.CredentialID, CorrelationID: traceID(r.TraceParent), Decide: l.decision(p)}, r.Reseller)
	if f != nil && f.Err.Code == domain.CodeLoginFailed {
		return nil, failed() // the password changed between the check and the decision
	}
	return reply, f
}

// verifyPassword checks password against an argon2id hash in PHC string form (hashPassword's).
// With no hash it verifies against dummyHash and reports false, taking the same time.
func verifyPassword(password, phc string) bool {
	target := phc
	if target == "" {
		target = dummyHash
	}
	var version int
	var memory, passes uint32
	var threads uint8
	parts := strings.Split(target, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil || memory > 1<<22 || passes > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1 && phc != ""
}
