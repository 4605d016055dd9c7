package handlers

import (
	"strings"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/projections"
)

// dashboard.show answers the built-in dashboard's page (httpapi serves it): the totals, quota
// usage per reseller, the licenses nearest their quota, the recent events and the lags, within
// the caller's scope. The page's charts come from dashboard.history (dashboard_history.go).

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

// mayReadDashboard refuses a caller whose views do not include licenses and usage: the dashboard
// and its charts show both.
func mayReadDashboard(caller domain.Credential) error {
	for _, v := range []view{licensesView, usageView} {
		if _, err := v.level(caller, "basic"); err != nil {
			return err
		}
	}
	return nil
}

func showDashboard(l *Ledger, caller domain.Credential, q dashboardQuery) (Dashboard, error) {
	if err := mayReadDashboard(caller); err != nil {
		return Dashboard{}, err
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
