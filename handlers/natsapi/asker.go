package natsapi

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/domain"
)

// Asker asks the other partitions of a partitioned ledger (handlers.Options.AskPartition): a
// system admin's usage.summary sums every partition's, and an unaddressed license.validate looks
// for its key in each. It sends through the Go client, straight to partition i's subject,
// addressed to "_" (the whole partition), with the caller's own token, so the other partition
// authorizes the caller as it would any request. Its zero value asks nobody until Connect.
type Asker struct{ nc atomic.Pointer[nats.Conn] }

// Connect gives the asker the connection it asks on (the ledger's serving connection, which
// exists only once the NATS authenticator, and so the ledger, does).
func (a *Asker) Connect(nc *nats.Conn) { a.nc.Store(nc) }

// Ask implements handlers.AskPartition.
func (a *Asker) Ask(ctx context.Context, i int, name, token string, body []byte) (json.RawMessage, error) {
	nc := a.nc.Load()
	if nc == nil {
		return nil, errors.New("not connected")
	}
	c := client.New(nc, token)
	c.Partition = strconv.Itoa(i)
	raw, err := c.Query(ctx, name, body)
	var refused *client.Error
	if errors.As(err, &refused) {
		return nil, &domain.Error{Code: domain.Code(refused.Code), Field: refused.Field, Message: refused.Message}
	}
	return raw, err
}
