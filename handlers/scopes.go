package handlers

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
)

// The read side the edges export (the views bucket, the usage gauges): which scopes events
// touched, and the usage of every reseller, tenant and license, read-only.

// ScopeWatch is a projection that notes which resellers, tenants and licenses events touched, for
// an export that rewrites only those. It notes nothing until Start.
type ScopeWatch struct {
	on                           atomic.Bool
	mu                           sync.Mutex
	resellers, tenants, licenses map[string]struct{}
}

// Scopes is the ledger's ScopeWatch.
func (l *Ledger) Scopes() *ScopeWatch { return &l.scopes }

// Apply implements projections.Projection.
func (w *ScopeWatch) Apply(m projections.Meta, e domain.Event) {
	if !w.on.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if m.Reseller != "" {
		w.resellers[m.Reseller] = struct{}{}
	}
	if m.Tenant != "" {
		w.tenants[m.Tenant] = struct{}{}
	}
	switch e := e.(type) {
	case domain.SeatRegistered: // most events: no Stream() string to build
		w.licenses[e.LicenseID] = struct{}{}
	case domain.SeatUnregistered:
		w.licenses[e.LicenseID] = struct{}{}
	default:
		if strings.HasPrefix(e.Stream(), "license/") {
			w.licenses[e.AggregateID()] = struct{}{}
		}
	}
}

// ApplySeat implements projections.SeatProjection: Apply for a seat event (a catch-up's).
func (w *ScopeWatch) ApplySeat(m projections.Meta, f *projections.SeatFact) {
	if w.on.Load() { // Apply notes the owners from m and the license from the event
		w.Apply(m, domain.SeatRegistered{LicenseID: f.LicenseID})
	}
}

// Start turns noting on and clears what was noted.
func (w *ScopeWatch) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.resellers, w.tenants, w.licenses = map[string]struct{}{}, map[string]struct{}{}, map[string]struct{}{}
	w.on.Store(true)
}

// Take returns what was noted since the last Take, and clears it.
func (w *ScopeWatch) Take() (resellers, tenants, licenses []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	resellers, tenants, licenses = slices.Collect(maps.Keys(w.resellers)), slices.Collect(maps.Keys(w.tenants)), slices.Collect(maps.Keys(w.licenses))
	clear(w.resellers)
	clear(w.tenants)
	clear(w.licenses)
	return resellers, tenants, licenses
}

// Usage reads the licenses read model for an export, at the ledger's clock now. It sees every
// reseller: the edges that use it (the views bucket, /metrics) are readable only by the ledger's
// operators.
type Usage struct {
	l   *Ledger
	now time.Time
}

// Usage is a reading of the read models now.
func (l *Ledger) Usage() Usage { return Usage{l: l, now: l.now()} }

// Summaries are the totals of every license, overall and by reseller, tenant, product and plan.
func (u Usage) Summaries() projections.Summaries {
	return u.l.licenses.Summarize(u.now, func(*domain.License) bool { return true })
}

// License is one license's summary (false if there is no such license).
func (u Usage) License(id string) (projections.LicenseSummary, bool) {
	return u.l.licenses.LicenseSummary(id, u.now)
}

// TenantReseller is the reseller a tenant belongs to (false if there is no such tenant).
func (u Usage) TenantReseller(id string) (string, bool) {
	t, ok := u.l.licenses.Tenant(id, func(*domain.Tenant) bool { return true })
	return t.ResellerID, ok
}

// ScopeIDs lists every reseller, tenant and license.
func (u Usage) ScopeIDs() (resellers, tenants, licenses []string) { return u.l.licenses.ScopeIDs() }

// ResellerIDs lists every reseller.
func (u Usage) ResellerIDs() []string { return u.l.licenses.ResellerIDs() }
