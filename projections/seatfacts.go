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
// table keyed by the event's Owners (license, reseller and tenant ids as stored): a lookup hashes
// and compares one short slice rather than three strings.
type licenseNumbers struct {
	slots    []licenseSlot // linear probing by the owners' hash; a power of two long
	licenses []numberedLicense
}

type licenseSlot struct {
	hash   uint64
	number int32 // 0: free; else the license's number + 1
}

// numberedLicense is what the decoder keeps of a license. The bytes it compares with each event
// (owners, and the company of the license's last user) are held inline when short, next to the
// fields the decoder reads anyway: compared wherever else they lay, they were a cache miss on
// most events.
type numberedLicense struct {
	id, reseller, tenant string
	owners               string             // SeatEventView.Owners
	company              domain.SeatCompany // the company of the license's last user, hashed
	ownersHead           [inlineOwners]byte
	companyBytes         [inlineCompany]byte
	companyLen           uint8 // 0: company is not in companyBytes
}

const (
	inlineOwners  = 112 // three ULIDs and the JSON between them take about 110 bytes
	inlineCompany = 40
)

// sameOwners reports whether owners are l's.
func (l *numberedLicense) sameOwners(owners []byte) bool {
	if len(owners) != len(l.owners) {
		return false
	}
	head := min(len(owners), inlineOwners)
	return string(l.ownersHead[:head]) == string(owners[:head]) && string(l.owners[head:]) == string(owners[head:])
}

// sameCompany reports whether company is the license's last user's.
func (l *numberedLicense) sameCompany(company []byte) bool {
	return l.companyLen != 0 && int(l.companyLen) == len(company) && string(l.companyBytes[:l.companyLen]) == string(company)
}

func (l *numberedLicense) setCompany(company string) {
	l.company, l.companyLen = domain.NewSeatCompany(company), 0
	if len(company) <= inlineCompany {
		l.companyLen = uint8(copy(l.companyBytes[:], company))
	}
}

var licenseSeed = maphash.MakeSeed()

// ownersHashMask is all ones; a test clears it to make every license's hash collide.
var ownersHashMask = ^uint64(0)

// number returns the number of v's license with v's reseller and tenant (a new number the first
// time these three are met together) and its entry.
func (ns *licenseNumbers) number(v domain.SeatEventView, in *eventstore.Interner) (int32, *numberedLicense) {
	if 4*(len(ns.licenses)+1) > 3*len(ns.slots) {
		ns.grow()
	}
	h := maphash.Bytes(licenseSeed, v.Owners) & ownersHashMask
	mask := uint64(len(ns.slots) - 1)
	i := h & mask
	for ; ns.slots[i].number != 0; i = (i + 1) & mask {
		if sl := &ns.slots[i]; sl.hash == h && ns.licenses[sl.number-1].sameOwners(v.Owners) {
			return sl.number - 1, &ns.licenses[sl.number-1]
		}
	}
	n := int32(len(ns.licenses))
	ns.slots[i] = licenseSlot{hash: h, number: n + 1}
	l := numberedLicense{id: in.Intern(v.LicenseID), reseller: in.Intern(v.ResellerID), tenant: in.Intern(v.TenantID), owners: string(v.Owners)}
	copy(l.ownersHead[:], v.Owners)
	l.setCompany(in.Intern(v.EndUserCompany)) // never the zero SeatCompany, whose hash is not ""'s
	ns.licenses = append(ns.licenses, l)
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
	if !l.sameCompany(v.EndUserCompany) && l.company.Name() != string(v.EndUserCompany) { // mostly one company per license
		l.setCompany(s.in.Intern(v.EndUserCompany))
	}
	d.meta = Meta{Sequence: env.Sequence, Time: env.Time, Reseller: l.reseller, Tenant: l.tenant}
	d.event = nil
	d.seat = SeatFact{Registered: env.Type == domain.TypeSeatRegistered, Period: v.Period, LicenseID: l.id,
		User: l.company.User(s.name(v.EndUserName)), numbers: s.numbers, number: n}
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
