package handlers

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/projections"
)

// dashboard.show answers the built-in dashboard's page (httpapi serves it): quota usage per
// reseller, active users over the last hour, the recent events and the lags, within the caller's
// scope.

// dashboardQuery asks for the dashboard's data.
type dashboardQuery struct {
	// Recent is how many recent events to list (default 20, at most 100).
	Recent int `json:"recent,omitempty"`
	ReadOptions
}

// Dashboard is dashboard.show's result: what the dashboard page draws, limited to the caller's
// scope.
type Dashboard struct {
	Summary projections.Summaries `json:"summary"`
	// ActiveUsers is the caller's active users sampled every 10 seconds over the last hour,
	// oldest first, and now. Samples are kept per reseller, so a scope narrower than a reseller
	// has none.
	ActiveUsers []ActivitySample `json:"activeUsers"`
	// HotSpots are the ten licenses nearest their quota: a license at its quota stands out even
	// inside a reseller far from its own.
	HotSpots []projections.LicenseSummary `json:"hotSpots"`
	Recent   []RecentEvent                `json:"recent"`
	// Durable is the log's last durable sequence; the lags are how far behind it JetStream and
	// the read models are, in events.
	Durable        uint64 `json:"durable"`
	PublicationLag uint64 `json:"publicationLag"`
	ProjectionLag  uint64 `json:"projectionLag"`
}

// ActivitySample is the number of active users at one time.
type ActivitySample struct {
	At     time.Time `json:"at"`
	Active int       `json:"active"`
}

// RecentEvent is one event in the dashboard's list: what happened where, never its data.
type RecentEvent struct {
	Sequence   uint64    `json:"sequence"`
	Time       time.Time `json:"time"`
	Type       string    `json:"type"`
	Subject    string    `json:"subject"`
	ResellerID string    `json:"resellerId,omitempty"`
	TenantID   string    `json:"tenantId,omitempty"`
}

// recentScan bounds how far back the dashboard looks for events the caller may see.
const recentScan = 2000

func showDashboard(l *Ledger, caller domain.Credential, q dashboardQuery) (Dashboard, error) {
	// The dashboard shows licenses and their usage: it needs both.
	for _, v := range []view{licensesView, usageView} {
		if _, err := v.level(caller, "basic"); err != nil {
			return Dashboard{}, err
		}
	}
	n := q.Recent
	switch {
	case n == 0:
		n = 20
	case n < 0 || n > 100:
		return Dashboard{}, domain.Errorf(domain.CodeInvalidArgument, "recent", "must be 1-100")
	}
	d := Dashboard{Summary: l.licenses.Summarize(l.now(), licensesIn(caller.Scope)), Durable: l.store.Durable(),
		HotSpots: l.licenses.HotSpots(l.now(), licensesIn(caller.Scope), 10)}
	if p := l.published; p != nil && p() < d.Durable {
		d.PublicationLag = d.Durable - p()
	}
	if pos := l.runner.Position(); pos < d.Durable {
		d.ProjectionLag = d.Durable - pos
	}
	if d.ActiveUsers = l.activity.history(caller.Scope); d.ActiveUsers != nil {
		// The chart ends now, not at the last sample.
		d.ActiveUsers = append(d.ActiveUsers, ActivitySample{At: l.now(), Active: d.Summary.Total.Active})
	} else {
		d.ActiveUsers = []ActivitySample{}
	}
	recent, err := l.recentEvents(caller, n)
	if err != nil {
		return Dashboard{}, err
	}
	d.Recent = recent
	return d, nil
}

// recentEvents returns the last n events the caller may see among the last recentScan, newest
// first. An event is within a scope when its reseller and tenant are (a product, license or user
// scope sees none: the envelope does not say which product or license an event is about).
// Credential and admin events name a credential or a login: they are shown only to roles that
// may list credentials, or manage admins, respectively.
func (l *Ledger) recentEvents(caller domain.Credential, n int) ([]RecentEvent, error) {
	sc := caller.Scope
	hidden := func(typ string) bool {
		return strings.HasPrefix(typ, "credential.") && !domain.Allowed(caller.Role, "credential.list") ||
			strings.HasPrefix(typ, "admin.") && !domain.Allowed(caller.Role, "admin.update")
	}
	end := l.runner.Position() // what the read models reflect, like the rest of the answer
	if end == 0 {
		return []RecentEvent{}, nil
	}
	from := uint64(1)
	if end > recentScan {
		from = end - recentScan + 1
	}
	var seen []RecentEvent
	_, err := l.store.Read(from, int(end-from+1), func(e eventstore.Event) error {
		// Recent events come from the store's in-memory tail with their attributes; only those
		// read back from Pebble (after a restart) are decoded.
		t, err := e.Attributes()
		if err != nil {
			return err
		}
		if sc.Reaches(domain.Place{System: t.Reseller == "", ResellerID: t.Reseller, TenantID: t.Tenant}) && !hidden(t.Type) {
			seen = append(seen, RecentEvent{Sequence: e.Sequence, Time: t.Time, Type: t.Type, Subject: t.Subject,
				ResellerID: t.Reseller, TenantID: t.Tenant})
		}
		return nil
	})
	out := make([]RecentEvent, 0, n)
	for i := len(seen) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, seen[i])
	}
	return out, err
}

// activitySamples is how many samples of active users are kept per reseller: an hour of them.
const activitySamples = 360

// activity keeps recent samples of active users per reseller.
type activity struct {
	mu      sync.Mutex
	at      []time.Time        // sample times, oldest first, at most activitySamples
	samples map[string][]int32 // reseller -> active users at each sample time
}

// sample records every reseller's active users at t.
func (a *activity) sample(t time.Time, byReseller map[string]*projections.Summary, resellers []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.samples == nil {
		a.samples = map[string][]int32{}
	}
	drop := len(a.at) == activitySamples
	if drop {
		a.at = a.at[1:]
	}
	a.at = append(a.at, t)
	for _, id := range resellers {
		s := a.samples[id]
		if drop && len(s) > 0 {
			s = s[1:]
		}
		for len(s) < len(a.at)-1 { // a reseller created since the first sample
			s = append(s, 0)
		}
		active := 0
		if sum := byReseller[id]; sum != nil {
			active = sum.Active
		}
		a.samples[id] = append(s, int32(active))
	}
}

// history sums the samples of the resellers sc reaches whole; nil for a narrower scope.
func (a *activity) history(sc domain.Scope) []ActivitySample {
	if !sc.IsSystem() && (sc.ResellerID == "" || sc.TenantID != "" || sc.ProductID != "" || sc.LicenseID != "" || sc.UserID != "" || sc.EndUserName != "") {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ActivitySample, 0, len(a.at)+1)
	for i, t := range a.at {
		out = append(out, ActivitySample{At: t})
		for id, s := range a.samples {
			if sc.IsSystem() || id == sc.ResellerID {
				out[i].Active += int(s[i])
			}
		}
	}
	return out
}

// SampleActivity records every reseller's active users now and then every interval until ctx
// ends, for the dashboard's chart.
func (l *Ledger) SampleActivity(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		now := l.now()
		sums := l.licenses.Summarize(now, func(*domain.License) bool { return true })
		l.activity.sample(now, sums.ByReseller, l.licenses.ResellerIDs())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
