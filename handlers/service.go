package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/schemas"
)

// Subjects of the wire contract.
const (
	CommandSubjectPrefix = "ledger.v1.cmd."
	QuerySubjectPrefix   = "ledger.v1.q."
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
	Metrics *Metrics
	Logger  *slog.Logger
}

// Service is the running micro service "ledger".
type Service struct {
	svc     micro.Service
	jobs    chan job
	workers sync.WaitGroup
	// mu guards closed and the closing of jobs: micro drains subscriptions asynchronously, so a
	// callback may still run after svc.Stop returned.
	mu     sync.RWMutex
	closed bool
}

// job is one received request waiting for a worker.
type job struct {
	reply    string // the requester's reply subject
	r        Request
	kind     string
	received time.Time
	run      func(context.Context, Request) ([]byte, *Failure)
}

// Stop stops taking requests and waits for those in flight to be answered.
func (s *Service) Stop() error {
	err := s.svc.Stop()
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
func Serve(ctx context.Context, nc *nats.Conn, l *Ledger, o ServiceOptions) (*Service, error) {
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
	svc, err := micro.AddService(nc, micro.Config{
		Name:        "ledger",
		Version:     o.Version,
		Description: "licledger: event-sourced software-license ledger",
	})
	if err != nil {
		return nil, err
	}
	s := &Service{svc: svc, jobs: make(chan job, o.Backlog)}
	for range o.Workers {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			for j := range s.jobs {
				reply, f := j.run(ctx, j.r)
				respond(nc, j.reply, j.r.Name, j.kind, j.received, reply, f, o.Metrics)
			}
		}()
	}
	add := func(prefix, kind, name string, run func(context.Context, Request) ([]byte, *Failure)) error {
		return svc.AddEndpoint(strings.ReplaceAll(kind+"-"+name, ".", "-"), micro.HandlerFunc(func(req micro.Request) {
			received := time.Now()
			if len(req.Data()) > o.MaxPayload {
				respond(nc, req.Reply(), name, kind, received, nil, failure(domain.Errorf(CodePayloadTooLarge, "", "request body is %d bytes; the limit is %d", len(req.Data()), o.MaxPayload)), o.Metrics)
				return
			}
			r := Request{
				Name:        name,
				Body:        req.Data(),
				Token:       bearer(req.Headers().Get("Authorization")),
				CommandID:   req.Headers().Get(nats.MsgIdHdr),
				TraceParent: req.Headers().Get("traceparent"),
				Source:      inboxPrefix(req.Reply()),
			}
			if !s.enqueue(job{reply: req.Reply(), r: r, kind: kind, received: received, run: run}) {
				respond(nc, req.Reply(), name, kind, received, nil, failure(domain.Errorf(CodeOverloaded, "", "the ledger is at capacity or stopping; retry in a moment with the same command id")), o.Metrics)
			}
		}), micro.WithEndpointSubject(prefix+name), micro.WithEndpointMetadata(map[string]string{
			"kind": kind, "name": name,
			"request_schema":  schemas.RequestURL(kind, name),
			"response_schema": schemas.ReplyURL(kind, name),
			"error_schema":    schemas.ErrorURL,
		}))
	}
	for _, name := range CommandNames() {
		if err := add(CommandSubjectPrefix, schemas.Command, name, l.Command); err != nil {
			s.Stop()
			return nil, err
		}
	}
	for _, name := range QueryNames() {
		if err := add(QuerySubjectPrefix, schemas.Query, name, l.Query); err != nil {
			s.Stop()
			return nil, err
		}
	}
	// Subscriptions are sent asynchronously: make sure the server has them before anyone is told
	// the service is up, or an early request finds no responders.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("handlers: register endpoints: %w", err)
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

// respond publishes a reply, or an error with the micro error headers, to the requester.
// It publishes on the connection itself rather than through micro.Request: the reply is sent from a
// worker after the endpoint's handler has returned, and micro's request object belongs to its
// handler call (micro reads it for its stats when the handler returns). So `nats micro stats`
// counts requests but not errors or time; licledger_requests_total and
// licledger_request_duration_seconds in /metrics have both.
func respond(nc *nats.Conn, to, endpoint, kind string, received time.Time, reply []byte, f *Failure, m *Metrics) {
	if to == "" {
		return // a publish without a reply subject: nobody to answer
	}
	msg := &nats.Msg{Subject: to, Data: reply}
	if f != nil {
		m.request(endpoint, kind, f.Status, time.Since(received))
		msg.Data = f.Body()
		msg.Header = nats.Header{
			micro.ErrorCodeHeader: []string{f.StatusText()},
			micro.ErrorHeader:     []string{f.Err.Message},
			"Content-Type":        []string{"application/json"},
		}
	} else {
		m.request(endpoint, kind, 200, time.Since(received))
	}
	_ = nc.PublishMsg(msg)
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) string {
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
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
