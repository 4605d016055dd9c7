// Package projections holds the read models that answer queries. Each is fed by the committed
// log, in order, by a Runner: they never see an event that is not durable, and a query can wait
// until they reflect a given sequence (read-your-writes).
//
// For now the read models live in memory and are rebuilt from the log at start; storing them with
// their checkpoints in Pebble comes with the projections issue.
package projections
