package domain

import "time"

// License statuses.
const (
	StatusActive = "active"
)

// License grants a tenant the use of a plan's product. Its seats (registered end users) live
// inside it.
type License struct {
	ID, ResellerID, TenantID, ProductID, PlanID string
	KeyHash, KeyHint                            string // keyed hash of the key; a display hint
	Status                                      string
	Seats, Machines                             int
	StartsAt                                    time.Time
	ExpiresAt                                   time.Time // zero: perpetual
	SeatsOverridden                             bool      // license.set-quota was used
	// Protected (Keygen): only an admin or the owning product may manage its machines.
	Protected   bool
	Notes       []Note
	Activations map[string]*Machine // by fingerprint
	// Entitlements are the license's own, beyond its plan's (State.Entitled has both).
	Entitlements []string

	Users    SeatTable `json:"-"`
	Period   int       // the quota period Consumed counts
	Active   int       // users registered now
	Consumed int       // distinct users who held a seat in Period
}

// LicenseCreate issues a license on a plan to a reseller's tenant. The key itself never reaches
// the domain: the caller draws it, shows it once, and passes its keyed hash and hint.
type LicenseCreate struct {
	ID         string `json:"id,omitempty"`
	ResellerID string `json:"resellerId"`
	TenantID   string `json:"tenantId"`
	PlanID     string `json:"planId"`
	// Protected is a protected attribute: only an admin or the plan's product may set it.
	Protected bool   `json:"protected,omitempty"`
	KeyHash   string `json:"-"`
	KeyHint   string `json:"-"`
}

func (LicenseCreate) CommandName() string { return "license.create" }

// TypeLicenseCreated is the type of LicenseCreated.
const TypeLicenseCreated = "license.created.v1"

// LicenseCreated records a new license. It copies the plan's terms, so later changes to the plan
// do not silently change licenses already sold.
type LicenseCreated struct {
	ID         string     `json:"id"`
	ResellerID string     `json:"resellerId"`
	TenantID   string     `json:"tenantId"`
	ProductID  string     `json:"productId"`
	PlanID     string     `json:"planId"`
	KeyHash    string     `json:"keyHash"`
	KeyHint    string     `json:"keyHint"`
	Seats      int        `json:"seats"`
	Machines   int        `json:"machines"`
	StartsAt   time.Time  `json:"startsAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	Protected  bool       `json:"protected,omitempty"`
}

func (LicenseCreated) EventType() string         { return TypeLicenseCreated }
func (e LicenseCreated) AggregateID() string     { return e.ID }
func (e LicenseCreated) Stream() string          { return LicenseStream(e.ID) }
func (e LicenseCreated) Owner() (string, string) { return e.ResellerID, e.TenantID }

func (s *State) decideLicenseCreate(now time.Time, c LicenseCreate) ([]Event, error) {
	for _, check := range []error{
		checkID("id", c.ID),
		checkID("resellerId", c.ResellerID),
		checkID("tenantId", c.TenantID),
		checkID("planId", c.PlanID),
	} {
		if check != nil {
			return nil, check
		}
	}
	if c.KeyHash == "" {
		return nil, Errorf(CodeInvalidArgument, "key", "a license needs a key hash")
	}
	if _, ok := s.Resellers[c.ResellerID]; !ok {
		return nil, Errorf(CodeResellerNotFound, "resellerId", "reseller %q does not exist", c.ResellerID)
	}
	t, ok := s.Tenants[c.TenantID]
	if !ok {
		return nil, Errorf(CodeTenantNotFound, "tenantId", "tenant %q does not exist", c.TenantID)
	}
	if t.ResellerID != c.ResellerID {
		return nil, Errorf(CodeTenantMismatch, "tenantId", "tenant %q is not a customer of reseller %q", c.TenantID, c.ResellerID)
	}
	p, ok := s.Plans[c.PlanID]
	if !ok {
		return nil, Errorf(CodePlanNotFound, "planId", "plan %q does not exist", c.PlanID)
	}
	if _, ok := s.Licenses[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "license %q already exists", c.ID)
	}
	e := LicenseCreated{
		ID: c.ID, ResellerID: c.ResellerID, TenantID: c.TenantID, ProductID: p.ProductID, PlanID: p.ID,
		KeyHash: c.KeyHash, KeyHint: c.KeyHint, Seats: p.Seats, Machines: p.Machines, StartsAt: now,
		Protected: c.Protected,
	}
	if p.DurationDays > 0 {
		exp := now.AddDate(0, 0, p.DurationDays)
		e.ExpiresAt = &exp
	}
	return []Event{e}, nil
}

func newLicense(e LicenseCreated) *License {
	l := &License{
		ID: e.ID, ResellerID: e.ResellerID, TenantID: e.TenantID, ProductID: e.ProductID, PlanID: e.PlanID,
		KeyHash: e.KeyHash, KeyHint: e.KeyHint, Status: StatusActive,
		Seats: e.Seats, Machines: e.Machines, StartsAt: e.StartsAt, Protected: e.Protected,
		Activations: map[string]*Machine{},
	}
	if e.ExpiresAt != nil {
		l.ExpiresAt = *e.ExpiresAt
	}
	return l
}

// ExpiredAt reports whether the license's term has run out at t.
func (l *License) ExpiredAt(t time.Time) bool {
	return !l.ExpiresAt.IsZero() && !t.Before(l.ExpiresAt)
}
