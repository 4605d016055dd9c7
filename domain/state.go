package domain

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// State is the write model: everything a decision needs. Only one goroutine may use a State
// (in licledger, the event store's sequencer).
type State struct {
	Resellers   map[string]*Reseller
	Tenants     map[string]*Tenant
	Products    map[string]*Product
	Plans       map[string]*Plan
	Licenses    map[string]*License
	Credentials map[string]*Credential
	Admins      map[string]*Admin // by username
	// Entitlements are the features licenses can grant, by code.
	Entitlements map[string]*Entitlement
	// Webhooks are the partners' event receivers, by id.
	Webhooks map[string]*Webhook
}

// NewState returns an empty model.
func NewState() *State {
	return &State{
		Resellers:    map[string]*Reseller{},
		Tenants:      map[string]*Tenant{},
		Products:     map[string]*Product{},
		Plans:        map[string]*Plan{},
		Licenses:     map[string]*License{},
		Credentials:  map[string]*Credential{},
		Admins:       map[string]*Admin{},
		Entitlements: map[string]*Entitlement{},
		Webhooks:     map[string]*Webhook{},
	}
}

// Command is a request to change the model.
type Command interface {
	// CommandName is the wire name, e.g. "seat.register".
	CommandName() string
}

// Decide returns the events cmd causes in state s at time now, or a coded *Error. It does not
// change s: apply the events with Evolve once they are accepted.
func Decide(s *State, now time.Time, cmd Command) ([]Event, error) {
	switch c := cmd.(type) {
	case ResellerCreate:
		return s.decideResellerCreate(c)
	case TenantCreate:
		return s.decideTenantCreate(c)
	case TenantUpdate:
		return s.decideTenantUpdate(c)
	case ProductCreate:
		return s.decideProductCreate(c)
	case PlanCreate:
		return s.decidePlanCreate(c)
	case LicenseCreate:
		return s.decideLicenseCreate(now, c)
	case SeatRegister:
		return s.decideSeatRegister(now, c)
	case SeatUnregister:
		return s.decideSeatUnregister(now, c)
	case CredentialIssue:
		return s.decideCredentialIssue(now, c)
	case LicenseSuspend, LicenseReinstate, LicenseExpire, LicenseRenew, LicenseTerminate:
		return s.decideLifecycle(now, c)
	case LicenseUpgrade:
		return s.decideChangePlan(LicenseChangePlan(c), true)
	case LicenseDowngrade:
		return s.decideChangePlan(LicenseChangePlan(c), false)
	case LicenseNote:
		return s.decideNote(now, c)
	case LicenseSetQuota:
		return s.decideSetQuota(c)
	case LicenseRotateKey:
		return s.decideRotateKey(c)
	case MachineActivate:
		return s.decideMachineActivate(now, c)
	case LicenseCheckout:
		return s.decideLicenseCheckout(now, c)
	case EntitlementCreate:
		return s.decideEntitlementCreate(c)
	case MachineHeartbeat:
		return s.decideMachineHeartbeat(now, c)
	case MachineCull:
		return s.decideMachineCull(now, c)
	case PlanAttachEntitlements:
		return s.decidePlanEntitlements(c.PlanID, c.Codes, true)
	case PlanDetachEntitlements:
		return s.decidePlanEntitlements(c.PlanID, c.Codes, false)
	case LicenseAttachEntitlements:
		return s.decideLicenseEntitlements(c.LicenseID, c.Codes, true)
	case LicenseDetachEntitlements:
		return s.decideLicenseEntitlements(c.LicenseID, c.Codes, false)
	case MachineDeactivate:
		return s.decideMachineDeactivate(c)
	case AdminCreate:
		return s.decideAdminCreate(now, c)
	case AdminUpdate:
		return s.decideAdminUpdate(c)
	case AdminDelete:
		return s.decideAdminDelete(c)
	case AdminLogin:
		return s.decideAdminLogin(now, c)
	case WebhookCreate, WebhookUpdate, WebhookDisable, WebhookEnable, WebhookDelete:
		return s.decideWebhook(now, c)
	case CredentialDisable, CredentialEnable, CredentialRevoke, CredentialRotate, CredentialSetAccess, CredentialDelete, CredentialUpdate:
		return s.decideCredential(now, c)
	}
	return nil, Errorf(CodeInvalidArgument, "", "unknown command %T", cmd)
}

// Evolve applies one accepted event. Events come from the log, so a malformed one (an unknown
// type, a reference to something missing) is a broken invariant and panics.
func (s *State) Evolve(e Event) {
	switch e := e.(type) {
	case ResellerCreated:
		s.Resellers[e.ID] = &Reseller{ID: e.ID, Name: e.Name}
	case TenantCreated:
		s.Tenants[e.ID] = &Tenant{ID: e.ID, ResellerID: e.ResellerID, Name: e.Name}
	case TenantUpdated:
		s.Tenants[e.ID].Name = e.Name
	case ProductCreated:
		s.Products[e.ID] = &Product{ID: e.ID, Name: e.Name}
	case PlanCreated:
		p := Plan(e)
		s.Plans[e.ID] = &p
	case LicenseCreated:
		s.Licenses[e.ID] = newLicense(e)
	case SeatRegistered:
		s.mustLicense(e.LicenseID).RegisterSeat(NewSeatUser(e.EndUserCompany, e.EndUserName), e.Period)
	case SeatUnregistered:
		s.mustLicense(e.LicenseID).UnregisterSeat(NewSeatUser(e.EndUserCompany, e.EndUserName), e.Period)
	case CredentialIssued:
		s.Credentials[e.ID] = NewCredential(e)
	case LicenseSuspended, LicenseReinstated, LicenseExpired, LicenseRenewed, LicenseTerminated:
		s.mustLicense(e.AggregateID()).applyStatus(e)
	case LicenseUpgraded, LicenseDowngraded, LicenseNoted, LicenseQuotaSet, LicenseKeyRotated:
		s.mustLicense(e.AggregateID()).applyChange(e)
	case MachineActivated, MachineDeactivated:
		s.mustLicense(e.AggregateID()).applyMachine(e)
	case LicenseCheckedOut:
		s.mustLicense(e.LicenseID) // a file was issued: the license itself does not change
	case MachineHeartbeatStarted:
		if m, ok := s.mustLicense(e.LicenseID).Activations[e.Fingerprint]; ok {
			m.HeartbeatAt = e.At
		}
	case EntitlementCreated, PlanEntitlementsAttached, PlanEntitlementsDetached, LicenseEntitlementsAttached, LicenseEntitlementsDetached:
		s.evolveEntitlements(e)
	case AdminCreated, AdminUpdated, AdminDeleted:
		s.applyAdmin(e)
	case WebhookCreated, WebhookUpdated, WebhookDisabled, WebhookEnabled, WebhookDeleted:
		s.applyWebhook(e)
	case CredentialDisabled, CredentialEnabled, CredentialRevoked, CredentialRotated, CredentialAccessSet, CredentialDeleted, CredentialUpdated:
		c, ok := s.Credentials[e.AggregateID()]
		if !ok {
			panic(fmt.Sprintf("domain: event for unknown credential %q", e.AggregateID()))
		}
		c.Apply(e)
	default:
		panic(fmt.Sprintf("domain: Evolve: unknown event %T", e))
	}
}

func (s *State) mustLicense(id string) *License {
	l, ok := s.Licenses[id]
	if !ok {
		panic(fmt.Sprintf("domain: event for unknown license %q", id))
	}
	return l
}

// Target returns the stream of the aggregate a command acts on (for a create, the one it makes).
// An expected version in a request is checked against this stream.
func Target(cmd Command) string {
	switch c := cmd.(type) {
	case ResellerCreate:
		return ResellerStream(c.ID)
	case TenantCreate:
		return tenantStream(c.ID)
	case TenantUpdate:
		return tenantStream(c.TenantID)
	case ProductCreate:
		return productStream(c.ID)
	case PlanCreate:
		return planStream(c.ID)
	case LicenseCreate:
		return LicenseStream(c.ID)
	case SeatRegister:
		return LicenseStream(c.LicenseID)
	case SeatUnregister:
		return LicenseStream(c.LicenseID)
	case CredentialIssue:
		return credentialStream(c.ID)
	case LicenseSuspend:
		return LicenseStream(c.LicenseID)
	case LicenseReinstate:
		return LicenseStream(c.LicenseID)
	case LicenseExpire:
		return LicenseStream(c.LicenseID)
	case LicenseRenew:
		return LicenseStream(c.LicenseID)
	case LicenseTerminate:
		return LicenseStream(c.LicenseID)
	case LicenseUpgrade:
		return LicenseStream(c.LicenseID)
	case LicenseDowngrade:
		return LicenseStream(c.LicenseID)
	case LicenseNote:
		return LicenseStream(c.LicenseID)
	case LicenseSetQuota:
		return LicenseStream(c.LicenseID)
	case LicenseRotateKey:
		return LicenseStream(c.LicenseID)
	case MachineActivate:
		return LicenseStream(c.LicenseID)
	case MachineDeactivate:
		return LicenseStream(c.LicenseID)
	case LicenseCheckout:
		return LicenseStream(c.LicenseID)
	case EntitlementCreate:
		return entitlementStream(c.Code)
	case MachineHeartbeat:
		return LicenseStream(c.LicenseID)
	case MachineCull:
		return LicenseStream(c.LicenseID)
	case PlanAttachEntitlements:
		return planStream(c.PlanID)
	case PlanDetachEntitlements:
		return planStream(c.PlanID)
	case LicenseAttachEntitlements:
		return LicenseStream(c.LicenseID)
	case LicenseDetachEntitlements:
		return LicenseStream(c.LicenseID)
	case AdminCreate:
		return adminStream(c.Username)
	case AdminUpdate:
		return adminStream(c.Username)
	case AdminDelete:
		return adminStream(c.Username)
	case AdminLogin:
		return credentialStream(c.CredentialID)
	case WebhookCreate:
		return webhookStream(c.ID)
	}
	if id := credentialOf(cmd); id != "" {
		return credentialStream(id)
	}
	if id := webhookOf(cmd); id != "" {
		return webhookStream(id)
	}
	return ""
}

// Clone returns a deep copy of the model: nothing the copy's Evolve changes is shared with s.
// (Strings are shared; they never change.)
func (s *State) Clone() *State {
	c := &State{
		Resellers:    cloneEach(s.Resellers, nil),
		Tenants:      cloneEach(s.Tenants, nil),
		Products:     cloneEach(s.Products, nil),
		Plans:        cloneEach(s.Plans, func(p *Plan) { p.Entitlements = slices.Clone(p.Entitlements) }),
		Entitlements: cloneEach(s.Entitlements, nil),
		Webhooks:     cloneEach(s.Webhooks, func(w *Webhook) { w.EventTypes = slices.Clone(w.EventTypes) }),
		Admins:       cloneEach(s.Admins, nil),
		Credentials:  cloneEach(s.Credentials, deepenCredential),
		Licenses:     cloneEach(s.Licenses, deepenLicense),
	}
	return c
}

// deepenLicense and deepenCredential make a shallow copy deep: they copy what the value refers to
// and Evolve changes.
func deepenLicense(l *License) {
	l.Notes = slices.Clone(l.Notes)
	l.Users = l.Users.Clone()
	l.Activations = cloneEach(l.Activations, nil)
}

func deepenCredential(c *Credential) { c.Access = maps.Clone(c.Access) }

// cloneEach copies a map of pointers, pointing at copies of the values; deepen, if given, then
// copies what the value itself refers to.
func cloneEach[T any](m map[string]*T, deepen func(*T)) map[string]*T {
	out := make(map[string]*T, len(m))
	for k, v := range m {
		c := *v
		if deepen != nil {
			deepen(&c)
		}
		out[k] = &c
	}
	return out
}
