package domain

import (
	"hash/maphash"
	"iter"
	"maps"
	"slices"
	"unsafe"
)

// SeatTable holds a license's seats by user (company and name). Seats are the bulk of the model,
// millions of them, so the table holds no pointers per seat: a map from a 64-bit hash of the user
// to the seat and where the user's key lies in one byte arena. The garbage collector never scans
// the map or the arena, growing the map copies plain words, and registering a user looks the
// seat up once without building its key. A rebuild of 5 M events runs a third faster than with
// map[string]Seat (docs/BENCHMARKS.md).
//
// The zero SeatTable is empty and ready to use. A copy shares storage: use Clone.
type SeatTable struct {
	index map[uint64]seatEntry // by seatHash(company, name)
	keys  []byte               // SeatKey of every user, back to back; bytes once written never change
	// collide holds, by SeatKey, the users whose hash another user took first: with 64-bit
	// hashes, practically never, but a seat must never be mistaken for another's.
	collide map[string]Seat
}

type seatEntry struct {
	off, len uint32 // the user's SeatKey in keys
	seat     Seat
}

// seatSeed keys the hash; per process, like Go's own maps, so no input can be crafted to collide.
var seatSeed = maphash.MakeSeed()

// seatHashMask is all ones; a test narrows it to make users collide.
var seatHashMask = ^uint64(0)

// seatHash hashes SeatKey(company, name) without building it.
func seatHash(company, name string) uint64 {
	var h maphash.Hash
	h.SetSeed(seatSeed)
	h.WriteString(company)
	h.WriteByte(0)
	h.WriteString(name)
	return h.Sum64() & seatHashMask
}

// is reports whether e is the seat of company's user name.
func (t *SeatTable) is(e seatEntry, company, name string) bool {
	k := t.keys[e.off : e.off+e.len]
	return len(k) == len(company)+1+len(name) && string(k[:len(company)]) == company &&
		k[len(company)] == 0 && string(k[len(company)+1:]) == name
}

// Get returns the seat of company's user name, and whether the user ever held one.
func (t *SeatTable) Get(company, name string) (Seat, bool) {
	e, ok := t.index[seatHash(company, name)]
	if !ok {
		return Seat{}, false
	}
	if t.is(e, company, name) {
		return e.seat, true
	}
	s, ok := t.collide[SeatKey(company, name)]
	return s, ok
}

// Set stores the seat of company's user name.
func (t *SeatTable) Set(company, name string, s Seat) {
	h := seatHash(company, name)
	e, ok := t.index[h]
	switch {
	case ok && t.is(e, company, name):
		e.seat = s
	case ok: // another user has this hash
		if t.collide == nil {
			t.collide = map[string]Seat{}
		}
		t.collide[SeatKey(company, name)] = s
		return
	default:
		if t.index == nil {
			t.index = map[uint64]seatEntry{}
		}
		e = seatEntry{off: uint32(len(t.keys)), len: uint32(len(company) + 1 + len(name)), seat: s}
		t.keys = append(append(append(t.keys, company...), 0), name...)
	}
	t.index[h] = e
}

// GetKey is Get by SeatKey.
func (t *SeatTable) GetKey(key string) (Seat, bool) { return t.Get(SeatHolder(key)) }

// SetKey is Set by SeatKey.
func (t *SeatTable) SetKey(key string, s Seat) {
	company, name := SeatHolder(key)
	t.Set(company, name, s)
}

// Len is the number of users who ever held a seat.
func (t *SeatTable) Len() int { return len(t.index) + len(t.collide) }

// All yields every user's SeatKey and seat, in no particular order. The keys share the table's
// arena (whose bytes never change), so yielding them allocates nothing.
func (t *SeatTable) All() iter.Seq2[string, Seat] {
	return func(yield func(string, Seat) bool) {
		for _, e := range t.index {
			if !yield(unsafe.String(&t.keys[e.off], int(e.len)), e.seat) {
				return
			}
		}
		for k, s := range t.collide {
			if !yield(k, s) {
				return
			}
		}
	}
}

// Clone returns a copy that shares nothing with t.
func (t *SeatTable) Clone() SeatTable {
	return SeatTable{index: maps.Clone(t.index), keys: slices.Clone(t.keys), collide: maps.Clone(t.collide)}
}

// Equal reports whether t and u hold the same seats for the same users, however each was built
// (reflect.DeepEqual compares the arena's layout, which depends on the order users arrived in).
func (t *SeatTable) Equal(u *SeatTable) bool {
	if t.Len() != u.Len() {
		return false
	}
	for k, s := range t.All() {
		if us, ok := u.GetKey(k); !ok || us != s {
			return false
		}
	}
	return true
}

// Active reports whether company's user name holds a seat now.
func (t *SeatTable) Active(company, name string) bool {
	s, _ := t.Get(company, name)
	return s.Active
}
