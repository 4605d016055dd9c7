package handlers

import (
	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
)

// The queries about licenses and their seats: seat.authenticate, license.details and
// license.validate, and the paging every list query takes.

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
		if out.License, err = licensesView.render(a.License, level, l.label); err != nil {
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
	items, err := renderAll[licenseItem](licensesView, details, level, l.label)
	if err != nil {
		return nil, err
	}
	return &page[licenseItem]{items, next}, nil
}

type validateQuery struct {
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Entitlements the application needs: a license that lacks any is not valid
	// (ENTITLEMENTS_MISSING, naming them).
	Entitlements []string `json:"entitlements,omitempty"`
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
	if len(q.Entitlements) > domain.MaxEntitlementsPerCommand {
		return projections.Validation{}, domain.Errorf(domain.CodeInvalidArgument, "entitlements", "name at most %d", domain.MaxEntitlementsPerCommand)
	}
	now := l.now()
	v := l.licenses.Validate(l.secrets.LicenseKeyHash(q.Key), q.Fingerprint, now, q.Entitlements)
	if v.Valid && q.Fingerprint != "" {
		// A floating license's machine is valid only while it sends heartbeats (Keygen's codes).
		if window, started, floating := l.licenses.Floating(v.License.ID, q.Fingerprint, nil); floating {
			switch {
			case started.IsZero():
				v.Valid, v.Code, v.Detail = false, domain.ValidationHeartbeatNotStarted, "the machine has sent no heartbeat yet"
			case l.dead(machineKey{v.License.ID, q.Fingerprint}, window, started, now):
				v.Valid, v.Code, v.Detail = false, domain.ValidationHeartbeatDead, "the machine's heartbeat window passed; it is about to be deactivated"
			}
		}
	}
	return v, nil
}
