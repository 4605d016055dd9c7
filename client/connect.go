package client

import (
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/wire"
)

// Connect connects to the ledger's NATS server authenticated with token: the token as the NATS
// token and the inbox prefix the ledger allows it. With token "" the connection is anonymous,
// which the ledger admits to license.validate only. opts come after the authentication options.
//
// A request on the connection that the server refuses under its permissions fails at once with
// ErrNotPermitted instead of waiting for its time-out.
func Connect(url, token string, opts ...nats.Option) (*nats.Conn, error) {
	if token != "" {
		opts = append([]nats.Option{nats.Token(token), nats.CustomInboxPrefix(wire.InboxPrefix(token))}, opts...)
	}
	d, opts := withDenials(opts)
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		connDenials.Store(nc, d)
	}
	return nc, err
}
