package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/licledger/licledger/domain"
)

// Authenticate finds the credential a bearer token belongs to. source identifies where the
// request came from (the requester's NATS inbox prefix; "" if unknown): failed authentications
// are limited per source and per presented token (FailedAuthLimit), so a guesser is answered 429
// without the token being looked at.
func (l *Ledger) Authenticate(token, source string) (domain.Credential, *Failure) {
	return l.authenticate(token, source, true)
}

// authenticate is Authenticate; countFailure false leaves a failure out of the limits (a
// partition asked about a login whose token may be another partition's).
func (l *Ledger) authenticate(token, source string, countFailure bool) (domain.Credential, *Failure) {
	if token == "" {
		return domain.Credential{}, Refuse(&domain.Error{Code: CodeUnauthenticated, Field: "Authorization", Message: "missing header Authorization: Bearer <token>"})
	}
	now := l.now()
	wellFormed := WellFormedToken(token)
	hash := ""
	if wellFormed {
		hash = l.secrets.TokenHash(token)
	}
	if limited, until := l.authFailures.blocked(now, source, hash); limited {
		wait := max(until.Sub(now).Round(time.Second), time.Second)
		return domain.Credential{}, Refuse(&domain.Error{Code: CodeRateLimited, Field: "Authorization",
			Message: fmt.Sprintf("too many failed authentications; retry in %s", wait)})
	}
	if !wellFormed {
		if countFailure {
			l.authFailures.fail(now, source, "")
		}
		return domain.Credential{}, Refuse(&domain.Error{Code: CodeUnauthenticated, Field: "Authorization", Message: "malformed token"})
	}
	if seq := l.credentialSeq.Load(); seq > l.runner.Position() {
		ctx, cancel := context.WithTimeout(context.Background(), l.readTimeout)
		err := l.runner.WaitFor(ctx, seq)
		cancel()
		if err != nil {
			return domain.Credential{}, Refuse(err)
		}
	}
	c, ok := l.creds.ByTokenHash(hash)
	if !ok {
		if countFailure {
			l.authFailures.fail(now, source, hash)
		}
		return domain.Credential{}, Refuse(&domain.Error{Code: CodeUnauthenticated, Field: "Authorization", Message: "unknown or disabled token"})
	}
	if c.ExpiredAt(now) {
		// Not a guess: the token was good. It is no failed authentication.
		return domain.Credential{}, Refuse(&domain.Error{Code: CodeTokenExpired, Field: "Authorization",
			Message: "the token expired at " + c.ExpiresAt.UTC().Format(time.RFC3339)})
	}
	l.creds.RecordLogin(c.ID, now)
	return c, nil
}

// authorize checks the permission matrix (domain.Allowed): a role that may not perform an
// operation is refused with 403 before anything is decoded or decided.
func authorize(role, op string) *Failure {
	if domain.Allowed(role, op) {
		return nil
	}
	return Refuse(&domain.Error{Code: CodeForbidden, Message: fmt.Sprintf("the role %s may not %s", role, op)})
}

// lastLoginMeta prefixes the metadata keys that keep credentials' last logins.
const lastLoginMeta = "lastlogin/"

// PersistLastLogins writes the last logins that changed since the previous call. ledgerd calls it
// once a minute and at shutdown, so a login costs no write of its own; a crash loses at most a
// minute of last-login times, never an event.
func (l *Ledger) PersistLastLogins() error {
	for id, at := range l.creds.LastLogins() {
		v, _ := at.MarshalText()
		if err := l.store.SetMeta(lastLoginMeta+id, v); err != nil {
			return err
		}
	}
	return nil
}

// noteCredentialChange records that a credential event will be at seq (see credentialSeq).
func (l *Ledger) noteCredentialChange(seq uint64) {
	for {
		cur := l.credentialSeq.Load()
		if seq <= cur || l.credentialSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// AuthenticateConnection is Authenticate for a NATS connection's login, for the embedded
// server's authenticator and a cluster's auth callout alike. On a partitioned ledger a token this
// partition does not know may be another partition's, so it is no failed authentication: counting
// it would soon block the host's every login, the partition's own resellers' included.
func (l *Ledger) AuthenticateConnection(token, source string) (domain.Credential, *Failure) {
	return l.authenticate(token, source, !l.partition.Partitioned())
}
