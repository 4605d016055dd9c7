package handlers

import (
	"strings"

	"github.com/licledger/licledger/domain"
)

// The customer queries (Odin Partner Central's "search for customers"): tenant.get and
// tenant.list, within the caller's scope like every other read.

type tenantGetQuery struct {
	TenantID string `json:"tenantId"`
	Format   string `json:"format,omitempty"`
	ReadOptions
}

type tenantListQuery struct {
	ResellerID string `json:"resellerId,omitempty"`
	// Name keeps the tenants whose name contains it, ignoring case.
	Name   string `json:"name,omitempty"`
	Format string `json:"format,omitempty"`
	PageQuery
	ReadOptions
}

// tenantItem is a customer as the tenant queries show it.
type tenantItem struct {
	TenantID   string `json:"tenantId"`
	ResellerID string `json:"resellerId"`
	Name       string `json:"name"`
}

// customerItem is a customer as the customers view shows it.
type customerItem map[string]any

func (customerItem) JSONSchema() map[string]any { return customersView.schema() }

// tenantsIn is licensesIn for customers: a tenant is where its reseller and its id are.
func tenantsIn(sc domain.Scope) func(*domain.Tenant) bool {
	return func(t *domain.Tenant) bool { return sc.Reaches(domain.Place{ResellerID: t.ResellerID, TenantID: t.ID}) }
}

// getTenant answers tenant.get; a tenant outside the scope is as one that does not exist.
func getTenant(l *Ledger, caller domain.Credential, q tenantGetQuery) (customerItem, error) {
	level, err := customersView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if !domain.ValidID(q.TenantID) {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "tenantId", "must be 1-%d letters, digits, '_' or '-'", domain.MaxIDLength)
	}
	t, ok := l.licenses.Tenant(q.TenantID, tenantsIn(caller.Scope))
	if !ok {
		return nil, domain.Errorf(domain.CodeTenantNotFound, "tenantId", "tenant %q does not exist", q.TenantID)
	}
	return customersView.render(tenantItem{t.ID, t.ResellerID, t.Name}, level, l.label)
}

// listTenants answers tenant.list, one page at a time, in id order.
func listTenants(l *Ledger, caller domain.Credential, q tenantListQuery) (*page[customerItem], error) {
	level, err := customersView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	if q.ResellerID != "" && !domain.ValidID(q.ResellerID) {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "resellerId", "must be 1-%d letters, digits, '_' or '-'", domain.MaxIDLength)
	}
	inScope, name := tenantsIn(caller.Scope), strings.ToLower(q.Name)
	tenants, next := l.licenses.Tenants(q.After, q.Limit, func(t *domain.Tenant) bool {
		return inScope(t) && (q.ResellerID == "" || t.ResellerID == q.ResellerID) &&
			(name == "" || strings.Contains(strings.ToLower(t.Name), name))
	})
	items := make([]tenantItem, len(tenants))
	for i, t := range tenants {
		items[i] = tenantItem{t.ID, t.ResellerID, t.Name}
	}
	rendered, err := renderAll[customerItem](customersView, items, level, l.label)
	return &page[customerItem]{rendered, next}, err
}
