package handlers

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/licledger/licledger/domain"
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
	Metrics    *Metrics
	Logger     *slog.Logger
}

// Service is the running micro service "ledger".
type Service struct {
	svc      micro.Service
	inFlight sync.WaitGroup
}

// Stop stops taking requests and waits for those in flight to be answered.
func (s *Service) Stop() error {
	err := s.svc.Stop()
	s.inFlight.Wait()
	return err
}

// Serve registers every command and query as an endpoint of the micro service "ledger" on nc.
// Requests are decoded and authenticated on the endpoint's goroutine, then executed on their own
// goroutine so that one slow group commit never holds up the next request.
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
	svc, err := micro.AddService(nc, micro.Config{
		Name:        "ledger",
		Version:     o.Version,
		Description: "licledger: event-sourced software-license ledger",
	})
	if err != nil {
		return nil, err
	}
	s := &Service{svc: svc}
	add := func(prefix, kind, name string, run func(context.Context, Request) ([]byte, *Failure)) error {
		return svc.AddEndpoint(strings.ReplaceAll(kind+"-"+name, ".", "-"), micro.HandlerFunc(func(req micro.Request) {
			if len(req.Data()) > o.MaxPayload {
				respond(req, name, nil, failure(domain.Errorf(CodePayloadTooLarge, "", "request body is %d bytes; the limit is %d", len(req.Data()), o.MaxPayload)), o.Metrics)
				return
			}
			r := Request{
				Name:        name,
				Body:        req.Data(),
				Token:       bearer(req.Headers().Get("Authorization")),
				CommandID:   req.Headers().Get(nats.MsgIdHdr),
				TraceParent: req.Headers().Get("traceparent"),
			}
			s.inFlight.Add(1)
			go func() {
				defer s.inFlight.Done()
				reply, f := run(ctx, r)
				respond(req, name, reply, f, o.Metrics)
			}()
		}), micro.WithEndpointSubject(prefix+name), micro.WithEndpointMetadata(map[string]string{
			"kind": kind, "name": name,
		}))
	}
	for _, name := range CommandNames() {
		if err := add(CommandSubjectPrefix, "command", name, l.Command); err != nil {
			svc.Stop()
			return nil, err
		}
	}
	for _, name := range QueryNames() {
		if err := add(QuerySubjectPrefix, "query", name, l.Query); err != nil {
			svc.Stop()
			return nil, err
		}
	}
	return s, nil
}

func respond(req micro.Request, endpoint string, reply []byte, f *Failure, m *Metrics) {
	if f != nil {
		m.request(endpoint, f.Status)
		_ = req.Error(f.StatusText(), f.Err.Message, f.Body(), micro.WithHeaders(micro.Headers{"Content-Type": {"application/json"}}))
		return
	}
	m.request(endpoint, 200)
	_ = req.Respond(reply)
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) string {
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
}
