// Package projections holds the read models that answer queries. Each is fed by the committed
// log, in order, by a Runner: they never see an event that is not durable, and a query can wait
// until they reflect a given sequence (read-your-writes). LicensesAt rebuilds the part of a read
// model a question needs as it stood at an earlier sequence, from the streams involved (asOf).
//
// For now the read models live in memory and are rebuilt from the log at start (CatchUp decodes
// on one goroutine and applies on another); storing them with their checkpoints in Pebble is
// still to come (issue 6).
package projections
