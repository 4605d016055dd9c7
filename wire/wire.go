// Package wire spells licledger's wire contract on NATS in one place: the subjects of commands,
// queries, events and checkpoints (and their partitioned forms), the header names, and the inbox
// rule that says where a token's replies go. The client, the service, the relay and ledgerctl
// all take them from here. It imports only the standard library.
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Subjects. A command is sent on ledger.v1.cmd.<command>, a query on ledger.v1.q.<query>, either
// optionally addressed to a reseller by one more token (…<name>.<reseller>); a cluster
// partitioned by reseller maps those to ledger.v1.p.<k>.(cmd|q).<name>.<reseller>. Events are
// published on ledger.v1.evt.<reseller or _>.<aggregate id>.<type>, checkpoints on
// ledger.v1.checkpoint (under ledger.v1.p.<k>. for partition k of a partitioned ledger).
const (
	Root              = "ledger.v1."
	CommandPrefix     = Root + "cmd."
	QueryPrefix       = Root + "q."
	EventPrefix       = Root + "evt."
	PartitionRoot     = Root + "p."
	CheckpointSubject = Root + "checkpoint"
	// SystemToken stands for "no reseller": in event subjects (products, plans, system
	// credentials), and as the addressee of a request to a whole partition.
	SystemToken = "_"
)

// Kinds of request, as they appear in subjects.
const (
	KindCommand = "cmd"
	KindQuery   = "q"
)

// Header names.
const (
	HeaderAuthorization = "Authorization" // "Bearer <token>"
	HeaderMsgID         = "Nats-Msg-Id"   // a command's idempotency key
	HeaderTraceParent   = "traceparent"   // W3C trace context, kept as the events' correlation id
)

// RequestSubject is the subject of a request of kind (KindCommand or KindQuery) named name,
// addressed to reseller ("" for none).
func RequestSubject(kind, name, reseller string) string {
	s := Root + kind + "." + name
	if reseller != "" {
		s += "." + reseller
	}
	return s
}

// PartitionPrefix is the subject space partition k serves: ledger.v1.p.<k>.
func PartitionPrefix(k int) string { return PartitionRoot + strconv.Itoa(k) + "." }

// PartitionSubject is the subject of a request sent straight to partition k (a string, as the
// command line gives it), addressed to reseller ("" for the whole partition).
func PartitionSubject(k, kind, name, reseller string) string {
	if reseller == "" {
		reseller = SystemToken
	}
	return PartitionRoot + k + "." + kind + "." + name + "." + reseller
}

// InPartition puts an unpartitioned subject (ledger.v1.<rest>) under partition k's prefix.
func InPartition(k int, subject string) string {
	return PartitionPrefix(k) + strings.TrimPrefix(subject, Root)
}

// The inbox rule. A connection authenticated with a token reads replies under that token's
// inbox prefix and nowhere else (InboxPrefix); a connection without a token shares nats.go's
// default "_INBOX."; ledgerd's own connections have prefixes of their own.
const (
	// InboxNamespace is the subject space of the credentials' private inboxes. It lies outside
	// nats.go's default "_INBOX.", which anonymous connections share.
	InboxNamespace = "_INBOX_LEDGER"
	// AnonymousInboxes is nats.go's default inbox space.
	AnonymousInboxes = "_INBOX"
	// LedgerInboxPrefix is ledgerd's serving connection's: one partition asks another with its
	// callers' tokens and takes the answers there.
	LedgerInboxPrefix = InboxNamespace + ".ledgerd"
	// LedgerWriterInboxPrefix is ledgerd's writer connection's (JetStream acknowledgements).
	LedgerWriterInboxPrefix = InboxNamespace + ".ledgerd-writer"
)

// InboxPrefix is the reply-subject prefix a connection authenticated with token must use: the
// ledger's NATS permissions let that connection subscribe under it and nowhere else. It is
// derived from the token (not the credential id, which other partners can see), so only the
// token's holder can name it. "" for no token.
func InboxPrefix(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("licledger inbox v1\n" + token))
	return InboxNamespace + "." + hex.EncodeToString(sum[:16])
}

// FeedConsumer is the name of the one consumer on the event stream a token's connections may
// create, read and delete: the reseller's feed (docs/WIRE.md, "Following your events"). Like the
// inbox prefix it is derived from the token, so nobody else can name it, pull from it or delete
// it. "" for no token.
func FeedConsumer(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("licledger feed v1\n" + token))
	return "feed_" + hex.EncodeToString(sum[:16])
}

// Bearer is the Authorization header value of token.
func Bearer(token string) string { return "Bearer " + token }

// BearerToken extracts the token of an "Authorization: Bearer <token>" header ("" if none).
func BearerToken(h string) string {
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
}

// Endpoint is where a credential talks to the ledger: the ERP seed's "API Endpoint" of an API
// user, as credential.get shows it. Its connections read replies under the inboxPrefix given with
// its token (at issue, rotation or login), which the ledger cannot show again.
type Endpoint struct {
	NATS     string `json:"nats,omitempty"` // the NATS server URL, as the deployment advertises it
	Commands string `json:"commands"`       // the command subjects, <command> standing for the name
	Queries  string `json:"queries"`        // the query subjects
	HTTP     string `json:"http,omitempty"` // the HTTP API, <name> standing for a command's or a query's name
	// For a credential that may follow its reseller's events (docs/WIRE.md, "Following your
	// events"): the stream they are on, and the one filter subject its feed consumer may have.
	EventStream  string `json:"eventStream,omitempty"`
	EventSubject string `json:"eventSubject,omitempty"`
}

// EndpointOf is the endpoint of a credential whose scope names reseller ("" for none): its
// requests are addressed to its reseller, the form a ledger partitioned by reseller routes.
// feed says whether it may follow the reseller's events, which are on part's stream. natsURL and
// httpBase are the deployment's advertised addresses ("" for unknown).
func EndpointOf(reseller string, feed bool, part Partition, natsURL, httpBase string) Endpoint {
	e := Endpoint{NATS: natsURL, Commands: CommandPrefix + "<command>", Queries: QueryPrefix + "<query>"}
	if reseller != "" {
		e.Commands += "." + reseller
		e.Queries += "." + reseller
	}
	if reseller != "" && feed {
		e.EventStream, e.EventSubject = part.StreamName(), part.SubjectPrefix()+reseller+".>"
	}
	if httpBase != "" {
		e.HTTP = strings.TrimSuffix(httpBase, "/") + "/v1/<name>"
	}
	return e
}
