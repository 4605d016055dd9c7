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

// TenantUpdate renames a tenant. Its reseller cannot change.
type TenantUpdate struct {
	TenantID string `json:"tenantId"`
	Name     string `json:"name"`
}

func (TenantUpdate) CommandName() string { return "tenant.update" }

// TypeTenantUpdated is the type of TenantUpdated.
const TypeTenantUpdated = "tenant.updated.v1"

// TenantUpdated records a tenant's new name.
type TenantUpdated struct {
	ID         string `json:"id"`
	ResellerID string `json:"resellerId"`
	Name       string `json:"name"`
}

func (TenantUpdated) EventType() string         { return TypeTenantUpdated }
func (e TenantUpdated) AggregateID() string     { return e.ID }
func (e TenantUpdated) Stream() string          { return tenantStream(e.ID) }
func (e TenantUpdated) Owner() (string, string) { return e.ResellerID, e.ID }

func (s *State) decideTenantUpdate(c TenantUpdate) ([]Event, error) {
	if err := checkID("tenantId", c.TenantID); err != nil {
		return nil, err
	}
	if err := checkText("name", c.Name); err != nil {
		return nil, err
	}
	t, ok := s.Tenants[c.TenantID]
	if !ok {
		return nil, Errorf(CodeTenantNotFound, "tenantId", "tenant %q does not exist", c.TenantID)
	}
	if t.Name == c.Name {
		return nil, nil // nothing changes
	}
	return []Event{TenantUpdated{ID: t.ID, ResellerID: t.ResellerID, Name: c.Name}}, nil
}
