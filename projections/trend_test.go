package projections

import (
	"reflect"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/internal/loggen"
)

// TestTrendsAreTheTotalsOfThePast: a trend's totals at each point, computed from the licenses'
// streams (starting from their snapshots) or by one replay of the log (starting from a derived
// snapshot), are those of the whole read model replayed from the log's start up to that point,
// evaluated at that point's time: quota periods roll and licenses expire between points.
func TestTrendsAreTheTotalsOfThePast(t *testing.T) {
	store := generatedLog(t, loggen.Spec{Events: 30_000, Resellers: 3, LicensesPerTenant: 1, Seed: 7})
	live := NewLicenses()
	live.SnapshotEvents = 200 // license snapshots inside the range, for the streams to start from
	r := NewRunner(store, live, NewCredentials())
	r.FlushEvents, r.SnapshotEvery = 1000, 5000
	if err := r.Restore(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CatchUp(); err != nil {
		t.Fatal(err)
	}
	reseller := live.ResellerIDs()[0]
	visible := func(l *domain.License) bool { return l.ResellerID == reseller }
	// A month before the log starts, then every 30 days across its two years.
	var points []TrendPoint
	for at := loggen.Start.AddDate(0, -1, 0); at.Before(loggen.Start.Add(loggen.Span + 48*time.Hour)); at = at.AddDate(0, 0, 30) {
		seq, err := store.SequenceAt(at)
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, TrendPoint{At: at, Sequence: seq})
	}
	want := make([]Summary, len(points))
	varied := map[int]bool{}
	for i, pt := range points {
		fromStart := NewLicenses()
		if _, err := NewRunner(store, fromStart).CatchUpTo(pt.Sequence); err != nil {
			t.Fatal(err)
		}
		want[i] = fromStart.Total(pt.At, visible)
		varied[want[i].Consumed] = true
	}
	if want[0].Licenses != 0 || len(varied) < 5 {
		t.Fatalf("the reference totals do not vary enough to test anything: %+v", want)
	}
	streams := append([]TrendPoint(nil), points...)
	if err := TrendOfStreams(store, streams, []string{reseller}, live.ResellerLicenses(reseller), visible); err != nil {
		t.Fatal(err)
	}
	replayed := append([]TrendPoint(nil), points...)
	if err := TrendReplayed(t.Context(), store, replayed[len(replayed)/2:], visible); err != nil {
		t.Fatal(err)
	}
	if err := TrendReplayed(t.Context(), store, replayed[:len(replayed)/2], visible); err != nil {
		t.Fatal(err)
	}
	for i := range points {
		if !reflect.DeepEqual(streams[i].Totals, want[i]) {
			t.Errorf("at %s (sequence %d), from the streams: %+v; want %+v", points[i].At, points[i].Sequence, streams[i].Totals, want[i])
		}
		if !reflect.DeepEqual(replayed[i].Totals, want[i]) {
			t.Errorf("at %s (sequence %d), replayed: %+v; want %+v", points[i].At, points[i].Sequence, replayed[i].Totals, want[i])
		}
	}
}
