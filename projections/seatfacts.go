package projections

import (
	"hash/maphash"
	"unsafe"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Seat events are the bulk of every log (more than nine in ten of the generated one), so a
// catch-up hands them to projections that take them as SeatFacts: decoded straight from the
// stored bytes without a domain.Event box each, the license numbered so that the applier finds
// it without a map lookup, and the user hashed on the decoding goroutine. A rebuild uses two
// cores (decoding, applying); this moves work off both (docs/BENCHMARKS.md).

// SeatFact is a seat event (registered or unregistered) as a catch-up hands it to a
// SeatProjection. Its strings may share memory with other facts': they never change, but copy
// one to keep it long without keeping its neighbours.
type SeatFact struct {
	Registered bool // seat.registered, else seat.unregistered
	Period     int
	LicenseID  string
	User       domain.SeatUser

	// The license's number in the catch-up (licenseNumbers), for SeatProjections in this package.
	numbers *licenseNumbers
	number  int32
}

// SeatProjection is a Projection that also takes seat events as SeatFacts. A catch-up decodes
// seat events this way only when every projection it feeds is one.
type SeatProjection interface {
	Projection
	// ApplySeat is Apply for a seat event; m's Reseller and Tenant are the license's. f is
	// reused once ApplySeat returns: keep what it holds, never f.
	ApplySeat(m Meta, f *SeatFact)
}

// licenseNumbers numbers the licenses a catch-up's decoder meets, in order, and remembers each
// one's ids so that the next event of the license shares them. Its index is its own open-addressed
// table over the ids' bytes, held back to back: a lookup compares bytes next to each other
// rather than chasing each key string as a map of strings does.
type licenseNumbers struct {
	slots    []licenseSlot // linear probing by the license id's hash; a power of two long
	ids      []byte        // each numbered license id, reseller and tenant, NUL-separated
	licenses []numberedLicense
}

type licenseSlot struct {
	hash     uint64
	number   int32  // 0: free; else the license's number + 1
	off, len uint32 // its ids in ids
}

type numberedLicense struct{ id, reseller, tenant, company string }

var licenseSeed = maphash.MakeSeed()

// number returns the number of v's license with v's reseller and tenant (a new number the first
// time these three are met together) and its entry.
func (ns *licenseNumbers) number(v domain.SeatEventView, in *eventstore.Interner) (int32, *numberedLicense) {
	if 4*(len(ns.licenses)+1) > 3*len(ns.slots) {
		ns.grow()
	}
	h := maphash.Bytes(licenseSeed, v.LicenseID)
	mask := uint64(len(ns.slots) - 1)
	size := len(v.LicenseID) + 1 + len(v.ResellerID) + 1 + len(v.TenantID)
	i := h & mask
	for ; ns.slots[i].number != 0; i = (i + 1) & mask {
		sl := &ns.slots[i]
		if sl.hash != h || int(sl.len) != size {
			continue
		}
		k := ns.ids[sl.off : sl.off+sl.len]
		id, rest := k[:len(v.LicenseID)], k[len(v.LicenseID)+1:]
		if string(id) == string(v.LicenseID) && string(rest[:len(v.ResellerID)]) == string(v.ResellerID) &&
			string(rest[len(v.ResellerID)+1:]) == string(v.TenantID) {
			return sl.number - 1, &ns.licenses[sl.number-1]
		}
	}
	n := int32(len(ns.licenses))
	ns.slots[i] = licenseSlot{hash: h, number: n + 1, off: uint32(len(ns.ids)), len: uint32(size)}
	ns.ids = append(append(append(append(append(ns.ids, v.LicenseID...), 0), v.ResellerID...), 0), v.TenantID...)
	ns.licenses = append(ns.licenses, numberedLicense{id: in.Intern(v.LicenseID), reseller: in.Intern(v.ResellerID), tenant: in.Intern(v.TenantID)})
	return n, &ns.licenses[n]
}

func (ns *licenseNumbers) grow() {
	old := ns.slots
	ns.slots = make([]licenseSlot, max(64, 2*len(old)))
	mask := uint64(len(ns.slots) - 1)
	for _, sl := range old {
		if sl.number == 0 {
			continue
		}
		i := sl.hash & mask
		for ns.slots[i].number != 0 {
			i = (i + 1) & mask
		}
		ns.slots[i] = sl
	}
}

// seatDecoder is the decoding side of a catch-up.
type seatDecoder struct {
	in      *eventstore.Interner
	numbers *licenseNumbers
	// names holds the users' names, back to back, in chunks that are never written again once
	// a name is in them (facts' names alias them): one allocation per few hundred events.
	names []byte
}

const nameChunk = 16 << 10

func newSeatDecoder(in *eventstore.Interner) *seatDecoder {
	return &seatDecoder{in: in, numbers: &licenseNumbers{}}
}

// decode reads a seat event into d; false if e is not one or not in the form ViewSeatEvent
// reads (the caller then decodes it as any other event).
func (s *seatDecoder) decode(e eventstore.Event, d *decoded) bool {
	env, ok := eventstore.DecodeView(e.Bytes)
	if !ok || (env.Type != domain.TypeSeatRegistered && env.Type != domain.TypeSeatUnregistered) {
		return false
	}
	v, ok := domain.ViewSeatEvent(env.Data)
	if !ok {
		return false
	}
	n, l := s.numbers.number(v, s.in)
	company := l.company
	if company != string(v.EndUserCompany) { // the license's users are mostly of one company
		company = s.in.Intern(v.EndUserCompany)
		l.company = company
	}
	d.meta = Meta{Sequence: env.Sequence, Time: env.Time, Reseller: l.reseller, Tenant: l.tenant}
	d.event = nil
	d.seat = SeatFact{Registered: env.Type == domain.TypeSeatRegistered, Period: v.Period, LicenseID: l.id,
		User: domain.NewSeatUser(company, s.name(v.EndUserName)), numbers: s.numbers, number: n}
	return true
}

// name returns b as a string in the names chunk.
func (s *seatDecoder) name(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(s.names)-len(s.names) < len(b) {
		s.names = make([]byte, 0, max(nameChunk, len(b)))
	}
	start := len(s.names)
	s.names = append(s.names, b...)
	return unsafe.String(&s.names[start], len(b))
}
