// Package handlers is the ledger's transport-free core: it turns wire requests into decisions and
// answers. A command is decoded, authenticated, authorized, decided by domain.Decide inside the
// event store's sequencer, and its reply rendered; a query is answered from the read models (or
// from the log as of an earlier point), rendered at the caller's view level. It knows no NATS,
// HTTP or Prometheus type (internal/archtest checks it): the edges in natsapi (the micro service,
// NATS authentication and the auth callout, the views bucket) and httpapi (the commands and
// queries under /v1/, the dashboard, the probes) call Command, Query and Authenticate, and
// metrics counts what they see.
// A Ledger is built once from Options; nothing changes it afterwards.
//
// Secrets (API tokens, license keys) exist in plaintext only in the reply that creates them.
// The log keeps an HMAC-SHA-256 of each under the server key; an idempotency record that must
// return such a reply again keeps it sealed with AES-GCM under a key derived from the same secret.
package handlers
