package natsapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore/natsstream"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/wire"
)

// ledgerd speaks on NATS as two identities. LedgerNATSUser serves the requests: its answers go to
// the requesters' inboxes and nowhere else (the server enforces it: LedgerServingPermissions), so
// a request naming another subject as its reply cannot make the ledger publish there.
// LedgerWriterNATSUser publishes the events, checkpoints and views, and serves nothing. Neither
// is a valid credential id (ids never start with '$'), so no credential can be mistaken for them.
const (
	LedgerNATSUser       = "$ledgerd"
	LedgerWriterNATSUser = "$ledgerd-writer"
)

// LedgerServingPermissions are the serving identity's: it may publish answers to inboxes (the
// anonymous "_INBOX." and the credentials' private ones, not the writer's) and queries to other
// partitions, and nothing else: no event, checkpoint, views bucket or JetStream API.
func LedgerServingPermissions() NATSPermissions {
	return NATSPermissions{
		Publish: []string{wire.AnonymousInboxes + ".>", wire.InboxNamespace + ".>", wire.QueryPrefix + ">", PartitionSubjects + "q.>",
			"$SYS._INBOX.>"}, // the auth callout's answers, on a cluster
	}
}

// ledgerServingDeny are the inboxes the serving identity may not publish to despite the namespace.
var ledgerServingDeny = []string{wire.LedgerWriterInboxPrefix + ".>"}

// PartitionSubjects is where a cluster's subject mapping sends addressed requests,
// ledger.v1.p.<partition>.(cmd|q).…: NATS checks a publisher's permissions against the mapped
// subject, so a partner must be allowed these too. Each partition checks that the reseller a
// request names is its own (handlers.Ledger.checkPartition), so publishing there directly gains nothing.
const PartitionSubjects = wire.PartitionRoot + "*."

// CheckpointSubject is where ledgerd publishes each signed checkpoint of the log, as it is
// signed (the note's text, exactly); the stream natsstream.CheckpointStream keeps them.
const CheckpointSubject = natsstream.CheckpointSubject

// NATSPermissions is what one NATS connection may publish and subscribe to.
type NATSPermissions struct {
	Publish   []string
	Subscribe []string
}

// AnonymousNATSPermissions are those of a connection without a token: Keygen's open
// validate-key, and the public keys of license files, and nothing else. Its replies come to nats.go's default "_INBOX.", which all
// anonymous connections share (the server cannot give a tokenless client a private name), so
// they are never under a credential's inbox or the ledger's.
func AnonymousNATSPermissions() NATSPermissions {
	return NATSPermissions{
		Publish: []string{wire.QueryPrefix + "license.validate", wire.QueryPrefix + "license.validate.*",
			PartitionSubjects + "q.license.validate.*", wire.QueryPrefix + "license.signing-keys"},
		Subscribe: []string{wire.AnonymousInboxes + ".>"},
	}
}

// CredentialNATSPermissions are those of a connection authenticated with credential c's token:
// send commands and queries (what each may do is decided per request, from the request's own
// token) and read replies under the token's inbox prefix only. Operators (a system scope and a
// role allowed every operation, who may read everything anyway) may also ask the micro service
// for its info and stats ($SRV) and read the event stream, as auditors do; they may not change
// it. In a ledger split into partitions (part), the stream and checkpoints they read are every
// partition's.
func CredentialNATSPermissions(c domain.Credential, token string, part wire.Partition) NATSPermissions {
	history := func(p NATSPermissions) NATSPermissions {
		for i := range max(part.Count, 1) {
			each := wire.Partition{Index: i, Count: part.Count}
			p.Publish = append(p.Publish, streamReader(each.StreamName())...)
			p.Subscribe = append(p.Subscribe, each.CheckpointSubject())
		}
		return p
	}
	if c.Role == domain.RoleAuditor && c.Scope.IsSystem() {
		// An auditor's identity reads the history (the stream, the audit queries, published
		// checkpoints) and can do nothing else: no commands, no other query.
		return history(NATSPermissions{
			Publish:   []string{wire.QueryPrefix + "audit.>", PartitionSubjects + "q.audit.>"},
			Subscribe: []string{wire.InboxPrefix(token) + ".>"},
		})
	}
	p := NATSPermissions{
		Publish:   []string{wire.CommandPrefix + ">", wire.QueryPrefix + ">", PartitionSubjects + "cmd.>", PartitionSubjects + "q.>"},
		Subscribe: []string{wire.InboxPrefix(token) + ".>"},
	}
	if c.Scope.IsSystem() && domain.AllowedEverything(c.Role) { // sees the whole ledger anyway
		p.Publish = append(p.Publish, "$SRV.>")
		p.Publish = append(p.Publish, streamReader(ViewsStream)...) // nats kv watch/get ledger-views
		p = history(p)
	}
	if reseller, ok := domain.FeedReseller(c.Role, c.Scope); ok {
		for i := range max(part.Count, 1) {
			each := wire.Partition{Index: i, Count: part.Count}
			p.Publish = append(p.Publish, feedReader(each.StreamName(), wire.FeedConsumer(token), each.SubjectPrefix()+reseller+".>")...)
		}
	}
	return p
}

// feedReader is the JetStream API a reseller's feed needs on one stream: its one consumer, named
// from the token (wire.FeedConsumer), created only with filter as its one filter subject (the
// server refuses a create whose body's filter differs from the one in its subject), read, and
// deleted to start over from another sequence. No stream info (whose subject counts would name
// other resellers), no other consumer, no unfiltered one.
func feedReader(stream, name, filter string) []string {
	return []string{
		"$JS.API.CONSUMER.CREATE." + stream + "." + name + "." + filter,
		"$JS.API.CONSUMER.MSG.NEXT." + stream + "." + name,
		"$JS.API.CONSUMER.INFO." + stream + "." + name,
		"$JS.API.CONSUMER.DELETE." + stream + "." + name,
	}
}

// streamReader is the JetStream API a read-only reader of one stream needs: stream info, direct
// and stored message gets, and consumers of its own (create, info, next, delete, ack). Nothing
// here can purge, delete, or publish into the stream.
func streamReader(stream string) []string {
	return []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO." + stream,
		"$JS.API.STREAM.MSG.GET." + stream,
		"$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>",
		"$JS.API.CONSUMER.CREATE." + stream, "$JS.API.CONSUMER.CREATE." + stream + ".>",
		"$JS.API.CONSUMER.INFO." + stream + ".>",
		"$JS.API.CONSUMER.DELETE." + stream + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + stream + ".>",
		"$JS.ACK." + stream + ".>",
	}
}

func (p NATSPermissions) server() *server.Permissions {
	perms := &server.Permissions{Publish: &server.SubjectPermission{Allow: p.Publish}}
	if p.Subscribe != nil {
		perms.Subscribe = &server.SubjectPermission{Allow: p.Subscribe}
	}
	return perms
}

// NATSAuth authenticates the embedded NATS server's client connections with ledger
// credentials (server.Options.CustomClientAuthentication): the token is the NATS token, and
// each connection gets the permissions above. When a credential is disabled, revoked or rotated
// it closes that credential's connections; a reconnect with the old token then fails.
type NATSAuth struct {
	ledger   *handlers.Ledger
	log      *slog.Logger
	password []byte // of LedgerNATSUser, new on every start
	server   atomic.Pointer[server.Server]
}

// NewNATSAuth returns the authenticator and has it told of the ledger's credential changes.
func NewNATSAuth(l *handlers.Ledger, log *slog.Logger) *NATSAuth {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	a := &NATSAuth{ledger: l, log: log, password: []byte(hex.EncodeToString(secret))}
	l.OnCredentialChange(a.closeConnections)
	return a
}

// Attach gives the authenticator the server whose connections it closes.
func (a *NATSAuth) Attach(s *server.Server) { a.server.Store(s) }

// LedgerOptions are the NATS options of ledgerd's serving connection, and WriterOptions those of
// its writer's.
func (a *NATSAuth) LedgerOptions() []nats.Option {
	return []nats.Option{nats.UserInfo(LedgerNATSUser, string(a.password)), nats.CustomInboxPrefix(wire.LedgerInboxPrefix)}
}

// WriterOptions: see LedgerOptions.
func (a *NATSAuth) WriterOptions() []nats.Option {
	return []nats.Option{nats.UserInfo(LedgerWriterNATSUser, string(a.password)), nats.CustomInboxPrefix(wire.LedgerWriterInboxPrefix)}
}

// Check implements server.Authentication.
func (a *NATSAuth) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false // the embedded server has no routes, gateways or leaf nodes
	}
	o := c.GetOpts()
	if o.Username == LedgerNATSUser || o.Username == LedgerWriterNATSUser {
		if subtle.ConstantTimeCompare([]byte(o.Password), a.password) != 1 {
			return false
		}
		user := &server.User{Username: o.Username} // the writer: no permissions, everything
		if o.Username == LedgerNATSUser {
			perms := LedgerServingPermissions().server()
			perms.Publish.Deny = ledgerServingDeny
			user.Permissions = perms
		}
		c.RegisterUser(user)
		return true
	}
	in, ok := admit(a.ledger, a.log, natsLogin{Token: o.Token, User: o.Username, Password: o.Password,
		Nkey: o.Nkey, JWT: o.JWT, Host: remoteHost(c.RemoteAddress())})
	if ok {
		// The server closes the connection when its credential expires (zero: never).
		c.RegisterUser(&server.User{Username: in.name, Permissions: in.perms.server(), ConnectionDeadline: in.expiresAt})
	}
	return ok
}

// natsLogin is what a NATS client presents in its CONNECT, and where it comes from.
type natsLogin struct {
	Token, User, Password, Nkey, JWT string
	Host                             string
}

// admission is an admitted NATS login: who it is (the credential id, "" if anonymous), its
// reseller ("" for a system-wide credential and for an anonymous login), its permissions, and
// when its credential expires (zero: never).
type admission struct {
	name, reseller string
	perms          NATSPermissions
	expiresAt      time.Time
}

// admit decides a partner's NATS login, for the embedded server and for an external cluster's
// auth callout alike: a usable ledger token gets its credential's permissions and is known by
// the credential id; no credentials at all get the anonymous permissions; anything else
// (a wrong token, a user name, an nkey) is refused. Refused tokens count as failed
// authentications of the remote host.
func admit(l *handlers.Ledger, log *slog.Logger, in natsLogin) (admission, bool) {
	switch {
	case in.Token != "":
		// A partition that does not know a token says nothing (NATSCallout.Serve), and does not
		// count it as a failed login (AuthenticateConnection).
		cred, fail := l.AuthenticateConnection(in.Token, "nats:"+in.Host)
		if fail != nil {
			log.Debug("NATS connection refused", "remote", in.Host, "code", fail.Err.Code)
			return admission{}, false
		}
		return admission{cred.ID, cred.Scope.ResellerID, CredentialNATSPermissions(cred, in.Token, l.Partition()), cred.ExpiresAt}, true
	case in.User == "" && in.Password == "" && in.Nkey == "" && in.JWT == "":
		return admission{perms: AnonymousNATSPermissions()}, true
	}
	return admission{}, false
}

// closeConnections closes every connection authenticated as credential id. It runs after the
// read model applied the change, so the reconnect of a closed connection is judged on the new
// state.
func (a *NATSAuth) closeConnections(id string) {
	s := a.server.Load()
	if s == nil {
		return
	}
	closed := 0
	for {
		conns, err := s.Connz(&server.ConnzOptions{User: id, Limit: 1024})
		if err != nil || len(conns.Conns) == 0 {
			break
		}
		for _, ci := range conns.Conns {
			if s.DisconnectClientByID(ci.Cid) == nil {
				closed++
			}
		}
		if len(conns.Conns) < 1024 {
			break
		}
	}
	if closed > 0 {
		a.log.Info("closed the NATS connections of a changed credential", "credential", id, "connections", closed)
	}
}

// remoteHost is a connection's remote address without its port, the source failed logins are
// counted against.
func remoteHost(addr net.Addr) string {
	if addr == nil {
		return "local"
	}
	return hostOf(addr.String())
}

// hostOf drops the port from host:port (or returns addr as it is).
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
