// Package schemas will hold the JSON Schema (2020-12) of every command, query, reply and event
// payload, embedded with go:embed: the one source of truth for the wire contract. Until then the
// contract is the Go types in domain and handlers (decoded strictly: unknown fields are refused)
// and README.md. Filling it in, and validating with it, is the wire-contract issue's work.
package schemas
