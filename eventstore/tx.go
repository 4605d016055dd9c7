package eventstore

import (
	"fmt"
	"time"
)

// AnyVersion, as an expected version, accepts the stream at whatever version it is.
const AnyVersion int64 = -1

// Record is one event to append, before the sequencer gives it a sequence, id and time.
type Record struct {
	Type     string // e.g. "license.created.v1"
	Subject  string // the aggregate's id
	Reseller string // partition and scope; empty for system-wide data
	Tenant   string
	Data     []byte // the event payload, a JSON object
	// Payload optionally carries the caller's decoded form of Data. It is never stored; readers
	// served from the in-memory tail get it back in Event.Tail and can skip decoding. It must not
	// be changed after Append.
	Payload any
}

type pendingRecord struct {
	Record
	stream  string
	version uint32
}

// Tx is a command's view of the log while it is being decided. It is valid only inside Decide.
type Tx struct {
	st      *sequencerState
	now     time.Time
	records []pendingRecord
	local   map[string]uint32 // versions of streams this command appended to
}

// Now is the command's time: the sequencer's clock, never earlier than the last event's time.
func (tx *Tx) Now() time.Time { return tx.now }

// Version returns the stream's current version (0: no events yet), counting what this command
// has appended so far.
func (tx *Tx) Version(stream string) uint32 {
	if v, ok := tx.local[stream]; ok {
		return v
	}
	return tx.st.versions[stream]
}

// Expect returns an error wrapping ErrWrongExpectedVersion unless stream is at version expected
// (AnyVersion always passes). A decision may check it before deciding, so that a stale writer
// hears about the version first, even when the command would append nothing.
func (tx *Tx) Expect(stream string, expected int64) error {
	if v := tx.Version(stream); expected != AnyVersion && int64(v) != expected {
		return fmt.Errorf("%w: stream %s is at version %d, expected %d", ErrWrongExpectedVersion, stream, v, expected)
	}
	return nil
}

// Append adds records to stream if its version is expected (or expected is AnyVersion).
// On a mismatch it appends nothing and returns an error wrapping ErrWrongExpectedVersion.
func (tx *Tx) Append(stream string, expected int64, recs ...Record) error {
	if err := tx.Expect(stream, expected); err != nil {
		return err
	}
	v := tx.Version(stream)
	if tx.local == nil {
		tx.local = make(map[string]uint32, 1)
	}
	for _, r := range recs {
		v++
		tx.records = append(tx.records, pendingRecord{Record: r, stream: stream, version: v})
	}
	tx.local[stream] = v
	return nil
}
