package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/licledger/licledger/domain"
)

// queries answer from the read models. Each returns the reply's "result".
var queries = map[string]func(l *Ledger, caller domain.Credential, body []byte) (any, error){
	"license.validate":  validateLicense,
	"seat.authenticate": authenticateSeat,
	"license.details":   licenseDetails,
	"role.show":         showRole,
	"credential.get":    getCredential,
	"credential.list":   listCredentials,
	"usage.quota": func(l *Ledger, caller domain.Credential, body []byte) (any, error) {
		var q struct {
			LicenseID  string `json:"licenseId,omitempty"`
			ResellerID string `json:"resellerId,omitempty"`
		}
		if err := decodeStrict(body, &q); err != nil {
			return nil, err
		}
		if _, err := licensesView.level(caller, "basic"); err != nil {
			return nil, err
		}
		now := l.now()
		switch {
		case q.LicenseID != "" && q.ResellerID != "":
			return nil, domain.Errorf(domain.CodeInvalidArgument, "licenseId", "give licenseId or resellerId, not both")
		case q.LicenseID != "":
			u, ok := l.licenses.LicenseQuota(q.LicenseID, now, licensesIn(caller.Scope))
			if !ok {
				return nil, domain.Errorf(domain.CodeLicenseNotFound, "licenseId", "license %q does not exist", q.LicenseID)
			}
			return u, nil
		case q.ResellerID != "":
			u, ok := l.licenses.ResellerQuota(q.ResellerID, now)
			if !ok || !caller.Scope.Reaches(domain.Place{ResellerID: q.ResellerID}) {
				return nil, domain.Errorf(domain.CodeResellerNotFound, "resellerId", "reseller %q does not exist", q.ResellerID)
			}
			return u, nil
		}
		return nil, domain.Errorf(domain.CodeInvalidArgument, "licenseId", "give licenseId or resellerId")
	},
}

// licensesIn returns the filter of the licenses a scope reaches. Queries treat a license outside
// the caller's scope as if it did not exist: a single read answers its not-found code, a list
// leaves it out.
func licensesIn(sc domain.Scope) func(*domain.License) bool {
	return func(l *domain.License) bool { return sc.Reaches(domain.LicensePlace(l)) }
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

// credentialsIn is licensesIn for credentials, which sit where their own scope points.
func credentialsIn(sc domain.Scope) func(domain.Scope) bool {
	return func(c domain.Scope) bool { return sc.Reaches(domain.CredentialPlace(c)) }
}

// anonymous lists the queries open to callers without a token (Keygen's validate-key).
var anonymous = map[string]bool{"license.validate": true}

// MaxPageSize bounds a list query's page; DefaultPageSize is used when none is asked for.
const (
	MaxPageSize     = 1000
	DefaultPageSize = 100
)

// PageQuery is the paging every list query takes: at most Limit items after the cursor After
// (the last id of the previous page). Exported because decode errors name embedded structs by
// type, as with CommandMeta.
type PageQuery struct {
	Limit int    `json:"limit,omitempty"`
	After string `json:"after,omitempty"`
}

// check fills the default page size and refuses one out of range.
func (p *PageQuery) check() error {
	if p.Limit == 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit < 1 || p.Limit > MaxPageSize {
		return domain.Errorf(domain.CodeInvalidArgument, "limit", "must be between 1 and %d", MaxPageSize)
	}
	return nil
}

// page is a list query's result: one page of items and the cursor of the next ("" at the end).
type page struct {
	Items any    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// authenticateSeat answers seat.authenticate (DBSync authenticateUser).
func authenticateSeat(l *Ledger, caller domain.Credential, body []byte) (any, error) {
	var q struct {
		LicenseID      string `json:"licenseId,omitempty"`
		EndUserCompany string `json:"endUserCompany"`
		EndUserName    string `json:"endUserName"`
		Format         string `json:"format,omitempty"`
	}
	if err := decodeStrict(body, &q); err != nil {
		return nil, err
	}
	if q.EndUserCompany == "" {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "endUserCompany", "is required")
	}
	if q.EndUserName == "" {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "endUserName", "is required")
	}
	level, err := licensesView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	a := l.licenses.Authenticate(q.EndUserCompany, q.EndUserName, q.LicenseID, l.now(), licensesIn(caller.Scope))
	out := map[string]any{"authenticated": a.Authenticated, "code": a.Code, "detail": a.Detail}
	if a.License != nil {
		if out["license"], err = licensesView.render(a.License, level); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// licenseDetails answers license.details (DBSync licenseDetails), one page at a time.
func licenseDetails(l *Ledger, caller domain.Credential, body []byte) (any, error) {
	var q struct {
		EndUserCompany string `json:"endUserCompany,omitempty"`
		EndUserName    string `json:"endUserName,omitempty"`
		Format         string `json:"format,omitempty"`
		licenseFilter
		PageQuery
	}
	if err := decodeStrict(body, &q); err != nil {
		return nil, err
	}
	if err := q.licenseFilter.check(); err != nil {
		return nil, err
	}
	level, err := licensesView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if q.EndUserName != "" && q.EndUserCompany == "" {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "endUserCompany", "is required with endUserName")
	}
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	now := l.now()
	inScope := licensesIn(caller.Scope)
	details, next := l.licenses.Details(q.EndUserCompany, q.EndUserName, q.After, q.Limit, now, func(lic *domain.License) bool {
		return inScope(lic) && q.licenseFilter.matches(lic, now)
	})
	items, err := renderAll(licensesView, details, level)
	if err != nil {
		return nil, err
	}
	return page{items, next}, nil
}

// getCredential answers credential.get.
func getCredential(l *Ledger, caller domain.Credential, body []byte) (any, error) {
	var q struct {
		CredentialID string `json:"credentialId"`
		Format       string `json:"format,omitempty"`
	}
	if err := decodeStrict(body, &q); err != nil {
		return nil, err
	}
	level, err := credentialsView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	v, ok := l.creds.Get(q.CredentialID)
	if !ok || !caller.Scope.Reaches(domain.CredentialPlace(v.Scope)) {
		return nil, domain.Errorf(domain.CodeCredentialNotFound, "credentialId", "credential %q does not exist", q.CredentialID)
	}
	return credentialsView.render(v, level)
}

// listCredentials answers credential.list (the ERP's API user list), one page at a time.
func listCredentials(l *Ledger, caller domain.Credential, body []byte) (any, error) {
	var q struct {
		ResellerID string `json:"resellerId,omitempty"`
		TenantID   string `json:"tenantId,omitempty"`
		Format     string `json:"format,omitempty"`
		PageQuery
	}
	if err := decodeStrict(body, &q); err != nil {
		return nil, err
	}
	level, err := credentialsView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	views, next := l.creds.List(q.ResellerID, q.TenantID, q.After, q.Limit, credentialsIn(caller.Scope))
	items, err := renderAll(credentialsView, views, level)
	if err != nil {
		return nil, err
	}
	return page{items, next}, nil
}

// showRole answers role.show: the operations a role may perform (Odin's "View" button).
func showRole(_ *Ledger, _ domain.Credential, body []byte) (any, error) {
	var q struct {
		Role string `json:"role"`
	}
	if err := decodeStrict(body, &q); err != nil {
		return nil, err
	}
	ops, ok := domain.RoleOperations(q.Role)
	if !ok {
		return nil, &domain.Error{Code: CodeRoleNotFound, Field: "role", Message: fmt.Sprintf("there is no role %q", q.Role)}
	}
	return struct {
		Role       string   `json:"role"`
		Operations []string `json:"operations"`
	}{q.Role, ops}, nil
}

// validateLicense answers license.validate: {valid, code, detail} for a key, open to anonymous
// callers.
func validateLicense(l *Ledger, _ domain.Credential, body []byte) (any, error) {
	var q struct {
		Key         string `json:"key"`
		Fingerprint string `json:"fingerprint,omitempty"`
	}
	if err := decodeStrict(body, &q); err != nil {
		return nil, err
	}
	if q.Key == "" || len(q.Key) > 256 {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "key", "is required (at most 256 characters)")
	}
	if len(q.Fingerprint) > 256 {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "fingerprint", "must be at most 256 characters")
	}
	return l.licenses.Validate(l.secrets.LicenseKeyHash(q.Key), q.Fingerprint, l.now()), nil
}

// QueryNames lists the queries, for the edges to register.
func QueryNames() []string { return sortedKeys(queries) }

// Query authenticates and answers one query. It first waits (bounded by ReadTimeout) until the
// read models reflect every command acknowledged before it arrived, so a client always reads
// its own writes.
func (l *Ledger) Query(ctx context.Context, r Request) ([]byte, *Failure) {
	q, ok := queries[r.Name]
	if !ok {
		return nil, failure(domain.Errorf(domain.CodeInvalidArgument, "", "unknown query %q", r.Name))
	}
	// An anonymous caller's zero scope would read as "system": the matrix keeps it to the
	// queries that look at no scope (license.validate).
	caller := domain.Credential{Role: "anonymous"}
	if r.Token != "" || !anonymous[r.Name] {
		cred, f := l.Authenticate(r.Token, r.Source)
		if f != nil {
			return nil, f
		}
		caller = cred
	}
	if f := authorize(caller.Role, r.Name); f != nil {
		return nil, f
	}
	wctx, cancel := context.WithTimeout(ctx, l.ReadTimeout)
	defer cancel()
	if err := l.runner.WaitFor(wctx, l.store.Durable()); err != nil {
		return nil, failure(err)
	}
	res, err := q(l, caller, r.Body)
	if err != nil {
		return nil, failure(err)
	}
	b, err := json.Marshal(struct {
		Result any `json:"result"`
	}{res})
	if err != nil {
		return nil, failure(err)
	}
	return b, nil
}
