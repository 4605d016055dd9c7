package handlers

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/schemas"
)

// usage.summary and usage.quota: the totals of the licenses a scope reaches, now or as of an
// earlier point of the log.

// usageSummaryQuery narrows the licenses summed to those matching every field given, within
// the caller's scope (the filter license.details takes).
type usageSummaryQuery struct {
	licenseFilter
	AsOf
	ReadOptions
}

// history names the streams a past summary needs: the reseller's licenses if one is named,
// otherwise every license (a system-wide summary in the past reads every license's stream).
func (q usageSummaryQuery) history(l *Ledger) (resellers, licenses []string) {
	if q.ResellerID != "" {
		return []string{q.ResellerID}, l.licenses.ResellerLicenses(q.ResellerID)
	}
	_, _, licenses = l.licenses.ScopeIDs()
	return nil, licenses
}

// usageSummary answers usage.summary: the totals of the licenses the caller's scope reaches
// (narrowed by the query), overall and by reseller, tenant, product and plan. It is each role's
// view of its scope: a system admin's covers every reseller, a reseller admin's its own
// customers, a tenant admin's its tenant, a product credential's its product.
func usageSummary(_ *Ledger, caller domain.Credential, q usageSummaryQuery, v readView) (projections.Summaries, error) {
	if _, err := usageView.level(caller, "basic"); err != nil {
		return projections.Summaries{}, err
	}
	if err := q.licenseFilter.check(); err != nil {
		return projections.Summaries{}, err
	}
	inScope := licensesIn(caller.Scope)
	return v.licenses.Summarize(v.now, func(l *domain.License) bool { return inScope(l) && q.licenseFilter.matches(l, v.now) }), nil
}

type usageQuotaQuery struct {
	LicenseID  string `json:"licenseId,omitempty"`
	ResellerID string `json:"resellerId,omitempty"`
	AsOf
	ReadOptions
}

func (q usageQuotaQuery) history(l *Ledger) (resellers, licenses []string) {
	if q.ResellerID != "" {
		return []string{q.ResellerID}, l.licenses.ResellerLicenses(q.ResellerID)
	}
	return nil, []string{q.LicenseID}
}

// defaultFromScope implements scopeDefaults: a credential scoped to one license asks for its
// quota without naming it.
func (q *usageQuotaQuery) defaultFromScope(sc domain.Scope) {
	if q.LicenseID == "" && q.ResellerID == "" {
		q.LicenseID = sc.LicenseID
	}
}

// quotaUsage is usage.quota's result: one license's quota (projections.LicenseUsage), or the
// sum over a reseller's (projections.ResellerUsage).
type quotaUsage struct{ usage any }

func (q quotaUsage) MarshalJSON() ([]byte, error) { return json.Marshal(q.usage) }

func (quotaUsage) JSONSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		schemas.Of(reflect.TypeFor[projections.LicenseUsage]()),
		schemas.Of(reflect.TypeFor[projections.ResellerUsage]()),
	}}
}

// usageQuota answers usage.quota for a license or a reseller.
func usageQuota(_ *Ledger, caller domain.Credential, q usageQuotaQuery, v readView) (quotaUsage, error) {
	if _, err := usageView.level(caller, "basic"); err != nil {
		return quotaUsage{}, err
	}
	now := v.now
	switch {
	case q.LicenseID != "" && q.ResellerID != "":
		return quotaUsage{}, domain.Errorf(domain.CodeInvalidArgument, "licenseId", "give licenseId or resellerId, not both")
	case q.LicenseID != "":
		u, ok := v.licenses.LicenseQuota(q.LicenseID, now, licensesIn(caller.Scope))
		if !ok {
			return quotaUsage{}, domain.Errorf(domain.CodeLicenseNotFound, "licenseId", "license %q does not exist", q.LicenseID)
		}
		return quotaUsage{u}, nil
	case q.ResellerID != "":
		u, ok := v.licenses.ResellerQuota(q.ResellerID, now)
		if !ok || !caller.Scope.Reaches(domain.Place{ResellerID: q.ResellerID}) {
			return quotaUsage{}, domain.Errorf(domain.CodeResellerNotFound, "resellerId", "reseller %q does not exist", q.ResellerID)
		}
		return quotaUsage{u}, nil
	}
	return quotaUsage{}, domain.Errorf(domain.CodeInvalidArgument, "licenseId", "give licenseId or resellerId")
}

// licensesIn returns the filter of the licenses a scope reaches. Queries treat a license outside
// the caller's scope as if it did not exist: a single read answers its not-found code, a list
// leaves it out.
func licensesIn(sc domain.Scope) func(*domain.License) bool {
	return func(l *domain.License) bool { return sc.Reaches(domain.LicensePlace(l)) }
}

// checkOptionalIDs refuses the first malformed id of the {field, id} pairs given ("" is not
// given, so it passes).
func checkOptionalIDs(ids ...[2]string) error {
	for _, id := range ids {
		if id[1] != "" && !domain.ValidID(id[1]) {
			return domain.Errorf(domain.CodeInvalidArgument, id[0], "must be 1-%d letters, digits, '_' or '-', starting with a letter or digit", domain.MaxIDLength)
		}
	}
	return nil
}

// licenseFilter narrows a license list; each field set must match.
type licenseFilter struct {
	ResellerID string `json:"resellerId,omitempty"`
	TenantID   string `json:"tenantId,omitempty"`
	ProductID  string `json:"productId,omitempty"`
	PlanID     string `json:"planId,omitempty"`
	Status     string `json:"status,omitempty"` // as of now: active, suspended, expired, terminated
}

func (f licenseFilter) check() error {
	if err := checkOptionalIDs([2]string{"resellerId", f.ResellerID}, [2]string{"tenantId", f.TenantID}, [2]string{"productId", f.ProductID}, [2]string{"planId", f.PlanID}); err != nil {
		return err
	}
	switch f.Status {
	case "", domain.StatusActive, domain.StatusSuspended, domain.StatusExpired, domain.StatusTerminated:
		return nil
	}
	return domain.Errorf(domain.CodeInvalidArgument, "status", "is %q; want active, suspended, expired or terminated", f.Status)
}

func (f licenseFilter) matches(l *domain.License, now time.Time) bool {
	return (f.ResellerID == "" || l.ResellerID == f.ResellerID) && (f.TenantID == "" || l.TenantID == f.TenantID) &&
		(f.ProductID == "" || l.ProductID == f.ProductID) && (f.PlanID == "" || l.PlanID == f.PlanID) &&
		(f.Status == "" || l.StatusAt(now) == f.Status)
}
