package httpapi

import (
	"net/http"
	"net/http/pprof"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// HTTPHandler serves /healthz (the process is up), /readyz (ready() says the ledger may take
// traffic), the dashboard, the JSON Schemas under /schemas/, api (the commands and queries: API)
// under /v1/ and, if operator is not nil, the operator's endpoints (/metrics, /debug/pprof/:
// OperatorHandler, wrapped by OperatorOnly) beside them.
func HTTPHandler(ready func() (bool, string), api, operator http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("GET /dashboard", DashboardPage())
	mux.Handle("GET /dashboard/assets/", DashboardAssets())
	// The wire contract's JSON Schemas, at the paths the micro endpoints' metadata names below
	// https://licledger.dev/schemas/ (commands/seat.register.request.json, error.json, …).
	mux.Handle("GET /schemas/", http.StripPrefix("/schemas/", http.FileServerFS(schemas.Files)))
	// The OpenAPI document of the HTTP API and the AsyncAPI document of the NATS contract, as
	// committed (schemas/openapi.json, schemas/asyncapi.json).
	for _, doc := range []string{"openapi.json", "asyncapi.json"} {
		mux.HandleFunc("GET /"+doc, func(w http.ResponseWriter, req *http.Request) {
			http.ServeFileFS(w, req, schemas.Files, doc)
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := ready()
		if !ok {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	if operator != nil {
		mux.Handle("/metrics", operator)
		mux.Handle("/debug/pprof/", operator)
	}
	return mux
}

// OperatorHandler serves the operator's endpoints: /metrics (every reseller's figures) and, only
// if pprof, the profiles under /debug/pprof/. ledgerd serves it on its own listener
// (--metrics-listen), or on the main one behind OperatorOnly.
func OperatorHandler(gather prometheus.Gatherer, pprofOn bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace) // scheduling and latency: go tool trace
	}
	return mux
}

// OperatorOnly lets through only requests whose bearer token is an operator's: a credential of
// the system scope whose role may do everything or is the auditor's (who read the whole ledger
// anyway). Others get the API's 401 or 403 error body.
func OperatorOnly(l *handlers.Ledger, h http.Handler, trustedProxies []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		cred, f := l.Authenticate(wire.BearerToken(req.Header.Get(wire.HeaderAuthorization)), "http:"+clientAddress(req, trustedProxies))
		if f == nil && !(cred.Scope.IsSystem() && (domain.AllowedEverything(cred.Role) || cred.Role == domain.RoleAuditor)) {
			f = handlers.Refuse(&domain.Error{Code: handlers.CodeForbidden, Message: "only a system-scope admin or auditor may read " + req.URL.Path})
		}
		if f != nil {
			writeFailure(w, f)
			return
		}
		h.ServeHTTP(w, req)
	})
}
