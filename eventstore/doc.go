// Package eventstore is licledger's durable log: an append-only sequence of events in Pebble,
// written by one goroutine and read by many.
//
// It knows records, streams and versions, not licenses. Callers submit a Command whose Decide
// function runs on the sequencer goroutine, one command at a time, so the caller's in-memory write
// model needs no locks as long as only Decide functions touch it.
//
// # Guarantees
//
//   - Durability: Submit returns only after the command's events (and its idempotency record) are
//     in a Pebble batch committed with fsync (pebble.Sync). Many commands share one batch and one
//     fsync (group commit). A failed commit is fatal: Options.Fatal is called and the store refuses
//     all further work; the process is expected to stop and recover from the log on restart.
//   - Ordering: every event gets the next global sequence number (1, 2, 3, … with no gap), the next
//     version of its stream (1, 2, 3, …), a ULID and a time that never goes backwards.
//   - Idempotency: a command with an ID that was committed before is not decided again; Submit
//     returns the reply stored with it, byte for byte, for as long as the log exists. The same ID
//     with a different Digest is ErrCommandIDReused. Only successful commands are recorded: a
//     command that was refused may be retried with the same ID and is decided afresh.
//   - Optimistic concurrency: Tx.Append with an expected version that does not match the stream's
//     is ErrWrongExpectedVersion, and the command appends nothing.
//   - Readers (Read, ReadStream, Subscribe) see only events at or below the durable mark, the last
//     sequence whose fsync has returned. Pebble can make a batch visible before its WAL sync ends;
//     the mark is what keeps readers from publishing or projecting an event that could vanish.
//   - Readers near the head of the log are served from an in-memory ring of recent events (see
//     Options.TailSize) that also carries each event's routing attributes and the decoded payload
//     its writer attached (Record.Payload), so the outbox relay and the projector neither read
//     Pebble nor parse JSON in the common case. Older positions are read from Pebble.
//   - Restoring: Import appends events copied from a replica (the JetStream stream) as they are,
//     checking that each is the next one, so a lost log can be rebuilt from its published copy.
//
// # Key layout
//
//	e/<seq u64 BE>                          event bytes (one CloudEvents JSON document)
//	s/<stream> 0x00 <version u32 BE>        -> seq u64 BE
//	c/<command id>                          -> sha256 digest of the request (32 bytes) ++ reply,
//	                                           or only restoredDigest for an id met by Import
//	m/<name>                                small metadata values (e.g. m/outbox, the relay cursor)
//
// State derived from the log (the projections' records and checkpoints: DerivedBatch,
// ScanDerived) is kept in a second Pebble database in the derived/ subdirectory, written without
// fsync and recomputable from the log at any time. SaveDerivedSnapshot keeps copies of it as it
// stood at a sequence (Pebble checkpoints in derived-snapshots/), for reading the past.
package eventstore
