package domain

import (
	"slices"
	"strconv"
	"strings"
)

// Entitlements (Keygen): named features a license grants. A license has its plan's entitlements
// and its own; an upgrade or downgrade changes what comes from the plan, because a license's
// entitlements are computed from its plan when asked (Entitled), never copied.

// Entitlement is a feature a license can grant, known by its code.
type Entitlement struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	ProductID string `json:"productId,omitempty"` // only that product's plans and licenses may have it
}

// MaxEntitlementsPerCommand bounds the codes one attach or detach names.
const MaxEntitlementsPerCommand = 100

// EntitlementCreate defines an entitlement.
type EntitlementCreate Entitlement

func (EntitlementCreate) CommandName() string { return "entitlement.create" }

// Attaching and detaching entitlements, to a plan or to one license.
type (
	PlanAttachEntitlements struct {
		PlanID string   `json:"planId"`
		Codes  []string `json:"codes"`
	}
	PlanDetachEntitlements    PlanAttachEntitlements
	LicenseAttachEntitlements struct {
		LicenseID string   `json:"licenseId"`
		Codes     []string `json:"codes"`
	}
	LicenseDetachEntitlements LicenseAttachEntitlements
)

func (PlanAttachEntitlements) CommandName() string    { return "plan.attach-entitlements" }
func (PlanDetachEntitlements) CommandName() string    { return "plan.detach-entitlements" }
func (LicenseAttachEntitlements) CommandName() string { return "license.attach-entitlements" }
func (LicenseDetachEntitlements) CommandName() string { return "license.detach-entitlements" }

// Event types.
const (
	TypeEntitlementCreated               = "entitlement.created.v1"
	TypePlanEntitlementsAttached         = "plan.entitlements-attached.v1"
	TypePlanEntitlementsDetached         = "plan.entitlements-detached.v1"
	TypeLicenseEntitlementsAttached      = "license.entitlements-attached.v1"
	TypeLicenseEntitlementsDetached      = "license.entitlements-detached.v1"
	ValidationEntitlementsMissing        = "ENTITLEMENTS_MISSING"
	CodeEntitlementNotFound         Code = "ENTITLEMENT_NOT_FOUND"
	CodeEntitlementOfAnotherProduct      = Code("ENTITLEMENT_OF_ANOTHER_PRODUCT")
)

// Events.
type (
	EntitlementCreated       Entitlement
	PlanEntitlementsAttached struct {
		PlanID string   `json:"planId"`
		Codes  []string `json:"codes,omitempty"` // never empty in the log
	}
	PlanEntitlementsDetached    PlanEntitlementsAttached
	LicenseEntitlementsAttached struct {
		LicenseID  string   `json:"licenseId"`
		ResellerID string   `json:"resellerId"`
		TenantID   string   `json:"tenantId"`
		Codes      []string `json:"codes,omitempty"` // never empty in the log
	}
	LicenseEntitlementsDetached LicenseEntitlementsAttached
)

func entitlementStream(code string) string { return "entitlement/" + code }

func (EntitlementCreated) EventType() string          { return TypeEntitlementCreated }
func (PlanEntitlementsAttached) EventType() string    { return TypePlanEntitlementsAttached }
func (PlanEntitlementsDetached) EventType() string    { return TypePlanEntitlementsDetached }
func (LicenseEntitlementsAttached) EventType() string { return TypeLicenseEntitlementsAttached }
func (LicenseEntitlementsDetached) EventType() string { return TypeLicenseEntitlementsDetached }

func (e EntitlementCreated) AggregateID() string          { return e.Code }
func (e PlanEntitlementsAttached) AggregateID() string    { return e.PlanID }
func (e PlanEntitlementsDetached) AggregateID() string    { return e.PlanID }
func (e LicenseEntitlementsAttached) AggregateID() string { return e.LicenseID }
func (e LicenseEntitlementsDetached) AggregateID() string { return e.LicenseID }

func (e EntitlementCreated) Stream() string          { return entitlementStream(e.Code) }
func (e PlanEntitlementsAttached) Stream() string    { return planStream(e.PlanID) }
func (e PlanEntitlementsDetached) Stream() string    { return planStream(e.PlanID) }
func (e LicenseEntitlementsAttached) Stream() string { return LicenseStream(e.LicenseID) }
func (e LicenseEntitlementsDetached) Stream() string { return LicenseStream(e.LicenseID) }

func (EntitlementCreated) Owner() (string, string)       { return "", "" }
func (PlanEntitlementsAttached) Owner() (string, string) { return "", "" }
func (PlanEntitlementsDetached) Owner() (string, string) { return "", "" }
func (e LicenseEntitlementsAttached) Owner() (string, string) {
	return e.ResellerID, e.TenantID
}
func (e LicenseEntitlementsDetached) Owner() (string, string) {
	return e.ResellerID, e.TenantID
}

func (s *State) decideEntitlementCreate(c EntitlementCreate) ([]Event, error) {
	if err := checkID("code", c.Code); err != nil {
		return nil, err
	}
	if err := checkText("name", c.Name); err != nil {
		return nil, err
	}
	if c.ProductID != "" {
		if _, ok := s.Products[c.ProductID]; !ok {
			return nil, Errorf(CodeProductNotFound, "productId", "product %q does not exist", c.ProductID)
		}
	}
	if _, ok := s.Entitlements[c.Code]; ok {
		return nil, Errorf(CodeAlreadyExists, "code", "entitlement %q already exists", c.Code)
	}
	return []Event{EntitlementCreated(c)}, nil
}

// checkCodes checks codes to attach to something of product: each defined, for that product or
// for all, named once.
func (s *State) checkCodes(codes []string, product string) error {
	if len(codes) == 0 || len(codes) > MaxEntitlementsPerCommand {
		return Errorf(CodeInvalidArgument, "codes", "name 1 to %d entitlements", MaxEntitlementsPerCommand)
	}
	for i, code := range codes {
		field := "codes." + strconv.Itoa(i)
		e, ok := s.Entitlements[code]
		if !ok {
			return Errorf(CodeEntitlementNotFound, field, "entitlement %q does not exist", code)
		}
		if e.ProductID != "" && e.ProductID != product {
			return Errorf(CodeEntitlementOfAnotherProduct, field, "entitlement %q is product %s's, not %s's", code, e.ProductID, product)
		}
		if slices.Contains(codes[:i], code) {
			return Errorf(CodeInvalidArgument, field, "entitlement %q is named twice", code)
		}
	}
	return nil
}

// newTo is the codes has does not hold yet (what an attach adds); heldBy those it holds (what a
// detach takes away).
func newTo(has, codes []string) []string {
	return slices.DeleteFunc(slices.Clone(codes), func(c string) bool { return slices.Contains(has, c) })
}

func heldBy(has, codes []string) []string {
	return slices.DeleteFunc(slices.Clone(codes), func(c string) bool { return !slices.Contains(has, c) })
}

func (s *State) decidePlanEntitlements(planID string, codes []string, attach bool) ([]Event, error) {
	p, ok := s.Plans[planID]
	if !ok {
		return nil, Errorf(CodePlanNotFound, "planId", "plan %q does not exist", planID)
	}
	if err := s.checkCodes(codes, p.ProductID); err != nil {
		return nil, err
	}
	if attach {
		if news := newTo(p.Entitlements, codes); len(news) > 0 {
			return []Event{PlanEntitlementsAttached{PlanID: planID, Codes: news}}, nil
		}
		return nil, nil // all attached already: nothing changes
	}
	if gone := heldBy(p.Entitlements, codes); len(gone) > 0 {
		return []Event{PlanEntitlementsDetached{PlanID: planID, Codes: gone}}, nil
	}
	return nil, nil
}

func (s *State) decideLicenseEntitlements(licenseID string, codes []string, attach bool) ([]Event, error) {
	l, err := s.changeable(licenseID)
	if err != nil {
		return nil, err
	}
	if err := s.checkCodes(codes, l.ProductID); err != nil {
		return nil, err
	}
	if attach {
		if news := newTo(l.Entitlements, codes); len(news) > 0 {
			return []Event{LicenseEntitlementsAttached{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, Codes: news}}, nil
		}
		return nil, nil
	}
	if gone := heldBy(l.Entitlements, codes); len(gone) > 0 {
		return []Event{LicenseEntitlementsDetached{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, Codes: gone}}, nil
	}
	return nil, nil
}

func (s *State) evolveEntitlements(e Event) {
	switch e := e.(type) {
	case EntitlementCreated:
		en := Entitlement(e)
		s.Entitlements[e.Code] = &en
	case PlanEntitlementsAttached:
		p := s.Plans[e.PlanID]
		p.Entitlements = append(slices.Clone(p.Entitlements), e.Codes...)
	case PlanEntitlementsDetached:
		p := s.Plans[e.PlanID]
		p.Entitlements = without(p.Entitlements, e.Codes)
	case LicenseEntitlementsAttached:
		l := s.mustLicense(e.LicenseID)
		l.Entitlements = append(slices.Clone(l.Entitlements), e.Codes...)
	case LicenseEntitlementsDetached:
		l := s.mustLicense(e.LicenseID)
		l.Entitlements = without(l.Entitlements, e.Codes)
	}
}

// without is has without codes; nil when nothing is left, as a model read back from its
// stored records has it.
func without(has, codes []string) []string {
	left := slices.DeleteFunc(slices.Clone(has), func(c string) bool { return slices.Contains(codes, c) })
	if len(left) == 0 {
		return nil
	}
	return left
}

// Entitled is the license's entitlements: its plan's and its own, sorted, each once.
func (s *State) Entitled(l *License) []string {
	var out []string
	if p, ok := s.Plans[l.PlanID]; ok {
		out = append(out, p.Entitlements...)
	}
	out = append(out, l.Entitlements...)
	slices.Sort(out)
	return slices.Compact(out)
}

// MissingEntitlements lists, in the order asked, the codes the license lacks.
func (s *State) MissingEntitlements(l *License, want []string) []string {
	has := s.Entitled(l)
	var missing []string
	for _, c := range want {
		if _, ok := slices.BinarySearch(has, c); !ok {
			missing = append(missing, c)
		}
	}
	return missing
}

// MissingDetail says which entitlements are missing, for a validation's detail.
func MissingDetail(missing []string) string {
	return "the license lacks the entitlements " + strings.Join(missing, ", ")
}
