package projections

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/licledger/licledger/domain"
)

// Summary totals a set of licenses: how many there are in each status, and their seats, active
// users, seats consumed this quota period, seats remaining and activated machines. It is what a
// dashboard shows for a reseller, a tenant, a product or a plan, and what each role sees of its
// scope.
type Summary struct {
	Licenses  int            `json:"licenses"`
	ByStatus  map[string]int `json:"byStatus"` // active, suspended, expired, terminated
	Seats     int            `json:"seats"`
	Active    int            `json:"active"`
	Consumed  int            `json:"consumed"`
	Remaining int            `json:"remaining"`
	Machines  int            `json:"machines"`
}

// Statuses are the license statuses a Summary counts, in display order.
var Statuses = []string{domain.StatusActive, domain.StatusSuspended, domain.StatusExpired, domain.StatusTerminated}

// NewSummary returns the totals of no licenses, with every status counted at zero.
func NewSummary() *Summary {
	s := &Summary{ByStatus: make(map[string]int, len(Statuses))}
	for _, st := range Statuses {
		s.ByStatus[st] = 0
	}
	return s
}

// add counts one license with its quota and status.
func (s *Summary) add(u domain.Usage, status string, machines int) {
	s.Licenses++
	s.ByStatus[status]++
	s.Seats += u.Seats
	s.Active += u.Active
	s.Consumed += u.Consumed
	s.Remaining += u.Remaining
	s.Machines += machines
}

// Summaries are the totals of the licenses a caller may see, at one time, overall and broken
// down by reseller, tenant, product and plan.
type Summaries struct {
	At         time.Time           `json:"at"`
	Total      Summary             `json:"total"`
	ByReseller map[string]*Summary `json:"byReseller"`
	ByTenant   map[string]*Summary `json:"byTenant"`
	ByProduct  map[string]*Summary `json:"byProduct"`
	ByPlan     map[string]*Summary `json:"byPlan"`
}

// Add adds another set of licenses' totals to these (a ledger split into partitions sums
// theirs). The time stays these totals'.
func (s *Summaries) Add(o Summaries) {
	s.Total.plus(o.Total)
	for _, pair := range []struct{ to, from map[string]*Summary }{
		{s.ByReseller, o.ByReseller}, {s.ByTenant, o.ByTenant}, {s.ByProduct, o.ByProduct}, {s.ByPlan, o.ByPlan}} {
		for key, from := range pair.from {
			to := pair.to[key]
			if to == nil {
				to = NewSummary()
				pair.to[key] = to
			}
			to.plus(*from)
		}
	}
}

// plus adds o's counts to s's.
func (s *Summary) plus(o Summary) {
	s.Licenses += o.Licenses
	for status, n := range o.ByStatus {
		s.ByStatus[status] += n
	}
	s.Seats += o.Seats
	s.Active += o.Active
	s.Consumed += o.Consumed
	s.Remaining += o.Remaining
	s.Machines += o.Machines
}

// Summarize totals the licenses visible accepts at time t. Quota periods roll with time, so the
// totals are computed when asked, from the licenses themselves: one pass over them.
func (p *Licenses) Summarize(t time.Time, visible func(*domain.License) bool) Summaries {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := Summaries{At: t, Total: *NewSummary(), ByReseller: map[string]*Summary{}, ByTenant: map[string]*Summary{},
		ByProduct: map[string]*Summary{}, ByPlan: map[string]*Summary{}}
	group := func(m map[string]*Summary, key string) *Summary {
		s := m[key]
		if s == nil {
			s = NewSummary()
			m[key] = s
		}
		return s
	}
	for _, l := range p.state.Licenses {
		if !visible(l) {
			continue
		}
		u, status, machines := l.UsageAt(t), l.StatusAt(t), len(l.Activations)
		for _, s := range []*Summary{&out.Total, group(out.ByReseller, l.ResellerID), group(out.ByTenant, l.TenantID),
			group(out.ByProduct, l.ProductID), group(out.ByPlan, l.PlanID)} {
			s.add(u, status, machines)
		}
	}
	return out
}

// ResellerIDs lists every reseller, licensed or not.
func (p *Licenses) ResellerIDs() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Collect(maps.Keys(p.state.Resellers))
}

// ScopeIDs lists every reseller, tenant and license.
func (p *Licenses) ScopeIDs() (resellers, tenants, licenses []string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Collect(maps.Keys(p.state.Resellers)), slices.Collect(maps.Keys(p.state.Tenants)), slices.Collect(maps.Keys(p.state.Licenses))
}

// LicenseSummary is one license on a dashboard: whose it is, its status, quota and machines.
type LicenseSummary struct {
	LicenseID  string       `json:"licenseId"`
	ResellerID string       `json:"resellerId"`
	TenantID   string       `json:"tenantId"`
	ProductID  string       `json:"productId"`
	PlanID     string       `json:"planId"`
	Status     string       `json:"status"`
	Quota      domain.Usage `json:"quota"`
	Machines   int          `json:"machines"`
	// Entitlements are the license's: its plan's and its own.
	Entitlements []string `json:"entitlements"`
}

// LicenseSummary returns one license's summary at time t (false if there is no such license).
func (p *Licenses) LicenseSummary(id string, t time.Time) (LicenseSummary, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	l, ok := p.state.Licenses[id]
	if !ok {
		return LicenseSummary{}, false
	}
	return LicenseSummary{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, ProductID: l.ProductID,
		PlanID: l.PlanID, Status: l.StatusAt(t), Quota: l.UsageAt(t), Machines: len(l.Activations),
		Entitlements: append([]string{}, p.state.Entitled(l)...)}, true
}

// Tenants lists, in id order, at most limit tenants with ids after after that keep says to, and
// the cursor of the next page ("" at the end).
func (p *Licenses) Tenants(after string, limit int, keep func(*domain.Tenant) bool) ([]domain.Tenant, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return pageOf(p.state.Tenants, after, limit, keep)
}

// pageOf copies, in key order, at most limit values of m with keys after after that keep says
// to, and returns the cursor of the next page (the last key given, or "" at the end).
func pageOf[T any](m map[string]*T, after string, limit int, keep func(*T) bool) ([]T, string) {
	out := []T{}
	var last string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k <= after || !keep(m[k]) {
			continue
		}
		if len(out) == limit {
			return out, last
		}
		out, last = append(out, *m[k]), k
	}
	return out, ""
}

// Tenant returns one tenant (false if there is none, or keep says no).
func (p *Licenses) Tenant(id string, keep func(*domain.Tenant) bool) (domain.Tenant, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	t, ok := p.state.Tenants[id]
	if !ok || !keep(t) {
		return domain.Tenant{}, false
	}
	return *t, true
}

// Admins lists, in username order, at most limit admins with usernames after after that keep
// says to, and the cursor of the next page ("" at the end). Their personal data is as the log
// holds it (sealed); the caller opens it.
func (p *Licenses) Admins(after string, limit int, keep func(*domain.Admin) bool) ([]domain.Admin, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return pageOf(p.state.Admins, after, limit, keep)
}

// Admin returns one admin (false if there is none, or keep says no).
func (p *Licenses) Admin(username string, keep func(*domain.Admin) bool) (domain.Admin, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	a, ok := p.state.Admins[username]
	if !ok || !keep(a) {
		return domain.Admin{}, false
	}
	return *a, true
}

// NameOf is the name of a reseller, tenant, product or plan (kind as the handlers' views say it),
// "" if there is none; for an admin, its first and last name as the log holds them (sealed).
func (p *Licenses) NameOf(kind, id string) (name string, sealedFirst, sealedLast string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch kind {
	case "reseller":
		if r := p.state.Resellers[id]; r != nil {
			return r.Name, "", ""
		}
	case "tenant":
		if t := p.state.Tenants[id]; t != nil {
			return t.Name, "", ""
		}
	case "product":
		if pr := p.state.Products[id]; pr != nil {
			return pr.Name, "", ""
		}
	case "plan":
		if pl := p.state.Plans[id]; pl != nil {
			return pl.Name, "", ""
		}
	case "admin":
		if a := p.state.Admins[id]; a != nil {
			return "", a.FirstName, a.LastName
		}
	}
	return "", "", ""
}

// Products lists the catalogue's products, in id order, a page at a time (see Tenants).
func (p *Licenses) Products(after string, limit int, keep func(*domain.Product) bool) ([]domain.Product, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return pageOf(p.state.Products, after, limit, keep)
}

// Plans lists the catalogue's plans, in id order, a page at a time (see Tenants).
func (p *Licenses) Plans(after string, limit int, keep func(*domain.Plan) bool) ([]domain.Plan, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	plans, next := pageOf(p.state.Plans, after, limit, keep)
	for i := range plans {
		plans[i].Entitlements = slices.Clone(plans[i].Entitlements) // the model's changes later
	}
	return plans, next
}

// Webhooks lists webhooks in id order, a page at a time (see Tenants).
func (p *Licenses) Webhooks(after string, limit int, keep func(*domain.Webhook) bool) ([]domain.Webhook, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	hooks, next := pageOf(p.state.Webhooks, after, limit, keep)
	for i := range hooks {
		hooks[i].EventTypes = slices.Clone(hooks[i].EventTypes) // the model's changes later
	}
	return hooks, next
}

// Webhook returns one webhook (false if there is none, or keep says no).
func (p *Licenses) Webhook(id string, keep func(*domain.Webhook) bool) (domain.Webhook, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	w, ok := p.state.Webhooks[id]
	if !ok || !keep(w) {
		return domain.Webhook{}, false
	}
	c := *w
	c.EventTypes = slices.Clone(w.EventTypes)
	return c, true
}

// HotSpots are the n licenses visible accepts that are nearest their quota at time t: the
// highest share of their seats consumed this period first (then the fewest remaining, then by
// id). A license at its quota stands out whatever its reseller's total is.
func (p *Licenses) HotSpots(t time.Time, visible func(*domain.License) bool, n int) []LicenseSummary {
	p.mu.RLock()
	defer p.mu.RUnlock()
	type hot struct {
		l *domain.License
		u domain.Usage
	}
	order := func(a, b hot) int {
		// a.Consumed/a.Seats > b.Consumed/b.Seats, without division.
		if c := cmp.Compare(b.u.Consumed*a.u.Seats, a.u.Consumed*b.u.Seats); c != 0 {
			return c
		}
		if c := cmp.Compare(a.u.Remaining, b.u.Remaining); c != 0 {
			return c
		}
		return strings.Compare(a.l.ID, b.l.ID)
	}
	// The n best so far, in order: the dashboard asks every second, so no list of every license
	// is built and sorted.
	if n <= 0 {
		return []LicenseSummary{}
	}
	top := make([]hot, 0, n+1)
	for _, l := range p.state.Licenses {
		if !visible(l) {
			continue
		}
		h := hot{l, l.UsageAt(t)}
		if h.u.Seats == 0 || h.u.Consumed == 0 || len(top) == n && order(h, top[n-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, h, order)
		top = slices.Insert(top, i, h)[:min(len(top)+1, n)]
	}
	out := []LicenseSummary{}
	for _, h := range top {
		l := h.l
		out = append(out, LicenseSummary{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, ProductID: l.ProductID,
			PlanID: l.PlanID, Status: l.StatusAt(t), Quota: h.u, Machines: len(l.Activations),
			Entitlements: append([]string{}, p.state.Entitled(l)...)})
	}
	return out
}
