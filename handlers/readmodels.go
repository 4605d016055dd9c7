package handlers

import (
	"fmt"
	"maps"
	"slices"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/projections"
)

// CheckReadModels compares the read models as a restart would restore them (stored records
// caught up with the log) with read models rebuilt from sequence 0, and names the first record
// that differs. It writes nothing, so it may run on a read-only store of a stopped ledger. It
// returns the sequence the stored state reflected (where the restore started).
func CheckReadModels(store *eventstore.Store) (restoredAt uint64, err error) {
	stored, storedCreds := projections.NewLicenses(), projections.NewCredentials()
	r := projections.NewRunner(store, stored, storedCreds)
	if err := r.Inspect(); err != nil {
		return 0, err
	}
	restoredAt = r.Position()
	if _, err := r.CatchUp(); err != nil {
		return restoredAt, err
	}
	fresh, freshCreds := projections.NewLicenses(), projections.NewCredentials()
	if _, err := projections.NewRunner(store, fresh, freshCreds).CatchUp(); err != nil {
		return restoredAt, err
	}
	for _, c := range []struct {
		name          string
		stored, fresh func() (map[string]string, error)
	}{{stored.Name(), stored.Dump, fresh.Dump}, {storedCreds.Name(), storedCreds.Dump, freshCreds.Dump}} {
		s, err := c.stored()
		if err != nil {
			return restoredAt, err
		}
		f, err := c.fresh()
		if err != nil {
			return restoredAt, err
		}
		if k, differ := firstDifference(s, f); differ {
			return restoredAt, fmt.Errorf("read model %s, record %q: stored %q, rebuilt %q", c.name, k, s[k], f[k])
		}
	}
	return restoredAt, nil
}

// firstDifference returns the first key, in key order, whose value differs between two dumps
// (a key missing from one counts as differing).
func firstDifference(a, b map[string]string) (key string, differ bool) {
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		if inA != inB || va != vb {
			return k, true
		}
	}
	return "", false
}
