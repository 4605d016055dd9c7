// Package httpapi is the ledger's HTTP edge: the commands and queries under /v1/ (api.go: the
// same bodies, tokens and errors as the NATS endpoints) and their OpenAPI document, the
// dashboard page, the JSON Schemas, the health and readiness probes, and the operator's
// endpoints (/metrics, pprof) behind an operator's token or on a listener of their own. It
// decides nothing itself: every request goes to the core (package handlers).
package httpapi
