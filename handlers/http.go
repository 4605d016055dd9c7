package handlers

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/licledger/licledger/schemas"
)

// HTTPHandler serves /healthz (the process is up), /readyz (ready() says the ledger may take
// traffic) /metrics, /debug/pprof/, the JSON Schemas under /schemas/, and api (the query API)
// under /v1/.
func HTTPHandler(gather prometheus.Gatherer, ready func() (bool, string), api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("GET /dashboard", DashboardPage())
	// The wire contract's JSON Schemas, at the paths the micro endpoints' metadata names below
	// https://licledger.dev/schemas/ (commands/seat.register.request.json, error.json, …).
	mux.Handle("GET /schemas/", http.StripPrefix("/schemas/", http.FileServerFS(schemas.Files)))
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	// Profiles, for finding where time goes under load. The HTTP listener is loopback by default.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	return mux
}
