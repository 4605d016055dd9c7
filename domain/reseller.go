package domain

// Reseller is a partner: it sells licenses to its tenants.
type Reseller struct {
	ID   string
	Name string
}

// ResellerCreate adds a reseller.
type ResellerCreate struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

func (ResellerCreate) CommandName() string { return "reseller.create" }

// TypeResellerCreated is the type of ResellerCreated.
const TypeResellerCreated = "reseller.created.v1"

// ResellerCreated records a new reseller.
type ResellerCreated struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (ResellerCreated) EventType() string         { return TypeResellerCreated }
func (e ResellerCreated) AggregateID() string     { return e.ID }
func (e ResellerCreated) Stream() string          { return ResellerStream(e.ID) }
func (e ResellerCreated) Owner() (string, string) { return e.ID, "" }

func (s *State) decideResellerCreate(c ResellerCreate) ([]Event, error) {
	if err := checkID("id", c.ID); err != nil {
		return nil, err
	}
	if err := checkText("name", c.Name); err != nil {
		return nil, err
	}
	if _, ok := s.Resellers[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "reseller %q already exists", c.ID)
	}
	return []Event{ResellerCreated(c)}, nil
}
