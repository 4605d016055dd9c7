package domain

import (
	"time"
	"unicode/utf8"
)

// MaxNoteLength bounds a license note.
const MaxNoteLength = 2000

// LicenseChangePlan moves a license to another plan of the same product: an upgrade must go to
// a higher tier, a downgrade to a lower one.
type LicenseChangePlan struct {
	LicenseID string `json:"licenseId"`
	PlanID    string `json:"planId"`
}

// Plan-change commands.
type (
	LicenseUpgrade   LicenseChangePlan
	LicenseDowngrade LicenseChangePlan
)

func (LicenseUpgrade) CommandName() string   { return "license.upgrade" }
func (LicenseDowngrade) CommandName() string { return "license.downgrade" }

// LicenseNote attaches a free-text note to a license.
type LicenseNote struct {
	LicenseID string `json:"licenseId"`
	Note      string `json:"note"`
}

func (LicenseNote) CommandName() string { return "license.note" }

// LicenseSetQuota overrides the plan's seat quota for one license. Later plan changes keep it.
type LicenseSetQuota struct {
	LicenseID string `json:"licenseId"`
	Seats     int    `json:"seats"`
}

func (LicenseSetQuota) CommandName() string { return "license.set-quota" }

// LicenseRotateKey replaces a license's key: the old one stops validating at once. The caller
// draws the new key and passes its keyed hash and hint.
type LicenseRotateKey struct {
	LicenseID string `json:"licenseId"`
	KeyHash   string `json:"-"`
	KeyHint   string `json:"-"`
}

func (LicenseRotateKey) CommandName() string { return "license.rotate-key" }

// Event types.
const (
	TypeLicenseUpgraded   = "license.upgraded.v1"
	TypeLicenseDowngraded = "license.downgraded.v1"
	TypeLicenseNoted      = "license.noted.v1"
	TypeLicenseQuotaSet   = "license.quota-set.v1"
	TypeLicenseKeyRotated = "license.key-rotated.v1"
)

// LicensePlanChanged records a move to another plan and the terms it brings.
type LicensePlanChanged struct {
	LicenseID  string `json:"licenseId"`
	ResellerID string `json:"resellerId"`
	TenantID   string `json:"tenantId"`
	FromPlanID string `json:"fromPlanId"`
	PlanID     string `json:"planId"`
	Seats      int    `json:"seats"`
	Machines   int    `json:"machines"`
}

// Plan-change events.
type (
	LicenseUpgraded   LicensePlanChanged
	LicenseDowngraded LicensePlanChanged
)

// LicenseNoted records a note.
type LicenseNoted struct {
	LicenseID  string    `json:"licenseId"`
	ResellerID string    `json:"resellerId"`
	TenantID   string    `json:"tenantId"`
	Note       string    `json:"note"`
	At         time.Time `json:"at"`
}

// LicenseQuotaSet records a seat quota override.
type LicenseQuotaSet struct {
	LicenseID  string `json:"licenseId"`
	ResellerID string `json:"resellerId"`
	TenantID   string `json:"tenantId"`
	Seats      int    `json:"seats"`
}

// LicenseKeyRotated records a new key's keyed hash and hint.
type LicenseKeyRotated struct {
	LicenseID  string `json:"licenseId"`
	ResellerID string `json:"resellerId"`
	TenantID   string `json:"tenantId"`
	KeyHash    string `json:"keyHash"`
	KeyHint    string `json:"keyHint"`
}

func (LicenseUpgraded) EventType() string   { return TypeLicenseUpgraded }
func (LicenseDowngraded) EventType() string { return TypeLicenseDowngraded }
func (LicenseNoted) EventType() string      { return TypeLicenseNoted }
func (LicenseQuotaSet) EventType() string   { return TypeLicenseQuotaSet }
func (LicenseKeyRotated) EventType() string { return TypeLicenseKeyRotated }

func (e LicenseUpgraded) AggregateID() string   { return e.LicenseID }
func (e LicenseDowngraded) AggregateID() string { return e.LicenseID }
func (e LicenseNoted) AggregateID() string      { return e.LicenseID }
func (e LicenseQuotaSet) AggregateID() string   { return e.LicenseID }
func (e LicenseKeyRotated) AggregateID() string { return e.LicenseID }

func (e LicenseUpgraded) Stream() string   { return LicenseStream(e.LicenseID) }
func (e LicenseDowngraded) Stream() string { return LicenseStream(e.LicenseID) }
func (e LicenseNoted) Stream() string      { return LicenseStream(e.LicenseID) }
func (e LicenseQuotaSet) Stream() string   { return LicenseStream(e.LicenseID) }
func (e LicenseKeyRotated) Stream() string { return LicenseStream(e.LicenseID) }

func (e LicenseUpgraded) Owner() (string, string)   { return e.ResellerID, e.TenantID }
func (e LicenseDowngraded) Owner() (string, string) { return e.ResellerID, e.TenantID }
func (e LicenseNoted) Owner() (string, string)      { return e.ResellerID, e.TenantID }
func (e LicenseQuotaSet) Owner() (string, string)   { return e.ResellerID, e.TenantID }
func (e LicenseKeyRotated) Owner() (string, string) { return e.ResellerID, e.TenantID }

// Note is one note on a license.
type Note struct {
	Text string
	At   time.Time
}

func (s *State) decideChangePlan(c LicenseChangePlan, upgrade bool) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	if err := checkID("planId", c.PlanID); err != nil {
		return nil, err
	}
	to, ok := s.Plans[c.PlanID]
	if !ok {
		return nil, Errorf(CodePlanNotFound, "planId", "plan %q does not exist", c.PlanID)
	}
	from := s.Plans[l.PlanID]
	if to.ProductID != l.ProductID {
		return nil, Errorf(CodePlanOfAnotherProduct, "planId", "plan %q is for product %q; license %q is for %q", to.ID, to.ProductID, l.ID, l.ProductID)
	}
	fromTier := 0
	if from != nil {
		fromTier = from.Tier
	}
	switch {
	case upgrade && to.Tier <= fromTier:
		return nil, Errorf(CodeNotAnUpgrade, "planId", "plan %q has tier %d, not above the current plan's %d: use license.downgrade", to.ID, to.Tier, fromTier)
	case !upgrade && to.Tier >= fromTier:
		return nil, Errorf(CodeNotADowngrade, "planId", "plan %q has tier %d, not below the current plan's %d: use license.upgrade", to.ID, to.Tier, fromTier)
	}
	ch := LicensePlanChanged{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID,
		FromPlanID: l.PlanID, PlanID: to.ID, Seats: to.Seats, Machines: to.Machines}
	if l.SeatsOverridden {
		ch.Seats = l.Seats
	}
	if upgrade {
		return []Event{LicenseUpgraded(ch)}, nil
	}
	return []Event{LicenseDowngraded(ch)}, nil
}

func (s *State) decideNote(now time.Time, c LicenseNote) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	if c.Note == "" || !utf8.ValidString(c.Note) || utf8.RuneCountInString(c.Note) > MaxNoteLength {
		return nil, Errorf(CodeInvalidArgument, "note", "must be 1-%d characters of UTF-8", MaxNoteLength)
	}
	return []Event{LicenseNoted{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, Note: c.Note, At: now}}, nil
}

func (s *State) decideSetQuota(c LicenseSetQuota) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	if err := checkRange("seats", c.Seats, 0, MaxSeats); err != nil {
		return nil, err
	}
	return []Event{LicenseQuotaSet{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, Seats: c.Seats}}, nil
}

func (s *State) decideRotateKey(c LicenseRotateKey) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	if c.KeyHash == "" {
		return nil, Errorf(CodeInvalidArgument, "key", "a license needs a key hash")
	}
	return []Event{LicenseKeyRotated{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, KeyHash: c.KeyHash, KeyHint: c.KeyHint}}, nil
}

func (l *License) applyChange(e Event) {
	switch e := e.(type) {
	case LicenseUpgraded:
		l.PlanID, l.Seats, l.Machines = e.PlanID, e.Seats, e.Machines
	case LicenseDowngraded:
		l.PlanID, l.Seats, l.Machines = e.PlanID, e.Seats, e.Machines
	case LicenseNoted:
		l.Notes = append(l.Notes, Note{Text: e.Note, At: e.At})
	case LicenseQuotaSet:
		l.Seats, l.SeatsOverridden = e.Seats, true
	case LicenseKeyRotated:
		l.KeyHash, l.KeyHint = e.KeyHash, e.KeyHint
	}
}
