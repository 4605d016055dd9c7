// Package schemas holds the JSON Schemas (2020-12) of the wire contract, embedded with go:embed:
// the event envelope (CloudEvents 1.0 plus the ledger's extensions) and every event type's data.
//
// The event schemas are kept equal to the Go event types in package domain by a test
// (go test ./schemas -rewrite regenerates them after a deliberate change), and the end-to-end
// tests validate every event the ledger publishes against them. Command and query schemas come
// with the wire-contract work.
package schemas
