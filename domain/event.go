package domain

import (
	"encoding/json"
	"fmt"
)

// Event is a fact the ledger recorded. Events are plain values; their JSON is the event's data.
type Event interface {
	// EventType is the versioned type name, e.g. "license.created.v1".
	EventType() string
	// AggregateID is the id of the aggregate the event belongs to.
	AggregateID() string
	// Stream is the event's stream in the log: "<aggregate kind>/<id>".
	Stream() string
	// Owner is the reseller and tenant the event belongs to ("" for system-wide data).
	Owner() (reseller, tenant string)
}

// Stream names per aggregate kind.
func ResellerStream(id string) string   { return "reseller/" + id }
func tenantStream(id string) string     { return "tenant/" + id }
func productStream(id string) string    { return "product/" + id }
func planStream(id string) string       { return "plan/" + id }
func LicenseStream(id string) string    { return "license/" + id }
func credentialStream(id string) string { return "credential/" + id }

// EventTypes lists every event type, so that schemas and tests can cover each one.
var EventTypes = []string{
	TypeResellerCreated,
	TypeTenantCreated,
	TypeTenantUpdated,
	TypeProductCreated,
	TypePlanCreated,
	TypeLicenseCreated,
	TypeSeatRegistered,
	TypeSeatUnregistered,
	TypeCredentialIssued,
	TypeLicenseSuspended,
	TypeLicenseReinstated,
	TypeLicenseExpired,
	TypeLicenseRenewed,
	TypeLicenseTerminated,
	TypeLicenseUpgraded,
	TypeLicenseDowngraded,
	TypeLicenseNoted,
	TypeLicenseQuotaSet,
	TypeLicenseKeyRotated,
	TypeMachineActivated,
	TypeMachineDeactivated,
	TypeLicenseCheckedOut,
	TypeEntitlementCreated,
	TypeMachineHeartbeatStarted,
	TypePlanEntitlementsAttached,
	TypePlanEntitlementsDetached,
	TypeLicenseEntitlementsAttached,
	TypeLicenseEntitlementsDetached,
	TypeAdminCreated,
	TypeAdminUpdated,
	TypeAdminDeleted,
	TypeCredentialDisabled,
	TypeCredentialEnabled,
	TypeCredentialRevoked,
	TypeCredentialRotated,
	TypeCredentialAccessSet,
	TypeCredentialDeleted,
	TypeCredentialUpdated,
	TypeWebhookCreated,
	TypeWebhookUpdated,
	TypeWebhookDisabled,
	TypeWebhookEnabled,
	TypeWebhookDeleted,
}

// DecodeEvent turns a stored event's type and data back into its Event value. Old versions of a
// type are upcast here when there are any; events are never rewritten.
func DecodeEvent(typ string, data []byte) (Event, error) { return DecodeEventWith(typ, data, nil) }

// DecodeEventWith is DecodeEvent for replays: intern (one goroutine's string table, nil for none)
// gives the ids that repeat from event to event instead of a new string each time.
func DecodeEventWith(typ string, data []byte, intern func([]byte) string) (Event, error) {
	if e, ok := decodeFlat(typ, data, intern); ok {
		return e, nil
	}
	var e Event
	switch typ {
	case TypeResellerCreated:
		e = new(ResellerCreated)
	case TypeTenantCreated:
		e = new(TenantCreated)
	case TypeTenantUpdated:
		e = new(TenantUpdated)
	case TypeProductCreated:
		e = new(ProductCreated)
	case TypePlanCreated:
		e = new(PlanCreated)
	case TypeLicenseCreated:
		e = new(LicenseCreated)
	case TypeSeatRegistered:
		e = new(SeatRegistered)
	case TypeSeatUnregistered:
		e = new(SeatUnregistered)
	case TypeCredentialIssued:
		e = new(CredentialIssued)
	case TypeLicenseSuspended:
		e = new(LicenseSuspended)
	case TypeLicenseReinstated:
		e = new(LicenseReinstated)
	case TypeLicenseExpired:
		e = new(LicenseExpired)
	case TypeLicenseRenewed:
		e = new(LicenseRenewed)
	case TypeLicenseTerminated:
		e = new(LicenseTerminated)
	case TypeLicenseUpgraded:
		e = new(LicenseUpgraded)
	case TypeLicenseDowngraded:
		e = new(LicenseDowngraded)
	case TypeLicenseNoted:
		e = new(LicenseNoted)
	case TypeLicenseQuotaSet:
		e = new(LicenseQuotaSet)
	case TypeLicenseKeyRotated:
		e = new(LicenseKeyRotated)
	case TypeMachineActivated:
		e = new(MachineActivated)
	case TypeMachineDeactivated:
		e = new(MachineDeactivated)
	case TypeLicenseCheckedOut:
		e = new(LicenseCheckedOut)
	case TypeEntitlementCreated:
		e = new(EntitlementCreated)
	case TypeMachineHeartbeatStarted:
		e = new(MachineHeartbeatStarted)
	case TypePlanEntitlementsAttached:
		e = new(PlanEntitlementsAttached)
	case TypePlanEntitlementsDetached:
		e = new(PlanEntitlementsDetached)
	case TypeLicenseEntitlementsAttached:
		e = new(LicenseEntitlementsAttached)
	case TypeLicenseEntitlementsDetached:
		e = new(LicenseEntitlementsDetached)
	case TypeAdminCreated:
		e = new(AdminCreated)
	case TypeAdminUpdated:
		e = new(AdminUpdated)
	case TypeAdminDeleted:
		e = new(AdminDeleted)
	case TypeCredentialDisabled:
		e = new(CredentialDisabled)
	case TypeCredentialEnabled:
		e = new(CredentialEnabled)
	case TypeCredentialRevoked:
		e = new(CredentialRevoked)
	case TypeCredentialRotated:
		e = new(CredentialRotated)
	case TypeCredentialAccessSet:
		e = new(CredentialAccessSet)
	case TypeCredentialDeleted:
		e = new(CredentialDeleted)
	case TypeCredentialUpdated:
		e = new(CredentialUpdated)
	case TypeWebhookCreated:
		e = new(WebhookCreated)
	case TypeWebhookUpdated:
		e = new(WebhookUpdated)
	case TypeWebhookDisabled:
		e = new(WebhookDisabled)
	case TypeWebhookEnabled:
		e = new(WebhookEnabled)
	case TypeWebhookDeleted:
		e = new(WebhookDeleted)
	default:
		return nil, fmt.Errorf("domain: unknown event type %q", typ)
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("domain: decode %s: %w", typ, err)
	}
	return deref(e), nil
}

// deref returns the value an event pointer points at, so events are always handled as values.
func deref(e Event) Event {
	switch e := e.(type) {
	case *ResellerCreated:
		return *e
	case *TenantCreated:
		return *e
	case *TenantUpdated:
		return *e
	case *ProductCreated:
		return *e
	case *PlanCreated:
		return *e
	case *LicenseCreated:
		return *e
	case *SeatRegistered:
		return *e
	case *SeatUnregistered:
		return *e
	case *CredentialIssued:
		return *e
	case *LicenseSuspended:
		return *e
	case *LicenseReinstated:
		return *e
	case *LicenseExpired:
		return *e
	case *LicenseRenewed:
		return *e
	case *LicenseTerminated:
		return *e
	case *LicenseUpgraded:
		return *e
	case *LicenseDowngraded:
		return *e
	case *LicenseNoted:
		return *e
	case *LicenseQuotaSet:
		return *e
	case *LicenseKeyRotated:
		return *e
	case *MachineActivated:
		return *e
	case *MachineDeactivated:
		return *e
	case *LicenseCheckedOut:
		return *e
	case *EntitlementCreated:
		return *e
	case *MachineHeartbeatStarted:
		return *e
	case *PlanEntitlementsAttached:
		return *e
	case *PlanEntitlementsDetached:
		return *e
	case *LicenseEntitlementsAttached:
		return *e
	case *LicenseEntitlementsDetached:
		return *e
	case *AdminCreated:
		return *e
	case *AdminUpdated:
		return *e
	case *AdminDeleted:
		return *e
	case *CredentialDisabled:
		return *e
	case *CredentialEnabled:
		return *e
	case *CredentialRevoked:
		return *e
	case *CredentialRotated:
		return *e
	case *CredentialAccessSet:
		return *e
	case *CredentialDeleted:
		return *e
	case *CredentialUpdated:
		return *e
	case *WebhookCreated:
		return *e
	case *WebhookUpdated:
		return *e
	case *WebhookDisabled:
		return *e
	case *WebhookEnabled:
		return *e
	case *WebhookDeleted:
		return *e
	}
	return e
}
