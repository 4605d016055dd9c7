package client

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/nats-io/nats.go"
)

// InboxNamespace is the subject space of the credentials' private inboxes. It lies outside
// nats.go's default "_INBOX.", which anonymous connections share.
const InboxNamespace = "_INBOX_LEDGER"

// LedgerInboxPrefix is ledgerd's own reply prefix: one partition asks another with its callers'
// tokens and takes the answers there.
const LedgerInboxPrefix = InboxNamespace + ".ledgerd"

// InboxPrefix is the reply-subject prefix a connection authenticated with token must use: the
// ledger's NATS permissions let that connection subscribe under it and nowhere else. It is
// derived from the token (not the credential id, which partners can see in credential.list), so
// no other partner can name it: a reply sent to another partner's inbox, or a failed-login
// count charged to it, needs that partner's token. For "" it is "", nats.go's default inbox.
func InboxPrefix(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("licledger inbox v1\n" + token))
	return InboxNamespace + "." + hex.EncodeToString(sum[:16])
}

// Connect connects to the ledger's NATS server authenticated with token: the token as the NATS
// token and the inbox prefix the ledger allows it. With token "" the connection is anonymous,
// which the ledger admits to license.validate only. opts come after the authentication options.
//
// A request on the connection that the server refuses under its permissions fails at once with
// ErrNotPermitted instead of waiting for its time-out.
func Connect(url, token string, opts ...nats.Option) (*nats.Conn, error) {
	if token != "" {
		opts = append([]nats.Option{nats.Token(token), nats.CustomInboxPrefix(InboxPrefix(token))}, opts...)
	}
	d, opts := withDenials(opts)
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		connDenials.Store(nc, d)
	}
	return nc, err
}
