package natsapi

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

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/wire"
)

// AuthCalloutSubject is where a NATS server with auth_callout asks who may connect.
const AuthCalloutSubject = "$SYS.REQ.USER.AUTH"

// CalloutIssuerFile is the data-dir file holding the seed of the account key that signs the
// answers to an external cluster's auth callout. Its public key goes in the cluster's
// configuration (authorization.auth_callout.issuer).
const CalloutIssuerFile = datadir.CalloutIssuerFile

// NATSCallout admits partners to an external NATS cluster the way NATSAuth admits them to the
// embedded server, through the cluster's auth callout: the server sends each CONNECT it cannot
// decide itself to AuthCalloutSubject, and the ledger answers with a user JWT carrying the same
// permissions, signed with the issuer key. Unlike the embedded server, the ledger cannot close
// connections on the cluster, so each session is given an expiry (Session): when it ends, the
// client reconnects and is judged again, and a disabled, revoked or rotated token is refused.
// Until then the connection can do nothing with that token anyway: every request is checked
// against its own Authorization header.
type NATSCallout struct {
	ledger *handlers.Ledger
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
		return kp, datadir.WriteFileSync(path, seed, 0o600)
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
func NewNATSCallout(l *handlers.Ledger, issuer nkeys.KeyPair, log *slog.Logger) *NATSCallout {
	return &NATSCallout{ledger: l, log: log, issuer: issuer, Session: 10 * time.Minute}
}

// Serve answers the cluster's auth callout on nc (a connection of one of the configuration's
// auth_users) until the subscription is drained. Several ledgerd may serve it together.
//
// The server takes one answer per request, and exactly one: nats-server v2.15.2 hands each answer
// to a channel with room for one, from the read loop of the connection that carried it, so a
// third answer blocks that loop for good (and with it that ledgerd's connection to the node: its
// publications stall, and the node cannot shut down). A partitioned ledger's partitions are each
// asked (a queue group per partition), so exactly one of them answers: the one whose reseller
// the admitted credential belongs to, partition 0 for a system-wide credential (which every
// partition holds) and for an anonymous login. A refusal is not answered at all: the partition
// that knows the token may admit it. A login no partition admits is refused when the server's
// auth timeout passes.
func (c *NATSCallout) Serve(nc *nats.Conn) (*nats.Subscription, error) {
	part := c.ledger.Partition()
	return nc.QueueSubscribe(AuthCalloutSubject, fmt.Sprintf("ledgerd-p%d", part.Index), func(m *nats.Msg) {
		answer, reseller, admitted, err := c.answer(m.Data, time.Now())
		if err != nil {
			c.log.Warn("auth callout: unreadable request", "err", err)
			return // the server times the login out
		}
		if part.Partitioned() && !(admitted && answersFor(part, reseller)) {
			return
		}
		_ = m.Respond(answer)
	})
}

// answersFor reports whether partition part is the one to admit a credential of reseller ("" for
// system-wide credentials and anonymous logins, which partition 0 admits).
func answersFor(part wire.Partition, reseller string) bool {
	if reseller == "" {
		return part.Index == 0
	}
	return part.Owns(reseller)
}

// answer decides one authorization request and returns the signed response, and whether it
// admits the login, and as whose reseller.
func (c *NATSCallout) answer(request []byte, now time.Time) (answer []byte, reseller string, admitted bool, err error) {
	req, err := jwt.DecodeAuthorizationRequestClaims(string(request))
	if err != nil {
		return nil, "", false, err
	}
	o := req.ConnectOptions
	resp := jwt.NewAuthorizationResponseClaims(req.UserNkey)
	resp.Audience = req.Server.ID
	in, ok := admit(c.ledger, c.log, natsLogin{Token: o.Token, User: o.Username, Password: o.Password,
		Nkey: o.Nkey, JWT: o.JWT, Host: req.ClientInformation.Host})
	if !ok {
		resp.Error = "not a usable ledger token"
	} else {
		user := jwt.NewUserClaims(req.UserNkey)
		user.Audience = calloutAccount
		user.Name = in.name
		// The server ends the session at the JWT's expiry: the session's length, or sooner the
		// credential's own expiry.
		expires := now.Add(c.Session)
		if !in.expiresAt.IsZero() && in.expiresAt.Before(expires) {
			expires = in.expiresAt
		}
		user.Expires = expires.Unix()
		user.Pub.Allow.Add(in.perms.Publish...)
		user.Sub.Allow.Add(in.perms.Subscribe...)
		if resp.Jwt, err = user.Encode(c.issuer); err != nil {
			return nil, "", false, err
		}
	}
	signed, err := resp.Encode(c.issuer)
	return []byte(signed), in.reseller, ok, err
}
