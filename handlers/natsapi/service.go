package natsapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/metrics"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// ServiceOptions configure the NATS micro service. The zero value works.
type ServiceOptions struct {
	// Version is the service version shown by `nats micro info`. Default "0.1.0".
	Version string
	// MaxPayload refuses larger request bodies with 413 before decoding. Default 64 KiB.
	MaxPayload int
	// Workers is how many requests are decoded and executed at once. Long-lived workers keep
	// their grown stacks (a goroutine per request would grow a new one each time). Default 512.
	Workers int
	// Backlog is how many received requests may wait for a worker; past it a request is answered
	// 503 OVERLOADED at once. Default 8192.
	Backlog int
	Metrics *metrics.Series
	Logger  *slog.Logger
}

// Service is the running micro service "ledger".
type Service struct {
	subs    []*nats.Subscription // endpoints and discovery
	jobs    chan job
	workers sync.WaitGroup
	// mu guards closed and the closing of jobs: a subscription's callback already running when
	// it is unsubscribed still finishes.
	mu     sync.RWMutex
	closed bool
}

// job is one received request waiting for a worker.
type job struct {
	reply    string // the requester's reply subject
	e        handlers.Endpoint
	r        handlers.Request
	received time.Time
	run      func(context.Context, handlers.Request) ([]byte, *handlers.Failure)
}

// Stop stops taking requests and waits for those in flight to be answered.
func (s *Service) Stop() error {
	var err error
	for _, sub := range s.subs {
		if e := sub.Unsubscribe(); e != nil && err == nil && !errors.Is(e, nats.ErrConnectionClosed) {
			err = e
		}
	}
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.jobs)
	}
	s.mu.Unlock()
	s.workers.Wait()
	return err
}

// Serve registers every command and query as an endpoint of the micro service "ledger" on nc.
// The endpoint's goroutine only checks the size and queues the request; a pool of workers decodes,
// authenticates and executes, so one slow group commit never holds up the next request.
func Serve(ctx context.Context, nc *nats.Conn, l *handlers.Ledger, o ServiceOptions) (*Service, error) {
	if o.Version == "" {
		o.Version = "0.1.0"
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = 64 << 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = 512
	}
	if o.Backlog <= 0 {
		o.Backlog = 8192
	}
	d := newDiscovery("ledger", o.Version, "licledger: event-sourced software-license ledger")
	s := &Service{jobs: make(chan job, o.Backlog)}
	answer := func(to string, e handlers.Endpoint, received time.Time, reply []byte, f *handlers.Failure) {
		respond(nc, to, e, received, reply, f, o.Metrics, d)
	}
	for range o.Workers {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			for j := range s.jobs {
				reply, f := j.run(ctx, j.r)
				answer(j.reply, j.e, j.received, reply, f)
			}
		}()
	}
	add := func(e handlers.Endpoint, run func(context.Context, handlers.Request) ([]byte, *handlers.Failure)) error {
		d.add(micro.EndpointInfo{Name: strings.ReplaceAll(e.Kind+"-"+e.Name, ".", "-"), Subject: e.Subject, QueueGroup: micro.DefaultQueueGroup, Metadata: map[string]string{
			"kind": e.Kind, "name": e.Name,
			"request_schema":  schemas.RequestURL(e.Kind, e.Name),
			"response_schema": schemas.ReplyURL(e.Kind, e.Name),
			"error_schema":    schemas.ErrorURL,
		}})
		// serve subscribes the endpoint to subject; base is the subject without the reseller that
		// an addressed request names after it.
		limit := max(o.MaxPayload, e.MaxPayload) // a batch has its own, documented limit
		serve := func(base, subject string) error {
			handle := func(m *nats.Msg) {
				received := time.Now()
				if !replyAllowed(m.Reply) {
					// Someone names a subject other than an inbox as the reply: the ledger's answer
					// would be published there under its name. Nobody is answered.
					o.Metrics.DroppedRequest(e.Name)
					o.Logger.Debug("request dropped: its reply subject is not an inbox", "endpoint", e.Name, "reply", m.Reply)
					return
				}
				if len(m.Data) > limit {
					answer(m.Reply, e, received, nil, handlers.Refuse(domain.Errorf(handlers.CodePayloadTooLarge, "", "request body is %d bytes; the limit is %d", len(m.Data), limit)))
					return
				}
				r := handlers.Request{
					Name:        e.Name,
					Body:        m.Data,
					Token:       wire.BearerToken(m.Header.Get(wire.HeaderAuthorization)),
					CommandID:   m.Header.Get(wire.HeaderMsgID),
					TraceParent: m.Header.Get(wire.HeaderTraceParent),
					Source:      inboxPrefix(m.Reply),
				}
				if len(m.Subject) > len(base) { // <base>.<reseller>
					r.Reseller = m.Subject[len(base)+1:]
				}
				if !s.enqueue(job{reply: m.Reply, e: e, r: r, received: received, run: run}) {
					answer(m.Reply, e, received, nil, handlers.Refuse(domain.Errorf(handlers.CodeOverloaded, "", "the ledger is at capacity or stopping; retry in a moment with the same command id")))
				}
			}
			sub, err := nc.QueueSubscribe(subject, micro.DefaultQueueGroup, handle)
			if err != nil {
				return err
			}
			s.subs = append(s.subs, sub)
			return nil
		}
		// Partition 0 (and the unpartitioned ledger) serves ledger.v1.cmd.<command> and
		// ledger.v1.q.<query>, unaddressed and addressed; every partition k serves the addressed
		// requests the cluster's subject mapping sends it, ledger.v1.p.<k>.cmd.<command>.<reseller>
		// (and .q.). The unpartitioned ledger is partition 0 of 1, so a cluster configured with
		// the mapping for one partition reaches it too.
		if l.Partition().Index == 0 {
			for _, subject := range []string{e.Subject, e.Subject + ".*"} {
				if err := serve(e.Subject, subject); err != nil {
					return err
				}
			}
		}
		mapped := wire.InPartition(l.Partition().Index, e.Subject)
		if err := serve(mapped, mapped+".*"); err != nil {
			return err
		}
		return nil
	}
	for _, e := range handlers.Endpoints() {
		run := l.Query
		if e.Kind == schemas.Command {
			run = l.Command
		}
		if err := add(e, run); err != nil {
			s.Stop()
			return nil, err
		}
	}
	subs, err := d.subscribe(nc)
	s.subs = append(s.subs, subs...)
	if err != nil {
		s.Stop()
		return nil, err
	}
	// Subscriptions are sent asynchronously: make sure the server has them before anyone is told
	// the service is up, or an early request finds no responders.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("natsapi: register endpoints: %w", err)
	}
	return s, nil
}

// enqueue hands a request to the workers without waiting; false if the backlog is full or the
// service is stopping.
func (s *Service) enqueue(j job) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	select {
	case s.jobs <- j:
		return true
	default:
		return false
	}
}

// respond publishes a reply, or an error with the micro error headers, to the requester, and
// counts it in /metrics and in `nats micro stats`.
func respond(nc *nats.Conn, to string, e handlers.Endpoint, received time.Time, reply []byte, f *handlers.Failure, m *metrics.Series, d *discovery) {
	if to == "" {
		return // a publish without a reply subject: nobody to answer
	}
	msg := &nats.Msg{Subject: to, Data: reply}
	if f != nil {
		elapsed := time.Since(received)
		m.Request(e.Name, e.Kind, f.Status, elapsed)
		d.record(e.Subject, elapsed, f.StatusText()+" "+string(f.Err.Code)+": "+f.Err.Message)
		msg.Data = f.Body()
		msg.Header = nats.Header{
			micro.ErrorCodeHeader: []string{f.StatusText()},
			micro.ErrorHeader:     []string{f.Err.Message},
			"Content-Type":        []string{"application/json"},
		}
	} else {
		elapsed := time.Since(received)
		m.Request(e.Name, e.Kind, 200, elapsed)
		d.record(e.Subject, elapsed, "")
	}
	_ = nc.PublishMsg(msg)
}

// replyAllowed reports whether the ledger may answer at reply: only into an inbox, nats.go's
// default "_INBOX." (which anonymous connections read) or a credential's under "_INBOX_LEDGER."
// (which only that token's connections read), never the writer's. A request naming anything else
// (the event stream, the views bucket, the checkpoint subject) is not answered at all. The NATS
// server does not tell the ledger which connection asked, so the ledger cannot check that the
// inbox is the asker's own; a credential's inbox prefix derives from its secret token, and the
// reply token nats.go puts after it is random per connection, so naming another partner's inbox
// delivers nothing it could take for an answer. A request without a reply subject passes (it is
// answered nowhere).
func replyAllowed(reply string) bool {
	switch {
	case reply == "", strings.HasPrefix(reply, wire.AnonymousInboxes+"."):
		return true
	case strings.HasPrefix(reply, wire.LedgerWriterInboxPrefix+"."):
		return false
	}
	return strings.HasPrefix(reply, wire.InboxNamespace+".")
}

// inboxPrefix is a reply subject without its last token: nats.go gives each connection one
// inbox prefix (_INBOX.<nuid>), so it tells requests from different connections apart. A reply
// subject of one or two tokens (an old-style per-request inbox) is its own source.
func inboxPrefix(reply string) string {
	if strings.Count(reply, ".") < 2 {
		return reply
	}
	return reply[:strings.LastIndexByte(reply, '.')]
}
