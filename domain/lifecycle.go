package domain

import "time"

// License statuses besides StatusActive. Terminated is final.
const (
	StatusSuspended  = "suspended"
	StatusExpired    = "expired"
	StatusTerminated = "terminated"
)

// LicenseRef names the license a lifecycle command acts on, with an optional reason kept in the
// event (Partner Central asks for one on suspension).
type LicenseRef struct {
	LicenseID string `json:"licenseId"`
	Reason    string `json:"reason,omitempty"`
}

// Lifecycle commands.
type (
	LicenseSuspend   LicenseRef
	LicenseReinstate LicenseRef
	LicenseExpire    LicenseRef
	LicenseRenew     LicenseRef
	LicenseTerminate LicenseRef
)

func (LicenseSuspend) CommandName() string   { return "license.suspend" }
func (LicenseReinstate) CommandName() string { return "license.reinstate" }
func (LicenseExpire) CommandName() string    { return "license.expire" }
func (LicenseRenew) CommandName() string     { return "license.renew" }
func (LicenseTerminate) CommandName() string { return "license.terminate" }

// Lifecycle event types.
const (
	TypeLicenseSuspended  = "license.suspended.v1"
	TypeLicenseReinstated = "license.reinstated.v1"
	TypeLicenseExpired    = "license.expired.v1"
	TypeLicenseRenewed    = "license.renewed.v1"
	TypeLicenseTerminated = "license.terminated.v1"
)

// LicenseStatusChanged is the data of every lifecycle event: the license, its owner, the reason
// given, and (for a renewal) the new end of term.
type LicenseStatusChanged struct {
	LicenseID  string     `json:"licenseId"`
	ResellerID string     `json:"resellerId"`
	TenantID   string     `json:"tenantId"`
	Reason     string     `json:"reason,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
}

// Lifecycle events.
type (
	LicenseSuspended  LicenseStatusChanged
	LicenseReinstated LicenseStatusChanged
	LicenseExpired    LicenseStatusChanged
	LicenseRenewed    LicenseStatusChanged
	LicenseTerminated LicenseStatusChanged
)

func (LicenseSuspended) EventType() string  { return TypeLicenseSuspended }
func (LicenseReinstated) EventType() string { return TypeLicenseReinstated }
func (LicenseExpired) EventType() string    { return TypeLicenseExpired }
func (LicenseRenewed) EventType() string    { return TypeLicenseRenewed }
func (LicenseTerminated) EventType() string { return TypeLicenseTerminated }

func (e LicenseSuspended) AggregateID() string  { return e.LicenseID }
func (e LicenseReinstated) AggregateID() string { return e.LicenseID }
func (e LicenseExpired) AggregateID() string    { return e.LicenseID }
func (e LicenseRenewed) AggregateID() string    { return e.LicenseID }
func (e LicenseTerminated) AggregateID() string { return e.LicenseID }

func (e LicenseSuspended) Stream() string  { return LicenseStream(e.LicenseID) }
func (e LicenseReinstated) Stream() string { return LicenseStream(e.LicenseID) }
func (e LicenseExpired) Stream() string    { return LicenseStream(e.LicenseID) }
func (e LicenseRenewed) Stream() string    { return LicenseStream(e.LicenseID) }
func (e LicenseTerminated) Stream() string { return LicenseStream(e.LicenseID) }

func (e LicenseSuspended) Owner() (string, string)  { return e.ResellerID, e.TenantID }
func (e LicenseReinstated) Owner() (string, string) { return e.ResellerID, e.TenantID }
func (e LicenseExpired) Owner() (string, string)    { return e.ResellerID, e.TenantID }
func (e LicenseRenewed) Owner() (string, string)    { return e.ResellerID, e.TenantID }
func (e LicenseTerminated) Owner() (string, string) { return e.ResellerID, e.TenantID }

// StatusAt is the license's status at time t: a license whose term has run out is expired even
// before anyone records it (the renew deadline passing), unless it was terminated.
func (l *License) StatusAt(t time.Time) string {
	if l.Status != StatusTerminated && l.ExpiredAt(t) {
		return StatusExpired
	}
	return l.Status
}

// changeable finds a license that may still change: it exists and is not terminated.
func (s *State) changeable(id string) (*License, error) {
	if err := checkID("licenseId", id); err != nil {
		return nil, err
	}
	l, ok := s.Licenses[id]
	if !ok {
		return nil, Errorf(CodeLicenseNotFound, "licenseId", "license %q does not exist", id)
	}
	if l.Status == StatusTerminated {
		return nil, Errorf(CodeLicenseTerminated, "licenseId", "license %q is terminated; it cannot change any more", id)
	}
	return l, nil
}

func checkReason(r string) error {
	if r == "" {
		return nil
	}
	return checkText("reason", r)
}

func (l *License) statusChange(reason string) LicenseStatusChanged {
	return LicenseStatusChanged{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, Reason: reason}
}

func (s *State) decideLifecycle(now time.Time, cmd Command) ([]Event, error) {
	var ref LicenseRef
	switch c := cmd.(type) {
	case LicenseSuspend:
		ref = LicenseRef(c)
	case LicenseReinstate:
		ref = LicenseRef(c)
	case LicenseExpire:
		ref = LicenseRef(c)
	case LicenseRenew:
		ref = LicenseRef(c)
	case LicenseTerminate:
		ref = LicenseRef(c)
	}
	l, err := s.changeable(ref.LicenseID)
	if err != nil {
		return nil, err
	}
	if err := checkReason(ref.Reason); err != nil {
		return nil, err
	}
	ch := l.statusChange(ref.Reason)
	status := l.StatusAt(now)
	switch cmd.(type) {
	case LicenseSuspend:
		if status != StatusActive {
			return nil, Errorf(CodeLicenseNotActive, "licenseId", "license %q is %s; only an active license can be suspended", l.ID, status)
		}
		return []Event{LicenseSuspended(ch)}, nil
	case LicenseReinstate:
		if l.Status != StatusSuspended {
			return nil, Errorf(CodeLicenseNotSuspended, "licenseId", "license %q is %s; only a suspended license can be reinstated", l.ID, status)
		}
		return []Event{LicenseReinstated(ch)}, nil
	case LicenseExpire:
		if l.Status == StatusExpired {
			return nil, Errorf(CodeLicenseExpired, "licenseId", "license %q is already expired", l.ID)
		}
		return []Event{LicenseExpired(ch)}, nil
	case LicenseRenew:
		p := s.Plans[l.PlanID]
		if p == nil || p.DurationDays == 0 {
			return nil, Errorf(CodeLicensePerpetual, "licenseId", "license %q is perpetual: there is no term to renew", l.ID)
		}
		// A new term starts where the old one ends, or now if it has already ended.
		from := l.ExpiresAt
		if from.IsZero() || from.Before(now) {
			from = now
		}
		exp := from.AddDate(0, 0, p.DurationDays)
		ch.ExpiresAt = &exp
		return []Event{LicenseRenewed(ch)}, nil
	case LicenseTerminate:
		return []Event{LicenseTerminated(ch)}, nil
	}
	return nil, Errorf(CodeInvalidArgument, "", "unknown lifecycle command %T", cmd)
}

func (l *License) applyStatus(e Event) {
	switch e := e.(type) {
	case LicenseSuspended:
		l.Status = StatusSuspended
	case LicenseReinstated:
		l.Status = StatusActive
	case LicenseExpired:
		l.Status = StatusExpired
	case LicenseRenewed:
		// A renewal ends an expiry; a suspension stays until reinstated.
		if l.Status == StatusExpired {
			l.Status = StatusActive
		}
		l.ExpiresAt = *e.ExpiresAt
	case LicenseTerminated:
		l.Status = StatusTerminated
	}
}
