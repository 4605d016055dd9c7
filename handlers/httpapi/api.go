package httpapi

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// numericParams are, per query, the fields that are numbers on the wire (read from the request
// schemas, so a new numeric field needs no list kept by hand); every other URL parameter is a
// string.
var numericParams = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{}
	for _, e := range handlers.Endpoints() {
		if e.Kind != schemas.Query {
			continue
		}
		props, _ := e.RequestSchema()["properties"].(map[string]any)
		for name, p := range props {
			if t, _ := p.(map[string]any)["type"].(string); t == "integer" || t == "number" {
				out[e.Name] = append(out[e.Name], name)
			}
		}
	}
	return out
})

// API serves the commands and queries over HTTP under /v1/, answering exactly what the NATS
// endpoints ledger.v1.cmd.<name> and ledger.v1.q.<name> answer: the same bearer token in the
// Authorization header, the same bodies, the same {"result"} and {"error"} replies, with the
// error's status as the HTTP status.
//
// A command is POST /v1/<name> with the JSON body NATS takes; its Idempotency-Key header (the
// IETF httpapi draft) is the command id, as Nats-Msg-Id is on NATS: a retry with the same key
// gets the first reply back byte for byte, and the same key with another body is 409
// COMMAND_ID_REUSED. admin.login is a command that needs no token. HTTP has no addressed form: on
// a ledger partitioned by reseller, a reseller's credential addresses its commands to its
// reseller, at its partition's listener (Request.AddressByScope).
//
// A query is GET /v1/<name>?field=value (the request's fields as URL parameters) or POST
// /v1/<name> with the JSON body (use it for license keys, which do not belong in URLs and access
// logs).
//
// Bodies over maxPayload are 413 before decoding (a batch may be larger: its own limit).
// Failed authentications are counted against the client's address: the connection's, or, when
// that is one of the trusted proxies, the one X-Forwarded-For names (clientAddress).
func API(l *handlers.Ledger, maxPayload int, trustedProxies []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := strings.TrimPrefix(req.URL.Path, "/v1/")
		r := handlers.Request{Name: name, Token: wire.BearerToken(req.Header.Get(wire.HeaderAuthorization)),
			TraceParent: req.Header.Get(wire.HeaderTraceParent), Source: "http:" + clientAddress(req, trustedProxies),
			CommandID: req.Header.Get(HeaderIdempotencyKey), AddressByScope: true}
		command, query := handlers.IsCommand(name), handlers.IsQuery(name)
		var f *handlers.Failure
		switch {
		case !command && !query:
			f = handlers.Refuse(domain.Errorf(handlers.CodeQueryNotFound, "", "no command or query %q; the commands are %s; the queries are %s",
				name, strings.Join(handlers.CommandNames(), ", "), strings.Join(handlers.QueryNames(), ", ")))
		case req.Method == http.MethodPost:
			limit := maxPayload
			if name == domain.BatchSubmit {
				limit = max(limit, handlers.MaxBatchPayload)
			}
			r.Body, f = readBody(req.Body, limit)
		case query && req.Method == http.MethodGet:
			r.Body, f = paramsBody(req, numericParams()[name])
		case command:
			w.Header().Set("Allow", "POST")
			f = &handlers.Failure{Status: http.StatusMethodNotAllowed, Err: &domain.Error{Code: domain.CodeInvalidArgument, Message: "a command is sent with POST"}}
		default:
			w.Header().Set("Allow", "GET, POST")
			f = &handlers.Failure{Status: http.StatusMethodNotAllowed, Err: &domain.Error{Code: domain.CodeInvalidArgument, Message: "use GET or POST"}}
		}
		var reply []byte
		switch {
		case f != nil:
		case command:
			reply, f = l.Command(req.Context(), r)
		default:
			reply, f = l.Query(req.Context(), r)
		}
		if f != nil {
			writeFailure(w, f)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(reply)
	})
}

// HeaderIdempotencyKey carries a command's id over HTTP (draft-ietf-httpapi-idempotency-key-header).
const HeaderIdempotencyKey = "Idempotency-Key"

// writeFailure answers an HTTP request with a refusal: its status, and the error body NATS
// callers get too (a 401 also says which scheme to use).
func writeFailure(w http.ResponseWriter, f *handlers.Failure) {
	if f.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	w.Write(f.Body())
}

// paramsBody turns URL parameters into the query's JSON body; a parameter given twice is
// refused rather than silently picking one.
func paramsBody(req *http.Request, numeric []string) ([]byte, *handlers.Failure) {
	body := map[string]any{}
	for k, vs := range req.URL.Query() {
		if len(vs) != 1 {
			return nil, handlers.Refuse(domain.Errorf(domain.CodeInvalidArgument, k, "is given %d times", len(vs)))
		}
		if slices.Contains(numeric, k) {
			var n json.Number
			if json.Unmarshal([]byte(vs[0]), &n) != nil {
				return nil, handlers.Refuse(domain.Errorf(domain.CodeInvalidArgument, k, "must be a number, got %q", vs[0]))
			}
			body[k] = n
		} else {
			body[k] = vs[0]
		}
	}
	b, _ := json.Marshal(body)
	return b, nil
}

func readBody(r io.Reader, maxPayload int) ([]byte, *handlers.Failure) {
	b, err := io.ReadAll(io.LimitReader(r, int64(maxPayload)+1))
	if err != nil {
		return nil, handlers.Refuse(domain.Errorf(handlers.CodeMalformedJSON, "", "reading the body: %v", err))
	}
	if len(b) > maxPayload {
		return nil, handlers.Refuse(domain.Errorf(handlers.CodePayloadTooLarge, "", "request body is over the limit of %d bytes", maxPayload))
	}
	return b, nil
}

// clientAddress is the address a request comes from: its connection's, unless that is a trusted
// proxy; then the nearest address in X-Forwarded-For that is not a trusted proxy (the header's
// entries are appended by each proxy in turn, so everything left of the first untrusted one, from
// the right, may be forged by the client).
func clientAddress(req *http.Request, trusted []netip.Prefix) string {
	addr := hostOf(req.RemoteAddr)
	isTrusted := func(a string) bool {
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil {
			return false
		}
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(ip.Unmap()) })
	}
	if len(trusted) == 0 || !isTrusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		if !isTrusted(hop) {
			if _, err := netip.ParseAddr(hop); err != nil {
				return addr // not an address: the proxy's own is all that is known
			}
			return hop
		}
		addr = hop
	}
	return addr
}

// hostOf drops the port from host:port (or returns addr as it is).
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
