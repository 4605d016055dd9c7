package projections

import (
	"slices"
	"sort"
	"time"

	"github.com/licledger/licledger/domain"
)

// DBSync's partner queries: authenticateUser and licenseDetails.

// SeatHolder is one registered end user as the queries show them.
type SeatHolder struct {
	EndUserCompany string `json:"endUserCompany"`
	EndUserName    string `json:"endUserName"`
	Active         bool   `json:"active"`
}

// LicenseDetail is one license with its quota and (some of) its users.
type LicenseDetail struct {
	LicenseID  string       `json:"licenseId"`
	ResellerID string       `json:"resellerId"`
	TenantID   string       `json:"tenantId"`
	ProductID  string       `json:"productId"`
	PlanID     string       `json:"planId"`
	Status     string       `json:"status"`
	ExpiresAt  *time.Time   `json:"expiresAt,omitempty"`
	Protected  bool         `json:"protected"`
	Quota      domain.Usage `json:"quota"`
	// Entitlements are the license's: its plan's and its own.
	Entitlements []string      `json:"entitlements"`
	Users        []SeatHolder  `json:"users"`
	Machines     []MachineView `json:"machines"`
	Notes        []NoteView    `json:"notes"`
}

// MachineView is an activated machine in a license's details.
type MachineView struct {
	Fingerprint string    `json:"fingerprint"`
	Name        string    `json:"name,omitempty"`
	ActivatedAt time.Time `json:"activatedAt"`
}

// NoteView is a note in a license's details.
type NoteView struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Authentication answers seat.authenticate (DBSync authenticateUser).
type Authentication struct {
	Authenticated bool           `json:"authenticated"`
	Code          string         `json:"code"` // VALID, NO_SEAT, or the license's validation code
	Detail        string         `json:"detail"`
	License       *LicenseDetail `json:"license,omitempty"`
}

// noteCompany indexes the licenses an end-user company ever had users on. Called with the lock
// held.
//
// The index is by company, not by user: a company has a handful of licenses but may have
// thousands of users, and a per-user index would cost a map entry per seat (the bulk of the
// model) where this one costs a map entry per company. A user is then looked up in each of their
// company's licenses.
//
// licenseID is the license's own id string, not the event's copy, so the index keeps no string
// of its own per entry.
func (p *Licenses) noteCompany(company, licenseID string) {
	if ids := p.byCompany[company]; !slices.Contains(ids, licenseID) {
		p.byCompany[company] = append(ids, licenseID)
	}
}

// userLicenses returns the licenses a user ever registered on, in id order.
func (p *Licenses) userLicenses(company, name string) []string {
	var out []string
	for _, id := range p.byCompany[company] {
		if _, ok := p.state.Licenses[id].Users.Get(company, name); ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (p *Licenses) detail(l *domain.License, t time.Time, keep func(company, name string) bool) LicenseDetail {
	d := LicenseDetail{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, ProductID: l.ProductID, PlanID: l.PlanID,
		Status: l.StatusAt(t), Protected: l.Protected, Quota: l.UsageAt(t), Users: []SeatHolder{},
		Entitlements: append([]string{}, p.state.Entitled(l)...)}
	if !l.ExpiresAt.IsZero() {
		exp := l.ExpiresAt
		d.ExpiresAt = &exp
	}
	for u, s := range l.Users.All() {
		if company, name := u.Company(), u.Name(); keep(company, name) {
			d.Users = append(d.Users, SeatHolder{EndUserCompany: company, EndUserName: name, Active: s.Active})
		}
	}
	sort.Slice(d.Users, func(i, j int) bool {
		a, b := d.Users[i], d.Users[j]
		return a.EndUserCompany < b.EndUserCompany || (a.EndUserCompany == b.EndUserCompany && a.EndUserName < b.EndUserName)
	})
	d.Machines = make([]MachineView, 0, len(l.Activations))
	for _, m := range l.Activations {
		d.Machines = append(d.Machines, MachineView{Fingerprint: m.Fingerprint, Name: m.Name, ActivatedAt: m.ActivatedAt})
	}
	sort.Slice(d.Machines, func(i, j int) bool { return d.Machines[i].Fingerprint < d.Machines[j].Fingerprint })
	d.Notes = make([]NoteView, 0, len(l.Notes))
	for _, n := range l.Notes {
		d.Notes = append(d.Notes, NoteView{Text: n.Text, At: n.At})
	}
	return d
}

// Authenticate answers whether the user holds a seat on a license that may be used at time t.
// With licenseID empty, every license the user is registered on is considered, and a valid one
// wins.
// Licenses that visible refuses (outside the caller's scope) are treated as if they did not exist.
func (p *Licenses) Authenticate(company, name, licenseID string, t time.Time, visible func(*domain.License) bool) Authentication {
	p.mu.RLock()
	defer p.mu.RUnlock()
	candidates := p.userLicenses(company, name)
	if licenseID != "" {
		candidates = []string{licenseID}
	}
	best := Authentication{Code: "NO_SEAT", Detail: "the user holds no seat"}
	for _, id := range candidates {
		l, ok := p.state.Licenses[id]
		if !ok || !visible(l) {
			continue
		}
		if !l.Users.Active(company, name) {
			continue
		}
		code, detail := l.ValidateAt(t, "")
		d := p.detail(l, t, func(c, n string) bool { return c == company && n == name })
		a := Authentication{Authenticated: code == domain.ValidationValid, Code: code, Detail: detail, License: &d}
		if a.Authenticated {
			return a
		}
		best = a // a seat on a license that cannot be used: say why
	}
	return best
}

// Details lists licenses with their users (DBSync licenseDetails): all of them, or only those
// with users of company (and named name, if given). Licenses come in id order; after is the last
// id of the previous page. Only licenses visible accepts are listed (the caller's scope).
func (p *Licenses) Details(company, name, after string, limit int, t time.Time, visible func(*domain.License) bool) (items []LicenseDetail, next string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var ids []string
	if company != "" && name != "" {
		ids = p.userLicenses(company, name)
	} else {
		for id := range p.state.Licenses {
			ids = append(ids, id)
		}
		sort.Strings(ids)
	}
	keep := func(c, n string) bool {
		return (company == "" || c == company) && (name == "" || n == name)
	}
	items = []LicenseDetail{}
	for _, id := range ids {
		if id <= after || !visible(p.state.Licenses[id]) {
			continue
		}
		d := p.detail(p.state.Licenses[id], t, keep)
		if (company != "" || name != "") && len(d.Users) == 0 {
			continue
		}
		if len(items) == limit {
			return items, items[len(items)-1].LicenseID
		}
		items = append(items, d)
	}
	return items, ""
}
