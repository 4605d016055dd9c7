package projections

import (
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

// Event returns the domain event f was read from.
func (f *SeatFact) Event(m Meta) domain.Event {
	e := domain.SeatRegistered{LicenseID: f.LicenseID, ResellerID: m.Reseller, TenantID: m.Tenant,
		EndUserCompany: f.User.Company(), EndUserName: f.User.Name(), Period: f.Period}
	if f.Registered {
		return e
	}
	return domain.SeatUnregistered(e)
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
// one's ids so that the next event of the license shares them.
type licenseNumbers struct {
	byID     map[string]int32
	licenses []numberedLicense
}

type numberedLicense struct{ id, reseller, tenant, company string }

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
	return &seatDecoder{in: in, numbers: &licenseNumbers{byID: map[string]int32{}}}
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
	n, l := s.license(v)
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

// license numbers v's license, the first time it is met, and returns its entry.
func (s *seatDecoder) license(v domain.SeatEventView) (int32, *numberedLicense) {
	ns := s.numbers
	n, ok := ns.byID[string(v.LicenseID)]
	if !ok {
		id := string(v.LicenseID)
		n = int32(len(ns.licenses))
		ns.byID[id] = n
		ns.licenses = append(ns.licenses, numberedLicense{id: id})
	}
	l := &ns.licenses[n]
	if l.reseller != string(v.ResellerID) {
		l.reseller = s.in.Intern(v.ResellerID)
	}
	if l.tenant != string(v.TenantID) {
		l.tenant = s.in.Intern(v.TenantID)
	}
	return n, l
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
