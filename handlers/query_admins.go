package handlers

import "github.com/licledger/licledger/domain"

// The admin queries (APIO's "Retrieve Reseller Admins list" and "Retrieve a Reseller Admin"):
// admin.get and admin.list. The seed's authorization rights are the scope rule: a system scope
// sees every admin, a reseller scope its reseller's, a tenant scope its reseller's admins linked
// to its tenant, and a scope naming only an admin that admin.

type adminGetQuery struct {
	Username string `json:"username"`
	Format   string `json:"format,omitempty"`
	ReadOptions
}

type adminListQuery struct {
	ResellerID      string `json:"resellerId,omitempty"`
	TenantID        string `json:"tenantId,omitempty"`
	UserProfileType string `json:"userProfileType,omitempty"`
	Format          string `json:"format,omitempty"`
	PageQuery
	ReadOptions
}

// adminItem is an admin as the admins view shows it.
type adminItem map[string]any

func (adminItem) JSONSchema() map[string]any { return adminsView.schema() }

// adminsIn is licensesIn for admins, which sit where their reseller, tenant and name say.
func adminsIn(sc domain.Scope) func(*domain.Admin) bool {
	return func(a *domain.Admin) bool {
		return sc.Reaches(domain.Place{ResellerID: a.ResellerID, TenantID: a.TenantID, UserID: a.Username})
	}
}

// getAdmin answers admin.get; an admin outside the scope is as one that does not exist.
func getAdmin(l *Ledger, caller domain.Credential, q adminGetQuery) (adminItem, error) {
	level, err := adminsView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if !domain.ValidID(q.Username) {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "username", "must be 1-%d letters, digits, '_' or '-'", domain.MaxIDLength)
	}
	a, ok := l.licenses.Admin(q.Username, adminsIn(caller.Scope))
	if !ok {
		return nil, domain.Errorf(domain.CodeAdminNotFound, "username", "admin %q does not exist", q.Username)
	}
	return adminsView.render(viewAdmin(&a, l.personal), level, l.label)
}

// listAdmins answers admin.list, one page at a time, in username order.
func listAdmins(l *Ledger, caller domain.Credential, q adminListQuery) (*page[adminItem], error) {
	level, err := adminsView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"resellerId", q.ResellerID}, {"tenantId", q.TenantID}} {
		if f.v != "" && !domain.ValidID(f.v) {
			return nil, domain.Errorf(domain.CodeInvalidArgument, f.name, "must be 1-%d letters, digits, '_' or '-'", domain.MaxIDLength)
		}
	}
	if q.UserProfileType != "" && domain.UserLevel(q.UserProfileType) == 0 {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "userProfileType", "is %q; want %s, %s or %s",
			q.UserProfileType, domain.ProfileSystemAdmin, domain.ProfileResellerAdmin, domain.ProfileTenantAdmin)
	}
	inScope := adminsIn(caller.Scope)
	admins, next := l.licenses.Admins(q.After, q.Limit, func(a *domain.Admin) bool {
		return inScope(a) && (q.ResellerID == "" || a.ResellerID == q.ResellerID) && (q.TenantID == "" || a.TenantID == q.TenantID) &&
			(q.UserProfileType == "" || a.ProfileType == q.UserProfileType)
	})
	items := make([]adminView, len(admins))
	for i := range admins {
		items[i] = viewAdmin(&admins[i], l.personal)
	}
	rendered, err := renderAll[adminItem](adminsView, items, level, l.label)
	return &page[adminItem]{rendered, next}, err
}
