// Package domain is licledger's model, as pure functions: Decide(state, time, command) returns
// the events a command causes or a coded *Error; State.Evolve(event) applies an event. Nothing here
// does I/O, reads a clock or draws random numbers: time, ids and secrets' hashes arrive with the
// command, so replaying the same events always gives the same state.
//
// Aggregates: Reseller, Tenant (the customer, DBSync's endUserCompany), Product, Plan, License
// (with its seats, machines and notes), Credential. Every event names its stream ("license/<id>"), its aggregate id
// and the reseller and tenant it belongs to.
package domain
