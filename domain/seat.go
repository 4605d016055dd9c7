package domain

import (
	"strings"
	"time"
)

// Seat is one end user registered against a license (DBSync registerUser). Seats are the bulk of
// the model (millions of them), so a seat is 8 bytes held by value, and the user's company and
// name live only in its key (see SeatKey).
type Seat struct {
	Active bool
	// CountedIn is the last quota period in which this user consumed a seat (-1: never). For an
	// active seat it may lag: an active seat counts in its license's current period (see rollTo).
	CountedIn int32
}

// SeatKey is the key of a user's seat: its company and name, joined by a NUL.
func SeatKey(company, name string) string { return company + "\x00" + name }

// SeatHolder splits a seat key into the user's company and name.
func SeatHolder(key string) (company, name string) {
	company, name, _ = strings.Cut(key, "\x00")
	return company, name
}

// SeatRegister registers an end user on a license (DBSync registerUser).
type SeatRegister struct {
	// LicenseID may be left out by a credential scoped to one license: it is that license.
	LicenseID      string `json:"licenseId,omitempty"`
	EndUserCompany string `json:"endUserCompany"`
	EndUserName    string `json:"endUserName"`
}

func (SeatRegister) CommandName() string { return "seat.register" }

// SeatUnregister frees an end user's seat (DBSync unregisterUser). The user stops being active
// but stays counted as consumed for the rest of the quota period.
type SeatUnregister SeatRegister

func (SeatUnregister) CommandName() string { return "seat.unregister" }

// Event types.
const (
	TypeSeatRegistered   = "seat.registered.v1"
	TypeSeatUnregistered = "seat.unregistered.v1"
)

// SeatRegistered records a registration in quota period Period.
type SeatRegistered struct {
	LicenseID      string `json:"licenseId"`
	ResellerID     string `json:"resellerId"`
	TenantID       string `json:"tenantId"`
	EndUserCompany string `json:"endUserCompany"`
	EndUserName    string `json:"endUserName"`
	Period         int    `json:"period"`
}

func (SeatRegistered) EventType() string         { return TypeSeatRegistered }
func (e SeatRegistered) AggregateID() string     { return e.LicenseID }
func (e SeatRegistered) Stream() string          { return LicenseStream(e.LicenseID) }
func (e SeatRegistered) Owner() (string, string) { return e.ResellerID, e.TenantID }

// SeatUnregistered records an unregistration in quota period Period.
type SeatUnregistered SeatRegistered

func (SeatUnregistered) EventType() string         { return TypeSeatUnregistered }
func (e SeatUnregistered) AggregateID() string     { return e.LicenseID }
func (e SeatUnregistered) Stream() string          { return LicenseStream(e.LicenseID) }
func (e SeatUnregistered) Owner() (string, string) { return e.ResellerID, e.TenantID }

// QuotaPeriod returns which annual quota period t falls in for a license that started at start:
// 0 for the first year, 1 for the second, and so on.
func QuotaPeriod(start, t time.Time) int {
	if t.Before(start) {
		return 0
	}
	p := t.Year() - start.Year()
	if start.AddDate(p, 0, 0).After(t) {
		p--
	}
	return p
}

// Usage is a license's seat quota as it stands at some time.
type Usage struct {
	Seats       int       `json:"seats"`
	Active      int       `json:"active"`
	Consumed    int       `json:"consumed"`
	Remaining   int       `json:"remaining"`
	Period      int       `json:"period"`
	PeriodStart time.Time `json:"periodStart"`
	PeriodEnd   time.Time `json:"periodEnd"`
}

// UsageAt returns the license's quota at time t. A new period starts with the users who still hold
// a seat already counted.
func (l *License) UsageAt(t time.Time) Usage {
	p := max(QuotaPeriod(l.StartsAt, t), l.Period)
	u := Usage{
		Seats: l.Seats, Active: l.Active, Consumed: l.consumedIn(p), Period: p,
		PeriodStart: l.StartsAt.AddDate(p, 0, 0), PeriodEnd: l.StartsAt.AddDate(p+1, 0, 0),
	}
	u.Remaining = max(u.Seats-u.Consumed, 0)
	return u
}

func (l *License) consumedIn(p int) int {
	if p > l.Period {
		return l.Active
	}
	return l.Consumed
}

func (s *State) seatLicense(licenseID, company, name string) (*License, error) {
	if licenseID == "" {
		return nil, Errorf(CodeInvalidArgument, "licenseId", "is required, unless the credential is scoped to one license")
	}
	if err := checkID("licenseId", licenseID); err != nil {
		return nil, err
	}
	if err := checkText("endUserCompany", company); err != nil {
		return nil, err
	}
	if err := checkText("endUserName", name); err != nil {
		return nil, err
	}
	l, ok := s.Licenses[licenseID]
	if !ok {
		return nil, Errorf(CodeLicenseNotFound, "licenseId", "license %q does not exist", licenseID)
	}
	return l, nil
}

func (s *State) decideSeatRegister(now time.Time, c SeatRegister) ([]Event, error) {
	l, err := s.seatLicense(c.LicenseID, c.EndUserCompany, c.EndUserName)
	if err != nil {
		return nil, err
	}
	switch status := l.StatusAt(now); status {
	case StatusActive:
	case StatusTerminated:
		return nil, Errorf(CodeLicenseTerminated, "licenseId", "license %q is terminated", l.ID)
	case StatusExpired:
		return nil, Errorf(CodeLicenseExpired, "licenseId", "license %q has expired; renew it first", l.ID)
	default:
		return nil, Errorf(CodeLicenseNotActive, "licenseId", "license %q is %s", l.ID, status)
	}
	seat, held := l.Users.Get(c.EndUserCompany, c.EndUserName)
	if seat.Active {
		return nil, nil // already registered: nothing changes
	}
	p := max(QuotaPeriod(l.StartsAt, now), l.Period)
	counted := held && p == l.Period && int(seat.CountedIn) == p
	if used := l.consumedIn(p); !counted && used >= l.Seats {
		return nil, Errorf(CodeQuotaExceeded, "endUserName",
			"license %q has used all %d seats of its quota period %s to %s; unregistering a user does not free a seat before the period ends",
			l.ID, l.Seats, l.StartsAt.AddDate(p, 0, 0).Format(time.DateOnly), l.StartsAt.AddDate(p+1, 0, 0).Format(time.DateOnly))
	}
	return []Event{SeatRegistered{
		LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID,
		EndUserCompany: c.EndUserCompany, EndUserName: c.EndUserName, Period: p,
	}}, nil
}

func (s *State) decideSeatUnregister(now time.Time, c SeatUnregister) ([]Event, error) {
	l, err := s.seatLicense(c.LicenseID, c.EndUserCompany, c.EndUserName)
	if err != nil {
		return nil, err
	}
	if l.Status == StatusTerminated {
		return nil, Errorf(CodeLicenseTerminated, "licenseId", "license %q is terminated; it cannot change any more", l.ID)
	}
	if !l.Users.Active(c.EndUserCompany, c.EndUserName) {
		return nil, Errorf(CodeSeatNotFound, "endUserName", "%q of %q holds no seat on license %q", c.EndUserName, c.EndUserCompany, l.ID)
	}
	return []Event{SeatUnregistered{
		LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID,
		EndUserCompany: c.EndUserCompany, EndUserName: c.EndUserName,
		Period: max(QuotaPeriod(l.StartsAt, now), l.Period),
	}}, nil
}

// rollTo starts quota period p: the users holding a seat at its start are its first consumers.
//
// It is O(1): the seats active at the start are not rewritten (that was a pass over every seat of
// the license, each period, in every replay). An active seat always counts in the current period;
// its stored CountedIn is brought up to date (settle) when the seat next changes.
func (l *License) rollTo(p int) {
	if p <= l.Period {
		return
	}
	l.Period, l.Consumed = p, l.Active
}

// settle returns s with CountedIn as rollTo would have left it: an active seat counts in the
// current period.
func (l *License) settle(s Seat) Seat {
	if s.Active {
		s.CountedIn = int32(l.Period)
	}
	return s
}

// RegisterSeat applies a registration of u in quota period: State.Evolve's SeatRegistered
// without the license lookup, for a read model that already holds l and a user already hashed.
// It reports whether u is the first user of their company on l (the moment a read model's
// index of companies' licenses changes).
func (l *License) RegisterSeat(u SeatUser, period int) (newCompany bool) {
	l.rollTo(period)
	s, held, newCompany := l.Users.slot(u)
	if !held {
		s.CountedIn = -1
	}
	*s = l.settle(*s)
	s.Active = true
	l.Active++
	if int(s.CountedIn) != period {
		s.CountedIn = int32(period)
		l.Consumed++
	}
	return newCompany
}

// UnregisterSeat applies an unregistration of u in quota period (see RegisterSeat).
func (l *License) UnregisterSeat(u SeatUser, period int) {
	l.rollTo(period)
	s, _ := l.Users.Slot(u)
	*s = l.settle(*s)
	s.Active = false
	l.Active--
}
