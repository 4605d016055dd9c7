package handlers

import (
	"context"
	"encoding/json"
	"reflect"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore/natsstream"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/schemas"
)

// querySpec is one query endpoint: its answer, and the Go types of its body and of its reply's
// result, from which its schemas are generated (Endpoints). run returns the result and the
// sequence it reflects; arrived is the durable mark when the query arrived, which the read
// models must reflect before it is answered (read-your-writes).
type querySpec struct {
	run     func(ctx context.Context, l *Ledger, caller domain.Credential, name string, body []byte, arrived uint64) (any, uint64, error)
	request reflect.Type
	result  reflect.Type
}

// readable is what every query body embeds: ReadOptions.
type readable interface{ readOptions() ReadOptions }

// ReadOptions are the fields every query takes. Exported because decode errors name embedded
// structs by type, as with CommandMeta.
type ReadOptions struct {
	// MinSequence makes the query wait (at most the ledger's read timeout) until the read models
	// reflect this sequence: pass a command reply's sequence to read that command's effect from
	// any ledger process. Without it a query still reflects every command acknowledged before it
	// arrived.
	MinSequence uint64 `json:"minSequence,omitempty"`
}

func (o ReadOptions) readOptions() ReadOptions { return o }

// query is the spec of a query whose body decodes strictly into Q and whose result is an R,
// answered from the live read models.
func query[Q readable, R any](answer func(l *Ledger, caller domain.Credential, q Q) (R, error)) querySpec {
	return querySpec{
		run: func(ctx context.Context, l *Ledger, caller domain.Credential, name string, body []byte, arrived uint64) (any, uint64, error) {
			q, err := decodeQuery[Q](ctx, l, name, body, arrived)
			if err != nil {
				return nil, 0, err
			}
			position := l.runner.Position() // read first: the answer reflects at least this
			r, err := answer(l, caller, q)
			return r, position, err
		},
		request: reflect.TypeFor[Q](),
		result:  reflect.TypeFor[R](),
	}
}

// decodeQuery decodes a query's body and waits until the read models reflect what it must see:
// every command acknowledged before it arrived, and its minSequence.
func decodeQuery[Q readable](ctx context.Context, l *Ledger, name string, body []byte, arrived uint64) (Q, error) {
	var q Q
	if err := decodeRequest(schemas.Query, name, body, &q); err != nil {
		return q, err
	}
	if asked := q.readOptions().MinSequence; asked > arrived {
		return q, l.waitReflected(ctx, asked, "minSequence")
	}
	return q, l.waitReflected(ctx, arrived, "")
}

// historical is a query that may be answered as of an earlier point of the log (asOf).
type historical interface {
	readable
	asOf() string
	// history names the streams the answer needs when it is rebuilt from the log.
	history(l *Ledger) (resellers, licenses []string)
}

// AsOf is the field of the queries that can answer from the past. Exported like ReadOptions.
type AsOf struct {
	// AsOf is an RFC 3339 instant or a log sequence number: the answer is the one the ledger
	// would have given then, rebuilt from the log.
	AsOf string `json:"asOf,omitempty"`
}

func (a AsOf) asOf() string { return a.AsOf }

// readView is what a historical query answers from: the live read models now, or a model rebuilt
// as of an earlier point.
type readView struct {
	licenses *projections.Licenses
	now      time.Time // the time the answer is computed for (quota periods, expiry)
	sequence uint64    // the last sequence the view reflects
}

// queryAt is query for a historical query: answer receives the view to read.
func queryAt[Q historical, R any](answer func(l *Ledger, caller domain.Credential, q Q, v readView) (R, error)) querySpec {
	return querySpec{
		run: func(ctx context.Context, l *Ledger, caller domain.Credential, name string, body []byte, arrived uint64) (any, uint64, error) {
			q, err := decodeQuery[Q](ctx, l, name, body, arrived)
			if err != nil {
				return nil, 0, err
			}
			v := readView{licenses: l.licenses, now: l.now(), sequence: l.runner.Position()}
			if q.asOf() != "" {
				if v, err = l.viewAsOf(ctx, caller.ID, q.asOf(), q); err != nil {
					return nil, 0, err
				}
			}
			r, err := answer(l, caller, q, v)
			return r, v.sequence, err
		},
		request: reflect.TypeFor[Q](),
		result:  reflect.TypeFor[R](),
	}
}

// queries answer from the read models. Each returns the reply's "result".
var queries = map[string]querySpec{
	"license.validate":  query(validateLicense),
	"seat.authenticate": query(authenticateSeat),
	"license.details":   query(licenseDetails),
	"role.show":         query(showRole),
	"credential.get":    query(getCredential),
	"credential.list":   query(listCredentials),
	"usage.quota":       queryAt(usageQuota),
	"usage.summary":     queryAt(usageSummary),
	"dashboard.show":    query(showDashboard),
	"audit.checkpoint":  query(auditCheckpoint),
	"audit.inclusion":   query(auditInclusion),
	"audit.consistency": query(auditConsistency),
	"audit.events":      query(auditEvents),
}

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
	if _, err := licensesView.level(caller, "basic"); err != nil {
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
	if _, err := licensesView.level(caller, "basic"); err != nil {
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

// licenseFilter narrows a license list; each field set must match.
type licenseFilter struct {
	ResellerID string `json:"resellerId,omitempty"`
	TenantID   string `json:"tenantId,omitempty"`
	ProductID  string `json:"productId,omitempty"`
	PlanID     string `json:"planId,omitempty"`
	Status     string `json:"status,omitempty"` // as of now: active, suspended, expired, terminated
}

func (f licenseFilter) check() error {
	for _, id := range []struct{ field, id string }{{"resellerId", f.ResellerID}, {"tenantId", f.TenantID}, {"productId", f.ProductID}, {"planId", f.PlanID}} {
		if id.id != "" && !domain.ValidID(id.id) {
			return domain.Errorf(domain.CodeInvalidArgument, id.field, "must be 1-%d letters, digits, '_' or '-', starting with a letter or digit", domain.MaxIDLength)
		}
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
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

type seatAuthenticateQuery struct {
	LicenseID      string `json:"licenseId,omitempty"`
	EndUserCompany string `json:"endUserCompany"`
	EndUserName    string `json:"endUserName"`
	Format         string `json:"format,omitempty"`
	ReadOptions
}

// seatAuthentication is seat.authenticate's result; the license is shown at the query's level.
type seatAuthentication struct {
	Authenticated bool        `json:"authenticated"`
	Code          string      `json:"code"` // VALID, NO_SEAT, or the license's validation code
	Detail        string      `json:"detail"`
	License       licenseItem `json:"license,omitempty"`
}

// authenticateSeat answers seat.authenticate (DBSync authenticateUser).
func authenticateSeat(l *Ledger, caller domain.Credential, q seatAuthenticateQuery) (seatAuthentication, error) {
	if q.EndUserCompany == "" {
		return seatAuthentication{}, domain.Errorf(domain.CodeInvalidArgument, "endUserCompany", "is required")
	}
	if q.EndUserName == "" {
		return seatAuthentication{}, domain.Errorf(domain.CodeInvalidArgument, "endUserName", "is required")
	}
	level, err := licensesView.level(caller, q.Format)
	if err != nil {
		return seatAuthentication{}, err
	}
	a := l.licenses.Authenticate(q.EndUserCompany, q.EndUserName, q.LicenseID, l.now(), licensesIn(caller.Scope))
	out := seatAuthentication{Authenticated: a.Authenticated, Code: a.Code, Detail: a.Detail}
	if a.License != nil {
		if out.License, err = licensesView.render(a.License, level); err != nil {
			return seatAuthentication{}, err
		}
	}
	return out, nil
}

type licenseDetailsQuery struct {
	EndUserCompany string `json:"endUserCompany,omitempty"`
	EndUserName    string `json:"endUserName,omitempty"`
	Format         string `json:"format,omitempty"`
	licenseFilter
	PageQuery
	ReadOptions
}

// licenseDetails answers license.details (DBSync licenseDetails), one page at a time.
func licenseDetails(l *Ledger, caller domain.Credential, q licenseDetailsQuery) (*page[licenseItem], error) {
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
	items, err := renderAll[licenseItem](licensesView, details, level)
	if err != nil {
		return nil, err
	}
	return &page[licenseItem]{items, next}, nil
}

type credentialGetQuery struct {
	CredentialID string `json:"credentialId"`
	Format       string `json:"format,omitempty"`
	ReadOptions
}

// getCredential answers credential.get.
func getCredential(l *Ledger, caller domain.Credential, q credentialGetQuery) (credentialItem, error) {
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

type credentialListQuery struct {
	Format string `json:"format,omitempty"`
	credentialFilter
	PageQuery
	ReadOptions
}

// credentialFilter narrows a credential list; each field set must match.
type credentialFilter struct {
	ResellerID string `json:"resellerId,omitempty"`
	TenantID   string `json:"tenantId,omitempty"`
	Role       string `json:"role,omitempty"`
	Status     string `json:"status,omitempty"` // enabled, disabled or revoked
}

func (f credentialFilter) check() error {
	if f.Role != "" {
		if _, ok := domain.RoleOperations(f.Role); !ok {
			return noSuchRole(f.Role)
		}
	}
	switch f.Status {
	case "", "enabled", "disabled", "revoked":
		return nil
	}
	return domain.Errorf(domain.CodeInvalidArgument, "status", "is %q; want enabled, disabled or revoked", f.Status)
}

func (f credentialFilter) matches(c *domain.Credential) bool {
	status := "disabled"
	switch {
	case c.Revoked:
		status = "revoked"
	case c.Enabled:
		status = "enabled"
	}
	return (f.ResellerID == "" || c.Scope.ResellerID == f.ResellerID) && (f.TenantID == "" || c.Scope.TenantID == f.TenantID) &&
		(f.Role == "" || c.Role == f.Role) && (f.Status == "" || status == f.Status)
}

// listCredentials answers credential.list (the ERP's API user list), one page at a time.
func listCredentials(l *Ledger, caller domain.Credential, q credentialListQuery) (*page[credentialItem], error) {
	level, err := credentialsView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	if err := q.credentialFilter.check(); err != nil {
		return nil, err
	}
	inScope := credentialsIn(caller.Scope)
	views, next := l.creds.List(q.After, q.Limit, func(c *domain.Credential) bool {
		return inScope(c.Scope) && q.credentialFilter.matches(c)
	})
	items, err := renderAll[credentialItem](credentialsView, views, level)
	if err != nil {
		return nil, err
	}
	return &page[credentialItem]{items, next}, nil
}

type roleQuery struct {
	Role string `json:"role"`
	ReadOptions
}

// roleOperations is role.show's result.
type roleOperations struct {
	Role       string   `json:"role"`
	Operations []string `json:"operations"`
}

// noSuchRole refuses a role name the permission matrix does not know.
func noSuchRole(role string) error {
	return domain.Errorf(CodeRoleNotFound, "role", "there is no role %q", role)
}

// showRole answers role.show: the operations a role may perform (Odin's "View" button).
func showRole(_ *Ledger, _ domain.Credential, q roleQuery) (roleOperations, error) {
	ops, ok := domain.RoleOperations(q.Role)
	if !ok {
		return roleOperations{}, noSuchRole(q.Role)
	}
	return roleOperations{q.Role, ops}, nil
}

type validateQuery struct {
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint,omitempty"`
	ReadOptions
}

// validateLicense answers license.validate: {valid, code, detail} for a key, open to anonymous
// callers.
func validateLicense(l *Ledger, _ domain.Credential, q validateQuery) (projections.Validation, error) {
	if q.Key == "" || len(q.Key) > 256 {
		return projections.Validation{}, domain.Errorf(domain.CodeInvalidArgument, "key", "is required (at most 256 characters)")
	}
	if len(q.Fingerprint) > 256 {
		return projections.Validation{}, domain.Errorf(domain.CodeInvalidArgument, "fingerprint", "must be at most 256 characters")
	}
	return l.licenses.Validate(l.secrets.LicenseKeyHash(q.Key), q.Fingerprint, l.now()), nil
}

// queryReply is a query's successful reply.
type queryReply struct {
	Result any `json:"result"`
	// Sequence is the last sequence of the log the answer reflects (at least).
	Sequence uint64 `json:"sequence"`
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
	if r.Reseller != natsstream.SystemToken { // "_": this partition's part of a system-wide answer
		if f := l.checkPartition(r.Reseller); f != nil {
			return nil, f
		}
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
	// The same deadline whatever carried the query: over NATS nothing else would end a query
	// whose asker went away.
	ctx, cancel := context.WithTimeout(ctx, l.QueryTimeout)
	defer cancel()
	res, seq, err := q.run(ctx, l, caller, r.Name, r.Body, l.store.Durable())
	if err != nil {
		return nil, failure(err)
	}
	if l.Partition.Partitioned() && r.Reseller == "" {
		// What partition 0 answers for the whole of a partitioned ledger (its sequence is this
		// partition's): a system admin's totals, and a key it does not know.
		switch local := res.(type) {
		case projections.Summaries:
			if caller.Scope.IsSystem() {
				res, err = l.summaryAcrossPartitions(ctx, r, local)
			}
		case projections.Validation:
			if local.Code == domain.ValidationNotFound {
				res, err = l.validateAcrossPartitions(ctx, r, local)
			}
		}
		if err != nil {
			return nil, failure(err)
		}
	}
	b, err := json.Marshal(queryReply{res, seq})
	if err != nil {
		return nil, failure(err)
	}
	return b, nil
}
