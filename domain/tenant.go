package domain

// Tenant is a reseller's customer: the end-user company (DBSync's endUserCompany).
type Tenant struct {
	ID         string
	ResellerID string
	Name       string
}

// TenantCreate adds a customer to a reseller.
type TenantCreate struct {
	ResellerID string `json:"resellerId"`
	ID         string `json:"id,omitempty"`
	Name       string `json:"name"`
}

func (TenantCreate) CommandName() string { return "tenant.create" }

// TypeTenantCreated is the type of TenantCreated.
const TypeTenantCreated = "tenant.created.v1"

// TenantCreated records a new tenant.
type TenantCreated struct {
	ID         string `json:"id"`
	ResellerID string `json:"resellerId"`
	Name       string `json:"name"`
}

func (TenantCreated) EventType() string         { return TypeTenantCreated }
func (e TenantCreated) AggregateID() string     { return e.ID }
func (e TenantCreated) Stream() string          { return tenantStream(e.ID) }
func (e TenantCreated) Owner() (string, string) { return e.ResellerID, e.ID }

func (s *State) decideTenantCreate(c TenantCreate) ([]Event, error) {
	if err := checkID("resellerId", c.ResellerID); err != nil {
		return nil, err
	}
	if err := checkID("id", c.ID); err != nil {
		return nil, err
	}
	if err := checkText("name", c.Name); err != nil {
		return nil, err
	}
	if _, ok := s.Resellers[c.ResellerID]; !ok {
		return nil, Errorf(CodeResellerNotFound, "resellerId", "reseller %q does not exist", c.ResellerID)
	}
	if _, ok := s.Tenants[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "tenant %q already exists", c.ID)
	}
	return []Event{TenantCreated{ID: c.ID, ResellerID: c.ResellerID, Name: c.Name}}, nil
}
