package projections

import (
	"encoding/json"
	"fmt"

	"github.com/licledger/licledger/eventstore"
)

// Persistent is a projection that keeps its state in the store, so a restart resumes from its
// checkpoint instead of replaying the log from the start.
//
// The Runner calls Save with every flush and writes the projection's checkpoint in the same
// batch, so the records on disk are always the state as of the checkpoint. A projection tracks
// what changed since its last Save itself (it knows which records an event touches).
type Persistent interface {
	Projection
	// Name is the projection's key space (<name>/ in the derived state) and its name for
	// `ledgerd rebuild`.
	Name() string
	// Version changes whenever the records' layout or the projection's rules change: state
	// stored by another version is dropped and rebuilt from sequence 0.
	Version() int
	// Save writes the records changed since the last Save (or Load).
	Save(w RecordWriter) error
	// Load replaces the in-memory state with the stored records, which scan reads in key order
	// (none, for a projection built from sequence 0), and starts tracking changes for Save.
	Load(scan func(fn func(key, value []byte) error) error) error
}

// RecordWriter takes a projection's changed records. Keys are the projection's own (the runner
// puts them under <name>/r/); keys and values are copied.
type RecordWriter interface {
	Set(key, value []byte)
	Delete(key []byte)
	// History writes a record that Load does not read back (under <name>/h/): a snapshot of the
	// past for time travel.
	History(key, value []byte)
}

// Checkpoint is what a projection's records on disk reflect.
type Checkpoint struct {
	Version  int    `json:"version"`
	Sequence uint64 `json:"sequence"`
}

func checkpointKey(name string) []byte { return []byte(name + "/checkpoint") }
func recordsPrefix(name string) []byte { return []byte(name + "/r/") }
func historyPrefix(name string) []byte { return []byte(name + "/h/") }

// DerivedSource is where stored read models are read from: the store's derived state, or a
// snapshot of it (eventstore.DerivedSnapshot).
type DerivedSource interface {
	GetDerived(key []byte) ([]byte, error)
	ScanDerived(prefix []byte, fn func(key, value []byte) error) error
}

// ReadCheckpoint returns a projection's stored checkpoint (false if it has none).
func ReadCheckpoint(store DerivedSource, name string) (Checkpoint, bool, error) {
	b, err := store.GetDerived(checkpointKey(name))
	if err != nil || b == nil {
		return Checkpoint{}, false, err
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return Checkpoint{}, false, fmt.Errorf("projections: %s checkpoint: %w", name, err)
	}
	return c, true, nil
}

// Drop deletes a projection's stored state, so that the next start rebuilds it from sequence 0
// (`ledgerd rebuild`). The store must not be in use by a running ledger.
func Drop(store *eventstore.Store, name string) error {
	b := store.NewDerivedBatch()
	b.DeletePrefix([]byte(name + "/"))
	return b.Commit()
}

// loadRecords feeds a projection the records stored under its name.
func loadRecords(store DerivedSource, p Persistent) error {
	prefix := recordsPrefix(p.Name())
	return p.Load(func(fn func(key, value []byte) error) error {
		return store.ScanDerived(prefix, func(k, v []byte) error { return fn(k[len(prefix):], v) })
	})
}

// loadNothing starts a projection empty (and tracking changes).
func loadNothing(_ DerivedSource, p Persistent) error {
	return p.Load(func(func(key, value []byte) error) error { return nil })
}

// prefixedWriter puts a projection's records under <name>/r/ and its history under <name>/h/
// in a derived batch.
type prefixedWriter struct {
	b               *eventstore.DerivedBatch
	prefix, history []byte
	key             []byte
}

func (w *prefixedWriter) Set(key, value []byte) {
	w.key = append(append(w.key[:0], w.prefix...), key...)
	w.b.Set(w.key, value)
}

func (w *prefixedWriter) Delete(key []byte) {
	w.key = append(append(w.key[:0], w.prefix...), key...)
	w.b.Delete(w.key)
}

func (w *prefixedWriter) History(key, value []byte) {
	w.key = append(append(w.key[:0], w.history...), key...)
	w.b.Set(w.key, value)
}
