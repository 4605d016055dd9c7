package handlers

import (
	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/wire"
)

// The queries about API users and roles: credential.get, credential.list and role.show.

// credentialsIn is licensesIn for credentials, which sit where their own scope points.
func credentialsIn(sc domain.Scope) func(domain.Scope) bool {
	return func(c domain.Scope) bool { return sc.Reaches(domain.CredentialPlace(c)) }
}

// credentialDetail is a credential as credential.get shows it: the read model's view and where
// it talks, which the read model does not know (the deployment's addresses).
type credentialDetail struct {
	projections.CredentialView
	Endpoint *wire.Endpoint `json:"endpoint,omitempty"`
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
	_, feed := domain.FeedReseller(v.Role, v.Scope)
	e := wire.EndpointOf(v.Scope.ResellerID, feed, l.partition, l.advertised.NATS, l.advertised.HTTP)
	return credentialsView.render(credentialDetail{v, &e}, level, l.label)
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
	items, err := renderAll[credentialItem](credentialsView, views, level, l.label)
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
