package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// AuthCalloutSubject is where a NATS server with auth_callout asks who may connect.
const AuthCalloutSubject = "$SYS.REQ.USER.AUTH"

// CalloutIssuerFile is the data-dir file holding the seed of the account key that signs the
// answers to an external cluster's auth callout. Its public key goes in the cluster's
// configuration (authorization.auth_callout.issuer).
const CalloutIssuerFile = "nats-callout.seed"

// NATSCallout admits partners to an external NATS cluster the way NATSAuth admits them to the
// embedded server, through the cluster's auth callout: the server sends each CONNECT it cannot
// decide itself to AuthCalloutSubject, and the ledger answers with a user JWT carrying the same
// permissions, signed with the issuer key. Unlike the embedded server, the ledger cannot close
// connections on the cluster, so each session is given an expiry (Session): when it ends, the
// client reconnects and is judged again, and a disabled, revoked or rotated token is refused.
// Until then the connection can do nothing with that token anyway: every request is checked
// against its own Authorization header.
type NATSCallout struct {
	ledger *Ledger
	log    *slog.Logger
	issuer nkeys.KeyPair
	// Session is how long an admitted connection lives before it must authenticate again.
	Session time.Duration
}

// LoadCalloutIssuer reads the issuer's seed from dataDir, creating it when create is true and it
// is missing, and returns the key pair.
func LoadCalloutIssuer(dataDir string, create bool) (nkeys.KeyPair, error) {
	path := filepath.Join(dataDir, CalloutIssuerFile)
	seed, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		kp, err := nkeys.CreateAccount()
		if err != nil {
			return nil, err
		}
		if seed, err = kp.Seed(); err != nil {
			return nil, err
		}
		return kp, writeFileSync(path, seed, 0o600)
	}
	if err != nil {
		return nil, err
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(seed))))
	if err != nil {
		return nil, fmt.Errorf("handlers: %s: %w", path, err)
	}
	if pub, _ := kp.PublicKey(); !nkeys.IsValidPublicAccountKey(pub) {
		return nil, fmt.Errorf("handlers: %s is not an account seed", path)
	}
	return kp, nil
}

// calloutAccount is the account partners join: the global account of deploy/nats-server.conf,
// which has no accounts, so partners share it with ledgerd and reach its service.
const calloutAccount = "$G"

// NewNATSCallout returns the responder.
func NewNATSCallout(l *Ledger, issuer nkeys.KeyPair, log *slog.Logger) *NATSCallout {
	return &NATSCallout{ledger: l, log: log, issuer: issuer, Session: 10 * time.Minute}
}

// Serve answers the cluster's auth callout on nc (a connection of one of the configuration's
// auth_users) until the subscription is drained. Several ledgerd may serve it together.
func (c *NATSCallout) Serve(nc *nats.Conn) (*nats.Subscription, error) {
	return nc.QueueSubscribe(AuthCalloutSubject, "ledgerd", func(m *nats.Msg) {
		answer, err := c.answer(m.Data, time.Now())
		if err != nil {
			c.log.Warn("auth callout: unreadable request", "err", err)
			return // the server times the login out
		}
		_ = m.Respond(answer)
	})
}

// answer decides one authorization request and returns the signed response.
func (c *NATSCallout) answer(request []byte, now time.Time) ([]byte, error) {
	req, err := jwt.DecodeAuthorizationRequestClaims(string(request))
	if err != nil {
		return nil, err
	}
	o := req.ConnectOptions
	resp := jwt.NewAuthorizationResponseClaims(req.UserNkey)
	resp.Audience = req.Server.ID
	name, perms, ok := admit(c.ledger, c.log, natsLogin{Token: o.Token, User: o.Username, Password: o.Password,
		Nkey: o.Nkey, JWT: o.JWT, Host: req.ClientInformation.Host})
	if !ok {
		resp.Error = "not a usable ledger token"
	} else {
		user := jwt.NewUserClaims(req.UserNkey)
		user.Audience = calloutAccount
		user.Name = name
		user.Expires = now.Add(c.Session).Unix()
		user.Pub.Allow.Add(perms.Publish...)
		user.Sub.Allow.Add(perms.Subscribe...)
		if resp.Jwt, err = user.Encode(c.issuer); err != nil {
			return nil, err
		}
	}
	signed, err := resp.Encode(c.issuer)
	return []byte(signed), err
}
