// Package handlers turns wire requests into decisions and queries: decode, authenticate, load
// the write model, call domain.Decide inside the event store's sequencer, and render the reply;
// and it serves them on their edges (the NATS micro service "ledger", HTTP health, readiness and
// metrics). No NATS type leaves this package.
//
// Secrets (API tokens, license keys) exist in plaintext only in the reply that creates them.
// The log keeps an HMAC-SHA-256 of each under the server key; an idempotency record that must
// return such a reply again keeps it sealed with AES-GCM under a key derived from the same secret.
package handlers
