// Package client speaks licledger's wire contract over NATS: commands on ledger.v1.cmd.<name>,
// queries on ledger.v1.q.<name>, the bearer token in the Authorization header and the command id
// in Nats-Msg-Id. ledgerctl, the tests and the benchmarks all use it.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/licledger/licledger/wire"
)

// Client sends requests on one NATS connection with one credential.
type Client struct {
	nc    *nats.Conn
	token string
	// Timeout bounds each request when the context has no deadline. Default 10 s.
	Timeout time.Duration
	// Reseller, if set, addresses every command and query to that reseller:
	// ledger.v1.cmd.<command>.<reseller> and ledger.v1.q.<query>.<reseller>, the form a cluster
	// partitioned by reseller routes to the reseller's ledger (docs/SCALING.md). A single ledger
	// serves both forms.
	Reseller string
	// Partition, if set (a partition number of a ledger partitioned by reseller), sends every
	// request straight to that partition, ledger.v1.p.<Partition>.(cmd|q).<name>.<Reseller, or _
	// for none>, instead of through the cluster's mapping: for auditors and operators who look at
	// one partition's own log (its audit queries, its checkpoints).
	Partition string
}

// Subject is the subject a request of kind "cmd" or "q" named name is sent on, as Reseller and
// Partition direct (package wire spells them).
func (c *Client) Subject(kind, name string) string {
	if c.Partition != "" {
		return wire.PartitionSubject(c.Partition, kind, name, c.Reseller)
	}
	return wire.RequestSubject(kind, name, c.Reseller)
}

// New returns a client using token ("" for anonymous requests).
func New(nc *nats.Conn, token string) *Client {
	return &Client{nc: nc, token: token, Timeout: 10 * time.Second}
}

// Token is the bearer token the client sends ("" for anonymous).
func (c *Client) Token() string { return c.token }

// Error is a refusal from the ledger: the status of the micro error header and the error body.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Pointer string `json:"pointer,omitempty"` // Field as a JSON pointer into the request body
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// EventRef names one event a command appended.
type EventRef struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Sequence uint64 `json:"sequence"`
}

// CommandReply is a command's success reply.
type CommandReply struct {
	Result  json.RawMessage `json:"result"`
	Events  []EventRef      `json:"events"`
	Version uint32          `json:"version"`
	Raw     []byte          `json:"-"` // the reply exactly as received
}

// Command sends command name with body (any JSON-encodable value, or []byte as is). A non-empty
// commandID makes it idempotent: a retry returns the first reply.
func (c *Client) Command(ctx context.Context, name string, body any, commandID string) (*CommandReply, error) {
	raw, err := c.Request(ctx, c.Subject("cmd", name), body, commandID)
	if err != nil {
		return nil, err
	}
	r := &CommandReply{Raw: raw}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("client: %s: bad reply: %w", name, err)
	}
	return r, nil
}

// Query sends query name and returns its reply's result.
func (c *Client) Query(ctx context.Context, name string, body any) (json.RawMessage, error) {
	raw, err := c.Request(ctx, c.Subject("q", name), body, "")
	if err != nil {
		return nil, err
	}
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("client: %s: bad reply: %w", name, err)
	}
	return r.Result, nil
}

// Request sends one request and returns the raw success body, or an *Error.
func (c *Client) Request(ctx context.Context, subject string, body any, commandID string) ([]byte, error) {
	data, ok := body.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	m := nats.NewMsg(subject)
	m.Data = data
	if c.token != "" {
		m.Header.Set(wire.HeaderAuthorization, wire.Bearer(c.token))
	}
	if commandID != "" {
		m.Header.Set(wire.HeaderMsgID, commandID)
	}
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	resp, err := c.request(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", subject, err)
	}
	if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
		e := &Error{}
		e.Status, _ = strconv.Atoi(code)
		var body struct {
			Error *Error `json:"error"`
		}
		body.Error = e
		if json.Unmarshal(resp.Data, &body) != nil || e.Code == "" {
			e.Code, e.Message = "UNKNOWN", resp.Header.Get(micro.ErrorHeader)
		}
		return nil, e
	}
	return resp.Data, nil
}

// request sends m and waits for its reply, or, on a connection made by Connect, for the server's
// refusal to carry it (ErrNotPermitted), whichever comes first.
func (c *Client) request(ctx context.Context, m *nats.Msg) (*nats.Msg, error) {
	v, ok := connDenials.Load(c.nc)
	if !ok {
		return c.nc.RequestMsgWithContext(ctx, m)
	}
	d := v.(*denials)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := d.watch(m.Subject, cancel)
	defer d.unwatch(w)
	msg, err := c.nc.RequestMsgWithContext(ctx, m)
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrNotPermitted) {
		return nil, cause
	}
	return msg, err
}
