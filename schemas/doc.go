// Package schemas holds the JSON Schemas (2020-12) of the wire contract, embedded with go:embed:
// every command's and query's request and reply (commands/, queries/), the error body
// (error.json), the event envelope (CloudEvents 1.0 plus the ledger's extensions) and every event
// type's data (events/).
//
// The schemas are generated from the Go types (Of): the events' from package domain, the
// endpoints' from the types package handlers decodes into and answers from. A test holds the
// files equal to them (go test ./schemas -rewrite regenerates them after a deliberate change),
// another that the examples in testdata/ are taken, and their mutations refused, by both the
// schemas and the ledger's decoding. Validator checks documents against them; the ledger runs it
// only to explain a refused request, tests and audits on everything.
package schemas
