// Package httpapi is the ledger's HTTP edge: the query API under /v1/ (the same bodies, tokens
// and errors as the NATS endpoints), the dashboard page, the JSON Schemas, the health and
// readiness probes, and the operator's endpoints (/metrics, pprof) behind an operator's token or
// on a listener of their own. It decides nothing itself: every request goes to the core
// (package handlers).
package httpapi
