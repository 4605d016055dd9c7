package projections

import (
	"hash/maphash"
	"sync/atomic"
	"time"
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

// ownersHash is the hash licenseNumbers files a SeatEventView.Owners by.
func ownersHash(owners []byte) uint64 { return maphash.Bytes(licenseSeed, owners) & ownersHashMask }

// number returns the number of v's license with v's reseller and tenant (a new number the first
// time these three are met together) and its entry. h is ownersHash(v.Owners).
func (ns *licenseNumbers) number(v *domain.SeatEventView, h uint64, in *eventstore.Interner) (int32, *numberedLicense) {
	if 4*(len(ns.licenses)+1) > 3*len(ns.slots) {
		ns.grow()
	}
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

// peek loads the first bytes of the license whose owners hash to h, if one is there, and returns
// one of them: a load for decodeBatch to overlap with others, not an answer.
func (ns *licenseNumbers) peek(h uint64) byte {
	if len(ns.slots) == 0 {
		return 0
	}
	mask := uint64(len(ns.slots) - 1)
	for i := h & mask; ns.slots[i].number != 0; i = (i + 1) & mask {
		if sl := &ns.slots[i]; sl.hash == h {
			return ns.licenses[sl.number-1].ownersHead[0]
		}
	}
	return 0
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
	views []seatView // decodeBatch's
	seat  []bool
}

const nameChunk = 16 << 10

func newSeatDecoder(in *eventstore.Interner) *seatDecoder {
	return &seatDecoder{in: in, numbers: &licenseNumbers{}}
}

// decodeBatch decodes the seat events of events into b and reports which it decoded (the slice is
// the decoder's, good until the next call); the caller decodes the others as any other event. It goes over the batch three times: reading each
// event's views and loading the slot where its license's probe starts, then loading the license
// that slot names, then deciding. The loads of one pass do not depend on each other, so their
// cache misses (the licenses outgrow the cache) overlap instead of stalling event after event.
func (s *seatDecoder) decodeBatch(events []eventstore.Event, b []decoded) []bool {
	if cap(s.views) < len(events) {
		s.views, s.seat = make([]seatView, len(events)), make([]bool, len(events))
	}
	views, seat := s.views[:len(events)], s.seat[:len(events)]
	ns := s.numbers
	var sink int32
	for i, e := range events {
		seat[i] = s.view(e, &views[i])
		if seat[i] && len(ns.slots) > 0 {
			sink += ns.slots[views[i].hash&uint64(len(ns.slots)-1)].number
		}
	}
	for i := range views {
		if seat[i] {
			sink += int32(ns.peek(views[i].hash))
		}
	}
	touchedLicense.Store(sink)
	for i := range views {
		if seat[i] {
			s.decode(&views[i], &b[i])
		}
	}
	return seat
}

// touchedLicense keeps decodeBatch's loads from being optimized away.
var touchedLicense atomic.Int32

// seatView is what decodeBatch's first pass reads of a seat event.
type seatView struct {
	sequence   uint64
	time       time.Time
	registered bool
	v          domain.SeatEventView
	hash       uint64 // of v.Owners
}

// view reads e into sv; false if e is not a seat event or not in the form ViewSeatEvent reads.
func (s *seatDecoder) view(e eventstore.Event, sv *seatView) bool {
	env, ok := eventstore.DecodeView(e.Bytes)
	if !ok || (env.Type != domain.TypeSeatRegistered && env.Type != domain.TypeSeatUnregistered) {
		return false
	}
	v, ok := domain.ViewSeatEvent(env.Data)
	if !ok {
		return false
	}
	*sv = seatView{sequence: env.Sequence, time: env.Time, registered: env.Type == domain.TypeSeatRegistered,
		v: v, hash: ownersHash(v.Owners)}
	return true
}

// decode decodes the seat event sv into d.
func (s *seatDecoder) decode(sv *seatView, d *decoded) {
	v := &sv.v
	n, l := s.numbers.number(v, sv.hash, s.in)
	if !l.sameCompany(v.EndUserCompany) && l.company.Name() != string(v.EndUserCompany) { // mostly one company per license
		l.setCompany(s.in.Intern(v.EndUserCompany))
	}
	d.meta = Meta{Sequence: sv.sequence, Time: sv.time, Reseller: l.reseller, Tenant: l.tenant}
	d.event = nil
	d.seat = SeatFact{Registered: sv.registered, Period: v.Period, LicenseID: l.id,
		User: l.company.User(s.name(v.EndUserName)), numbers: s.numbers, number: n}
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
