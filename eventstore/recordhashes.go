package eventstore

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// RecordHashes is a log's tree rebuilt from the list of its events' record hashes alone, as
// `audit export` writes it beside an export (FILE.hashes): what an offline auditor needs to name
// the first changed event of a copy, where the signed root alone can only say that a span is bad.
// Nothing in the list is trusted: each tree hash Trusted gives is checked with a consistency
// proof against the checkpoint's signed root, so a list changed with the export proves nothing.
type RecordHashes struct {
	n      int64
	stored []tlog.Hash // in tlog's stored-hash order
}

// NewRecordHashes builds the tree over the leaves (raw: 32 bytes per event, in sequence order).
func NewRecordHashes(raw []byte) (*RecordHashes, error) {
	if len(raw)%tlog.HashSize != 0 {
		return nil, errors.New("eventstore: a record hash list is a whole number of 32-byte hashes")
	}
	r := &RecordHashes{stored: make([]tlog.Hash, 0, 2*len(raw)/tlog.HashSize)}
	for i := 0; i < len(raw); i += tlog.HashSize {
		var leaf tlog.Hash
		copy(leaf[:], raw[i:])
		add, err := tlog.StoredHashesForRecordHash(r.n, leaf, r)
		if err != nil {
			return nil, err
		}
		r.stored = append(r.stored, add...)
		r.n++
	}
	return r, nil
}

// ReadHashes implements tlog.HashReader.
func (r *RecordHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(r.stored)) {
			return nil, fmt.Errorf("eventstore: no stored hash %d in a list of %d events", x, r.n)
		}
		out[i] = r.stored[x]
	}
	return out, nil
}

// Trusted is a Verifier's Trusted: the tree hash at size, proven consistent with checkpoint c.
func (r *RecordHashes) Trusted(size uint64, c Checkpoint) (tlog.Hash, error) {
	if int64(c.Size) > r.n {
		return tlog.Hash{}, fmt.Errorf("the record hash list covers %d events, less than checkpoint %d", r.n, c.Size)
	}
	h, err := tlog.TreeHash(int64(size), r)
	if err != nil {
		return tlog.Hash{}, err
	}
	proof, err := tlog.ProveTree(int64(c.Size), int64(size), r)
	if err != nil {
		return tlog.Hash{}, err
	}
	if err := tlog.CheckTree(proof, int64(c.Size), c.Root, int64(size), h); err != nil {
		return tlog.Hash{}, fmt.Errorf("the record hash list does not match the signed checkpoint: %w", err)
	}
	return h, nil
}
