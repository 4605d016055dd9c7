package handlers

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
)

// dashboard.history answers the dashboard's charts: the totals of the licenses in the caller's
// scope (active users, consumed seats, licenses by status, …) at regular times over the last
// hour, day, month or year, each as the log stood then (projections.TrendPoint), and now.

// historyRange is one span a chart covers: points every step, back from now.
type historyRange struct {
	step   time.Duration
	points int
}

// historyRanges are the spans dashboard.history takes.
var historyRanges = map[string]historyRange{
	"hour":  {time.Minute, 60},
	"day":   {15 * time.Minute, 96},
	"month": {12 * time.Hour, 60},
	"year":  {7 * 24 * time.Hour, 52},
}

// historySettle is how old the newest point of a chart is at least. A point is kept (trendCache)
// only once every event timed before it is durable (Store.Settled); the margin covers a decision
// that read the clock just before its point's time but appends after the check.
const historySettle = 2 * time.Second

// rangeName is a key of historyRanges.
type rangeName string

func (rangeName) JSONSchema() map[string]any {
	return map[string]any{"type": "string", "enum": []any{"hour", "day", "month", "year"}}
}

// historyQuery asks for one chart's points.
type historyQuery struct {
	// Range is the span: hour (a point a minute), day (every 15 minutes), month (every 12 hours,
	// 30 days) or year (every week, 52 weeks). Default hour.
	Range rangeName `json:"range,omitempty"`
	// ResellerID, TenantID and LicenseID narrow the licenses totalled to those matching every
	// one given, within the caller's scope.
	ResellerID string `json:"resellerId,omitempty"`
	TenantID   string `json:"tenantId,omitempty"`
	LicenseID  string `json:"licenseId,omitempty"`
	ReadOptions
}

// History is dashboard.history's result.
type History struct {
	Range rangeName `json:"range"`
	// StepSeconds is the time between two points but the last, which is now.
	StepSeconds int64 `json:"stepSeconds"`
	// Points are the totals, oldest first: at every step's boundary (UTC) over the range, each
	// as the log stood then (a time before the log began totals nothing), then now.
	Points []projections.TrendPoint `json:"points"`
}

func dashboardHistory(ctx context.Context, l *Ledger, caller domain.Credential, q historyQuery) (History, error) {
	if err := mayReadDashboard(caller); err != nil {
		return History{}, err
	}
	if q.Range == "" {
		q.Range = "hour"
	}
	span, ok := historyRanges[string(q.Range)]
	if !ok {
		return History{}, domain.Errorf(domain.CodeInvalidArgument, "range", "is %q; want hour, day, month or year", q.Range)
	}
	inScope := licensesIn(caller.Scope)
	visible := func(x *domain.License) bool {
		return inScope(x) && (q.ResellerID == "" || x.ResellerID == q.ResellerID) &&
			(q.TenantID == "" || x.TenantID == q.TenantID) && (q.LicenseID == "" || x.ID == q.LicenseID)
	}
	reseller, err := q.within(l, caller.Scope)
	if err != nil {
		return History{}, err
	}
	now := l.now()
	key := fmt.Sprintf("%+v|%s|%s|%s|%s", caller.Scope, q.Range, q.ResellerID, q.TenantID, q.LicenseID)
	last := now.Add(-historySettle).Truncate(span.step).UTC()
	// The points a chart asked before still holds are kept; only the steps begun since are
	// computed (all of them the first time).
	points := make([]projections.TrendPoint, span.points)
	kept := l.trends.get(key)
	missing, final := len(points), len(points)
	for i := len(points) - 1; i >= 0; i-- {
		at := last.Add(-time.Duration(span.points-1-i) * span.step)
		if p, ok := kept[at]; ok {
			points[i] = p
			continue
		}
		// Whether the point may be kept is asked before its sequence is read: an event timed
		// before it whose commit is still in flight would be missing from it, for as long as the
		// point is kept.
		if !l.settled(at) {
			final = i
		}
		points[i].At = at
		if points[i].Sequence, err = l.store.SequenceAt(at); err != nil {
			return History{}, err
		}
		missing = i
	}
	if todo := points[missing:]; len(todo) > 0 {
		// A license's or a small reseller's chart reads their streams; a chart of many licenses
		// replays the log, as an asOf query does (history.go).
		licenses := []string{q.LicenseID}
		if q.LicenseID == "" && reseller != "" {
			licenses = l.licenses.ResellerLicenses(reseller)
		}
		if reseller == "" || float64(len(licenses)) > l.asOfReplayShare*float64(l.licenses.LicenseCount()) {
			err = l.trendReplayed(ctx, caller.ID, todo, visible)
		} else {
			err = projections.TrendOfStreams(l.store, todo, []string{reseller}, licenses, visible)
		}
		if err != nil {
			return History{}, err
		}
		l.trends.put(key, points[:final]) // those before the first unsettled one
	}
	nowPoint := projections.TrendPoint{At: now.UTC(), Sequence: l.runner.Position(), Totals: l.licenses.Total(now, visible)}
	return History{Range: q.Range, StepSeconds: int64(span.step / time.Second), Points: append(points, nowPoint)}, nil
}

// within checks the ids q names and returns the reseller its chart lies within ("" for a
// system-wide chart). A license or reseller outside sc is not found, as for every query.
func (q historyQuery) within(l *Ledger, sc domain.Scope) (reseller string, err error) {
	if err := checkOptionalIDs([2]string{"resellerId", q.ResellerID}, [2]string{"tenantId", q.TenantID}, [2]string{"licenseId", q.LicenseID}); err != nil {
		return "", err
	}
	if q.LicenseID != "" {
		s, ok := l.licenses.LicenseSummary(q.LicenseID, l.now())
		if _, visible := l.licenses.LicenseQuota(q.LicenseID, l.now(), licensesIn(sc)); !ok || !visible {
			return "", domain.Errorf(domain.CodeLicenseNotFound, "licenseId", "license %q does not exist", q.LicenseID)
		}
		return s.ResellerID, nil
	}
	// A scope within a reseller charts (part of) it; another reseller is not found. A tenant's
	// or a license's scope charts what it reaches of its reseller (visible says what).
	reseller = cmp.Or(q.ResellerID, sc.ResellerID)
	if reseller != "" && (!l.licenses.ResellerExists(reseller) || sc.ResellerID != "" && sc.ResellerID != reseller) {
		return "", domain.Errorf(domain.CodeResellerNotFound, "resellerId", "reseller %q does not exist", reseller)
	}
	return reseller, nil
}

// trendReplayed computes points by replaying the log, taking its turn at the replay gate like an
// asOf replay (replaygate.go).
func (l *Ledger) trendReplayed(ctx context.Context, caller string, points []projections.TrendPoint, visible func(*domain.License) bool) error {
	release, refused := l.replays.enter(ctx, caller, "range")
	if refused != nil {
		return refused
	}
	defer release()
	return projections.TrendReplayed(ctx, l.store, points, visible)
}

// trendCache keeps the charts' points, which stay true once their times have settled: a chart
// asked again every few seconds computes only the points of the steps begun since.
type trendCache struct {
	mu      sync.Mutex
	entries map[string][]projections.TrendPoint
}

// trendCacheSize bounds the charts kept; when full, the cache starts again empty.
const trendCacheSize = 256

// get returns the points kept for key, by time.
func (c *trendCache) get(key string) map[time.Time]projections.TrendPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[time.Time]projections.TrendPoint, len(c.entries[key]))
	for _, p := range c.entries[key] {
		out[p.At] = p
	}
	return out
}

func (c *trendCache) put(key string, points []projections.TrendPoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= trendCacheSize {
		c.entries = map[string][]projections.TrendPoint{}
	}
	c.entries[key] = append([]projections.TrendPoint(nil), points...)
}
