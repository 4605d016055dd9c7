// Package projections holds the read models that answer queries. Each is fed by the committed
// log, in order, by a Runner: they never see an event that is not durable, and a query can wait
// until they reflect a given sequence (read-your-writes). LicensesAt rebuilds the part of a read
// model a question needs as it stood at an earlier sequence, from the streams involved (asOf).
//
// The read models live in memory and are stored too (Persistent): after Runner.Restore, the runner
// writes each one's changed records and its checkpoint in one batch every FlushInterval or
// FlushEvents, and a restart loads them and applies only the log after the checkpoint. A stored
// read model of another Version is dropped and rebuilt from sequence 0. CatchUp decodes on one
// goroutine and applies on another, so a rebuild uses two cores.
package projections
