// Package projections holds the read models that answer queries. Each is fed by the committed
// log, in order, by a Runner: they never see an event that is not durable, and a query can wait
// until they reflect a given sequence (read-your-writes). LicensesAt rebuilds the part of a read
// model a question needs as it stood at an earlier sequence, from the streams involved (asOf);
// LicensesReplayed rebuilds all of it, replaying the log from the newest stored snapshot before.
//
// The read models live in memory and are stored too (Persistent): after Runner.Restore, the runner
// writes each one's changed records and its checkpoint in one batch every FlushInterval or
// FlushEvents (building and committing the batch while applying goes on), saves a snapshot of the
// whole stored state every SnapshotEvery events, and a restart loads them and applies only the log
// after the checkpoint. A stored read model of another Version is dropped and rebuilt from
// sequence 0. CatchUp reads, decodes and applies on three goroutines, so a rebuild keeps two cores
// busy.
package projections
