package client

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/wire"
)

// Follow opens the reseller's feed on the event stream for a connection made with token (whose
// credential is scoped to that reseller as a whole, with a role that sees all of it): the events
// of reseller from sequence from on (1: from the start), then live, in log order. It is the
// token's one feed consumer (wire.FeedConsumer); following again starts it over, and the server
// drops it after five minutes unread. Read it with Next, Fetch or Consume; each message's data
// is one event's CloudEvents envelope.
func Follow(ctx context.Context, nc *nats.Conn, token, reseller string, from uint64) (jetstream.Consumer, error) {
	return FollowOn(ctx, nc, token, wire.EventStream, wire.EventPrefix+reseller+".>", from)
}

// FollowOn is Follow on the stream and filter subject a credential's endpoint names
// (credential.get: endpoint.eventStream and endpoint.eventSubject), which on a ledger partitioned
// by reseller are its partition's: LEDGER_EVENTS_<k> and ledger.v1.p.<k>.evt.<reseller>.>.
func FollowOn(ctx context.Context, nc *nats.Conn, token, stream, subject string, from uint64) (jetstream.Consumer, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	name := wire.FeedConsumer(token)
	// A consumer's start cannot change: the old one goes first (it may not exist).
	if err := js.DeleteConsumer(ctx, stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, err
	}
	return js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Name:              name,
		FilterSubject:     subject,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       max(from, 1),
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: 5 * time.Minute,
		MemoryStorage:     true,
	})
}
