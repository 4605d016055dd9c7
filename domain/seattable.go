package domain

import (
	"hash/maphash"
	"iter"
	"maps"
	"slices"
	"unsafe"
)

// SeatTable holds a license's seats by user (company and name). Seats are the bulk of the model,
// millions of them, so the table holds no pointers per seat: an open-addressed array of slots,
// each the user's 32-bit hash, the seat, the number of the user's company (a license's users are
// mostly of a few companies, held once per table) and where the user's name lies in one byte
// arena. The garbage collector never scans the slots or the arena, growing the table copies plain
// words, and registering a user probes once (Slot) without building their key.
//
// Two users with the same hash simply take two slots: a probe compares company and name whenever
// hashes match, so a seat is never mistaken for another's. The few users a slot cannot describe
// (a name longer than 64 KiB, or a company past a table's 65,535th) are kept in a plain map.
//
// The zero SeatTable is empty and ready to use. A copy shares storage: use Clone.
type SeatTable struct {
	slots     []seatSlot // linear probing; a power of two long, or empty
	used      int        // slots taken
	names     []byte     // every user's name, back to back; bytes once written never change
	companies []string   // by number; numbers start at 1 (0 marks a free slot)
	recent    string     // the company last numbered, and its number: most users'
	recentNo  uint16
	byCompany map[string]uint16 // companies' numbers, once there are more than a few
	overflow  map[string]*Seat  // by SeatKey: users no slot can describe
}

type seatSlot struct {
	hash    uint32 // the user's hash
	off     uint32 // the user's name in names
	len     uint16
	company uint16 // companies[company-1]; 0: a free slot
	seat    Seat
}

const (
	maxSlotName     = 1<<16 - 1
	maxCompanies    = 1<<16 - 1
	companiesListed = 8 // a table of more companies finds them with byCompany
)

// SeatUser is a seat's holder, with the hash the table files them under, computed once: a
// replay can hash on one goroutine and apply on another.
type SeatUser struct {
	company, name string
	hash          uint32
}

// NewSeatUser names company's user name.
func NewSeatUser(company, name string) SeatUser { return NewSeatCompany(company).User(name) }

// SeatCompany is an end-user company with its part of its users' hashes, for a caller that meets
// many users of one company (a replay's decoder) to hash it once.
type SeatCompany struct {
	name string
	hash uint64
}

// NewSeatCompany hashes company.
func NewSeatCompany(company string) SeatCompany {
	return SeatCompany{name: company, hash: maphash.String(companySeed, company)}
}

// Name is the company's.
func (c SeatCompany) Name() string { return c.name }

// User names the company's user name: NewSeatUser(c.Name(), name).
func (c SeatCompany) User(name string) SeatUser {
	// Two hashes under two keys: a user whose name is their company's does not hash to zero.
	return SeatUser{company: c.name, name: name, hash: uint32(maphash.String(nameSeed, name)^c.hash) & seatHashMask}
}

// Company and Name are the user's.
func (u SeatUser) Company() string { return u.company }
func (u SeatUser) Name() string    { return u.name }

// Key is the user's SeatKey.
func (u SeatUser) Key() string { return SeatKey(u.company, u.name) }

// The seeds key the hash; per process, like Go's own maps, so no input can be crafted to collide.
// 32 bits of it are kept: a table never holds 2^32 slots, and a probe compares the user whenever
// hashes match.
var companySeed, nameSeed = maphash.MakeSeed(), maphash.MakeSeed()

// seatHashMask is all ones; a test narrows it to make users collide.
var seatHashMask = ^uint32(0)

// companyNumber returns the number of company (0: not in the table; with add, added if it fits).
func (t *SeatTable) companyNumber(company string, add bool) uint16 {
	if t.recentNo != 0 && company == t.recent {
		return t.recentNo
	}
	n := t.lookupCompany(company, add)
	if n != 0 {
		t.recent, t.recentNo = company, n
	}
	return n
}

func (t *SeatTable) lookupCompany(company string, add bool) uint16 {
	if t.byCompany != nil {
		if n, ok := t.byCompany[company]; ok || !add || len(t.companies) == maxCompanies {
			return n
		}
	} else {
		for i, c := range t.companies {
			if c == company {
				return uint16(i + 1)
			}
		}
		if !add {
			return 0
		}
	}
	t.companies = append(t.companies, company)
	n := uint16(len(t.companies))
	switch {
	case t.byCompany != nil:
		t.byCompany[company] = n
	case len(t.companies) > companiesListed:
		t.byCompany = make(map[string]uint16, 2*len(t.companies))
		for i, c := range t.companies {
			t.byCompany[c] = uint16(i + 1)
		}
	}
	return n
}

// find returns u's slot, or the free slot where u would go; company is u's company's number.
func (t *SeatTable) find(u SeatUser, company uint16) (i int, found bool) {
	mask := len(t.slots) - 1
	for i = int(u.hash) & mask; t.slots[i].company != 0; i = (i + 1) & mask {
		e := &t.slots[i]
		if e.hash == u.hash && e.company == company && int(e.len) == len(u.name) &&
			string(t.names[e.off:e.off+uint32(e.len)]) == u.name {
			return i, true
		}
	}
	return i, false
}

// Touch loads the slot u's probe starts at and returns a word of it, for a caller that wants the
// slot in the cache before it needs it (see projections' batched applying). Cheap when the
// table is empty.
func (t *SeatTable) Touch(u SeatUser) uint32 {
	if len(t.slots) == 0 {
		return 0
	}
	return t.slots[int(u.hash)&(len(t.slots)-1)].hash
}

// Find returns u's seat, and whether u ever held one.
func (t *SeatTable) Find(u SeatUser) (Seat, bool) {
	if c := t.companyNumber(u.company, false); c != 0 && len(u.name) <= maxSlotName && t.used > 0 {
		if i, ok := t.find(u, c); ok {
			return t.slots[i].seat, true
		}
	}
	if len(t.overflow) > 0 {
		if s, ok := t.overflow[u.Key()]; ok {
			return *s, true
		}
	}
	return Seat{}, false
}

// Slot returns u's seat to change in place, adding a zero Seat for u if they never held one
// (held false). The pointer is good until the next user is added.
func (t *SeatTable) Slot(u SeatUser) (s *Seat, held bool) {
	s, held, _ = t.slot(u)
	return s, held
}

// slot is Slot, also reporting whether u is the first user of their company in t. (Past the
// 65,535th company, whose users are kept aside unnumbered, every new user is reported.)
func (t *SeatTable) slot(u SeatUser) (s *Seat, held, newCompany bool) {
	companies := len(t.companies)
	c := t.companyNumber(u.company, true)
	newCompany = len(t.companies) > companies
	if c == 0 || len(u.name) > maxSlotName || len(t.names) > 1<<32-1-len(u.name) {
		s, held = t.overflowSlot(u)
		return s, held, newCompany || (c == 0 && !held)
	}
	if (t.used+1)*4 > len(t.slots)*3 { // at most three quarters full: probes stay short
		t.grow()
	}
	i, ok := t.find(u, c)
	e := &t.slots[i]
	if !ok {
		*e = seatSlot{hash: u.hash, off: uint32(len(t.names)), len: uint16(len(u.name)), company: c}
		t.names = append(t.names, u.name...)
		t.used++
	}
	return &e.seat, ok, newCompany
}

func (t *SeatTable) overflowSlot(u SeatUser) (*Seat, bool) {
	if t.overflow == nil {
		t.overflow = map[string]*Seat{}
	}
	k := u.Key()
	if s, ok := t.overflow[k]; ok {
		return s, true
	}
	s := new(Seat)
	t.overflow[k] = s
	return s, false
}

// grow doubles the slots and files every user again by their stored hash.
func (t *SeatTable) grow() {
	old := t.slots
	t.slots = make([]seatSlot, max(8, 2*len(old)))
	mask := len(t.slots) - 1
	for _, e := range old {
		if e.company == 0 {
			continue
		}
		i := int(e.hash) & mask
		for t.slots[i].company != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = e
	}
}

// Get returns the seat of company's user name, and whether the user ever held one.
func (t *SeatTable) Get(company, name string) (Seat, bool) { return t.Find(NewSeatUser(company, name)) }

// Set stores the seat of company's user name.
func (t *SeatTable) Set(company, name string, s Seat) {
	p, _ := t.Slot(NewSeatUser(company, name))
	*p = s
}

// GetKey is Get by SeatKey.
func (t *SeatTable) GetKey(key string) (Seat, bool) { return t.Get(SeatHolder(key)) }

// SetKey is Set by SeatKey.
func (t *SeatTable) SetKey(key string, s Seat) {
	company, name := SeatHolder(key)
	t.Set(company, name, s)
}

// Len is the number of users who ever held a seat.
func (t *SeatTable) Len() int { return t.used + len(t.overflow) }

// All yields every user and their seat, in no particular order. The users' names share the
// table's arena (whose bytes never change), so yielding them allocates nothing.
func (t *SeatTable) All() iter.Seq2[SeatUser, Seat] {
	return func(yield func(SeatUser, Seat) bool) {
		for _, e := range t.slots {
			if e.company == 0 {
				continue
			}
			u := SeatUser{company: t.companies[e.company-1], hash: e.hash}
			if e.len > 0 {
				u.name = unsafe.String(&t.names[e.off], int(e.len))
			}
			if !yield(u, e.seat) {
				return
			}
		}
		for k, s := range t.overflow {
			if !yield(NewSeatUser(SeatHolder(k)), *s) {
				return
			}
		}
	}
}

// Clone returns a copy that shares nothing with t.
func (t *SeatTable) Clone() SeatTable {
	c := SeatTable{slots: slices.Clone(t.slots), used: t.used, names: slices.Clone(t.names),
		companies: slices.Clone(t.companies), recent: t.recent, recentNo: t.recentNo, byCompany: maps.Clone(t.byCompany)}
	if t.overflow != nil {
		c.overflow = make(map[string]*Seat, len(t.overflow))
		for k, s := range t.overflow {
			seat := *s
			c.overflow[k] = &seat
		}
	}
	return c
}

// Equal reports whether t and u hold the same seats for the same users, however each was built
// (reflect.DeepEqual compares the layout, which depends on the order users arrived in).
func (t *SeatTable) Equal(u *SeatTable) bool {
	if t.Len() != u.Len() {
		return false
	}
	for user, s := range t.All() {
		if us, ok := u.Find(user); !ok || us != s {
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
