package projections

import (
	"context"
	"math"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// A trend is the totals of a set of licenses at a series of times, each as the log stood then:
// the dashboard's charts of active users, consumed seats and licenses by status. Nothing of it
// is kept in memory between asks or sampled by a clock, so a trend survives restarts and covers
// times the ledger was down; quota periods and expiries are evaluated at each point's own time.
// As with asOf (LicensesAt, LicensesReplayed), there are two ways to compute one, and the caller
// picks by how many licenses it covers.

// TrendPoint is one time of a trend: the time, the log's last sequence at or before it, and the
// totals of the licenses as they stood then.
type TrendPoint struct {
	At       time.Time `json:"at"`
	Sequence uint64    `json:"sequence"`
	Totals   Summary   `json:"totals"`
}

// TrendOfStreams fills in the totals of points (in time order, their sequences set) from the
// given resellers' and licenses' streams: each license starts from its last snapshot at or
// before the first point and walks its stream once, through every point. It costs a few
// thousand events per license whatever the log's length, for a license's or a small reseller's
// chart.
func TrendOfStreams(store *eventstore.Store, points []TrendPoint, resellers, licenses []string, visible func(*domain.License) bool) error {
	if len(points) == 0 {
		return nil
	}
	for i := range points {
		points[i].Totals = *NewSummary()
	}
	last := points[len(points)-1].Sequence
	p := NewLicenses()
	for _, id := range resellers {
		if err := p.applyStream(store, domain.ResellerStream(id), 0, last, nil); err != nil {
			return err
		}
	}
	for _, id := range licenses {
		from, err := p.loadSnapshot(store, id, points[0].Sequence)
		if err != nil {
			return err
		}
		next := 0 // the first point not summed yet
		// sumBefore adds the license, as it stands, to every point before sequence seq.
		sumBefore := func(seq uint64) {
			for ; next < len(points) && points[next].Sequence < seq; next++ {
				if l := p.state.Licenses[id]; l != nil && visible(l) {
					t := points[next].At
					points[next].Totals.add(l.UsageAt(t), l.StatusAt(t), len(l.Activations))
				}
			}
		}
		if err := p.applyStream(store, domain.LicenseStream(id), from, last, sumBefore); err != nil {
			return err
		}
		sumBefore(math.MaxUint64)
	}
	return nil
}

// TrendReplayed fills in the totals of points (in time order, their sequences set) by replaying
// the log: from the newest snapshot of the stored read models at or before the first point, at a
// catch-up's speed, stopping at each point to total the licenses visible accepts. It costs the
// log's events from that snapshot on whatever the number of licenses, for a chart of many. It
// gives up with ctx's error once ctx ends.
func TrendReplayed(ctx context.Context, store *eventstore.Store, points []TrendPoint, visible func(*domain.License) bool) error {
	if len(points) == 0 {
		return nil
	}
	p, r, err := licensesFromSnapshot(store, points[0].Sequence)
	if err != nil {
		return err
	}
	for i := range points {
		if _, err := r.catchUpTo(ctx, points[i].Sequence); err != nil {
			return err
		}
		points[i].Totals = p.Total(points[i].At, visible)
	}
	return nil
}

// Total is Summarize's overall totals alone.
func (p *Licenses) Total(t time.Time, visible func(*domain.License) bool) Summary {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := *NewSummary()
	for _, l := range p.state.Licenses {
		if visible(l) {
			s.add(l.UsageAt(t), l.StatusAt(t), len(l.Activations))
		}
	}
	return s
}
