package domain

import "time"

// Product is something licensed; its plans say on what terms.
type Product struct {
	ID   string
	Name string
}

// Plan is a product's policy (Keygen's policy): seat quota, machine limit, duration and the tier
// that orders upgrades and downgrades.
type Plan struct {
	ID           string `json:"id"`
	ProductID    string `json:"productId"`
	Name         string `json:"name"`
	Tier         int    `json:"tier"`
	Seats        int    `json:"seats"`
	Machines     int    `json:"machines"`
	DurationDays int    `json:"durationDays"` // 0: perpetual
	// Entitlements are the codes every license on the plan has (plan.attach-entitlements).
	Entitlements []string `json:"entitlements,omitempty"`
	// Floating licenses keep a machine activated only while it sends heartbeats, at least one
	// every HeartbeatSeconds (default 600, 1 to 86,400).
	Floating         bool `json:"floating,omitempty"`
	HeartbeatSeconds int  `json:"heartbeatSeconds,omitempty"`
}

// Limits on plan numbers.
const (
	MaxSeats        = 1_000_000
	MaxMachines     = 1_000_000
	MaxTier         = 1_000
	MaxDurationDays = 36_500
)

// ProductCreate adds a product.
type ProductCreate struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

func (ProductCreate) CommandName() string { return "product.create" }

// PlanCreate adds a plan to a product.
type PlanCreate Plan

func (PlanCreate) CommandName() string { return "plan.create" }

// Event types.
const (
	TypeProductCreated = "product.created.v1"
	TypePlanCreated    = "plan.created.v1"
)

// ProductCreated records a new product.
type ProductCreated struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (ProductCreated) EventType() string         { return TypeProductCreated }
func (e ProductCreated) AggregateID() string     { return e.ID }
func (e ProductCreated) Stream() string          { return productStream(e.ID) }
func (e ProductCreated) Owner() (string, string) { return "", "" }

// PlanCreated records a new plan.
type PlanCreated Plan

func (PlanCreated) EventType() string         { return TypePlanCreated }
func (e PlanCreated) AggregateID() string     { return e.ID }
func (e PlanCreated) Stream() string          { return planStream(e.ID) }
func (e PlanCreated) Owner() (string, string) { return "", "" }

func (s *State) decideProductCreate(c ProductCreate) ([]Event, error) {
	if err := checkID("id", c.ID); err != nil {
		return nil, err
	}
	if err := checkText("name", c.Name); err != nil {
		return nil, err
	}
	if _, ok := s.Products[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "product %q already exists", c.ID)
	}
	return []Event{ProductCreated(c)}, nil
}

func (s *State) decidePlanCreate(c PlanCreate) ([]Event, error) {
	if c.Seats == 0 {
		// A plan's licenses copy its quota; with none, no end user could ever be registered.
		return nil, Errorf(CodeInvalidArgument, "seats", "is required: the seat quota of the plan's licenses, between 1 and %d", MaxSeats)
	}
	for _, check := range []error{
		checkID("id", c.ID),
		checkID("productId", c.ProductID),
		checkText("name", c.Name),
		checkRange("tier", c.Tier, 0, MaxTier),
		checkRange("seats", c.Seats, 1, MaxSeats),
		checkRange("machines", c.Machines, 0, MaxMachines),
		checkRange("durationDays", c.DurationDays, 0, MaxDurationDays),
	} {
		if check != nil {
			return nil, check
		}
	}
	if _, ok := s.Products[c.ProductID]; !ok {
		return nil, Errorf(CodeProductNotFound, "productId", "product %q does not exist", c.ProductID)
	}
	if _, ok := s.Plans[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "plan %q already exists", c.ID)
	}
	if err := checkRange("heartbeatSeconds", c.HeartbeatSeconds, 0, int(MaxHeartbeatWindow/time.Second)); err != nil {
		return nil, err
	}
	if c.HeartbeatSeconds > 0 && !c.Floating {
		return nil, Errorf(CodeInvalidArgument, "heartbeatSeconds", "only a floating plan's machines send heartbeats: say floating: true")
	}
	if c.Entitlements != nil {
		if err := s.checkCodes(c.Entitlements, c.ProductID); err != nil {
			return nil, err
		}
	}
	return []Event{PlanCreated(c)}, nil
}
