package handlers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/projections"
)

// TestHistoryChartsWhatWasTrueThen: over a day, seats are registered and unregistered on two
// licenses of one reseller and one of another, and one license is suspended; at every 15-minute boundary the
// totals usage.summary answers are recorded. dashboard.history's day chart then has exactly
// those totals at those times, per license, per reseller and for the whole ledger, whether
// computed from the licenses' streams or by replaying the log, asked again (from its cache) or
// by a ledger that never computed it (as after a restart). Its last point is now.
func TestHistoryChartsWhatWasTrueThen(t *testing.T) {
	const streams, replay = 2, 0 // AsOfReplayShare: never replay the log, always replay it
	for _, share := range []float64{streams, replay} {
		t.Run(fmt.Sprint("share ", share), func(t *testing.T) { historyChartsWhatWasTrueThen(t, share) })
	}
}

func historyChartsWhatWasTrueThen(t *testing.T, replayShare float64) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	c := newClockedLedger(t, start)
	c.asOfReplayShare = replayShare
	for _, step := range [][2]string{
		{"product.create", `{"id":"p1","name":"P"}`},
		{"plan.create", `{"id":"small","productId":"p1","name":"Small","tier":1,"seats":60}`},
		{"reseller.create", `{"id":"r1","name":"R1"}`},
		{"tenant.create", `{"resellerId":"r1","id":"t1","name":"T1"}`},
		{"license.create", `{"id":"la","resellerId":"r1","tenantId":"t1","planId":"small"}`},
		{"license.create", `{"id":"lc","resellerId":"r1","tenantId":"t1","planId":"small"}`},
		{"reseller.create", `{"id":"r2","name":"R2"}`},
		{"tenant.create", `{"resellerId":"r2","id":"t2","name":"T2"}`},
		{"license.create", `{"id":"lb","resellerId":"r2","tenantId":"t2","planId":"small"}`},
	} {
		c.must(t, step[0], step[1])
	}
	filters := []string{`"licenseId":"la"`, `"resellerId":"r2"`, ``}
	recorded := map[string]map[time.Time]projections.Summary{}
	record := func() {
		for _, f := range filters {
			if recorded[f] == nil {
				recorded[f] = map[time.Time]projections.Summary{}
			}
			if f == `"licenseId":"la"` { // la is never suspended: active, with its quota
				raw, _ := c.must(t, "usage.quota", "{"+f+"}")
				var u projections.LicenseUsage
				if err := json.Unmarshal(raw, &u); err != nil {
					t.Fatal(err)
				}
				s := projections.NewSummary()
				s.Licenses, s.ByStatus["active"], s.Seats, s.Active, s.Consumed, s.Remaining = 1, 1, u.Seats, u.Active, u.Consumed, u.Remaining
				recorded[f][c.time()] = *s
				continue
			}
			raw, _ := c.must(t, "usage.summary", "{"+f+"}")
			var s projections.Summaries
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			recorded[f][c.time()] = s.Total
		}
	}
	users, held := 0, map[string][]string{}
	for q := range 4 * 24 {
		c.set(start.Add(time.Duration(q) * 15 * time.Minute))
		record() // at the boundary: every event so far is at or before it
		c.advance(time.Minute)
		lic := []string{"la", "lb", "lc"}[q%3]
		switch {
		case q%7 == 6 && len(held[lic]) > 0:
			c.must(t, "seat.unregister", fmt.Sprintf(`{"licenseId":%q,"endUserCompany":"Acme","endUserName":%q}`, lic, held[lic][0]))
			held[lic] = held[lic][1:]
		case q == 40:
			c.must(t, "license.suspend", `{"licenseId":"lb"}`)
		default:
			users++
			if _, _, f := c.do("seat.register", fmt.Sprintf(`{"licenseId":%q,"endUserCompany":"Acme","endUserName":"u%d"}`, lic, users)); f == nil {
				held[lic] = append(held[lic], fmt.Sprint("u", users))
			}
		}
	}
	c.set(start.Add(24 * time.Hour))
	record()
	c.set(start.Add(24*time.Hour + 10*time.Second))
	// The day's chart ends at the last whole 15 minutes at least two seconds old: 24:00 itself.
	for _, f := range filters {
		body := `{"range":"day"` + map[bool]string{true: "", false: "," + f}[f == ""] + "}"
		var answers []History
		for i := range 2 {
			if i == 1 {
				c.trends = trendCache{} // what a restarted ledger starts with
			}
			for range 2 {
				raw, _ := c.must(t, "dashboard.history", body)
				var h History
				if err := json.Unmarshal(raw, &h); err != nil {
					t.Fatal(err)
				}
				answers = append(answers, h)
			}
		}
		h := answers[0]
		for _, other := range answers[1:] {
			if !reflect.DeepEqual(other, h) {
				t.Fatalf("%s: asked again: %+v\nfirst: %+v", body, other, h)
			}
		}
		if h.Range != "day" || h.StepSeconds != 900 || len(h.Points) != 97 {
			t.Fatalf("%s: range %q, step %d s, %d points", body, h.Range, h.StepSeconds, len(h.Points))
		}
		if now := h.Points[96]; !now.At.Equal(c.time()) {
			t.Errorf("%s: the last point is at %s, want now", body, now.At)
		}
		changed := 0
		for i, p := range h.Points[:96] {
			want, ok := recorded[f][p.At]
			if !ok {
				t.Fatalf("%s: point %d at %s, which is no 15-minute boundary of the day", body, i, p.At)
			}
			if !reflect.DeepEqual(p.Totals, want) {
				t.Errorf("%s: at %s: %+v; usage.summary then: %+v", body, p.At.Format("15:04"), p.Totals, want)
			}
			if i > 0 && !reflect.DeepEqual(p.Totals, h.Points[i-1].Totals) {
				changed++
			}
		}
		if changed < 15 {
			t.Errorf("%s: the totals changed at only %d points: the test shows nothing", body, changed)
		}
	}
	// A tenant's admin and a credential scoped to one license chart what they reach, asking for
	// nothing more: here r2's only tenant and license, so r2's chart.
	r2, _ := c.must(t, "dashboard.history", `{"range":"day","resellerId":"r2"}`)
	for _, scope := range []string{`{"resellerId":"r2","tenantId":"t2"}`, `{"resellerId":"r2","tenantId":"t2","licenseId":"lb"}`} {
		role := map[bool]string{true: "client-limited", false: "tenant-admin"}[strings.Contains(scope, "licenseId")]
		issued, _ := c.must(t, "credential.issue", `{"role":"`+role+`","scope":`+scope+`}`)
		var cred struct{ Token string }
		if err := json.Unmarshal(issued, &cred); err != nil || cred.Token == "" {
			t.Fatalf("credential.issue: %s", issued)
		}
		reply, f := c.Query(t.Context(), Request{Name: "dashboard.history", Body: []byte(`{"range":"day"}`), Token: cred.Token})
		if f != nil {
			t.Fatalf("%s %s: %s", role, scope, f.Body())
		}
		var theirs, want struct{ Result History }
		if json.Unmarshal(reply, &theirs) != nil || json.Unmarshal([]byte(`{"result":`+string(r2)+`}`), &want) != nil {
			t.Fatal("undecodable")
		}
		if !reflect.DeepEqual(theirs.Result.Points[:96], want.Result.Points[:96]) {
			t.Errorf("%s %s: its chart differs from r2's:\n%+v\n%+v", role, scope, theirs.Result.Points[90:96], want.Result.Points[90:96])
		}
		if _, f := c.Query(t.Context(), Request{Name: "dashboard.history", Body: []byte(`{"resellerId":"r1"}`), Token: cred.Token}); f == nil || f.Err.Code != "RESELLER_NOT_FOUND" {
			t.Errorf("%s %s asking for r1: %+v", role, scope, f)
		}
	}
	// A quarter of an hour later the chart has moved on by one point, which counts the seat
	// registered meanwhile; the points it kept are those it would compute afresh.
	before, _ := c.must(t, "dashboard.history", `{"range":"day"}`)
	c.set(start.Add(24*time.Hour + 5*time.Minute))
	c.must(t, "seat.register", `{"licenseId":"la","endUserCompany":"Acme","endUserName":"late"}`)
	c.set(start.Add(24*time.Hour + 15*time.Minute + 2*time.Second))
	after, _ := c.must(t, "dashboard.history", `{"range":"day"}`)
	c.trends = trendCache{}
	if fresh, _ := c.must(t, "dashboard.history", `{"range":"day"}`); string(fresh) != string(after) {
		t.Errorf("the chart moved on from its kept points:\n%s\ncomputed afresh:\n%s", after, fresh)
	}
	var b, a History
	if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil {
		t.Fatal("undecodable")
	}
	if !reflect.DeepEqual(a.Points[:95], b.Points[1:96]) || !a.Points[95].At.Equal(start.Add(24*time.Hour+15*time.Minute)) ||
		a.Points[95].Totals.Active != b.Points[95].Totals.Active+1 {
		t.Errorf("15 minutes later the chart did not move on by one point: before %+v\nafter %+v", b.Points[94:], a.Points[94:])
	}
	// A license or reseller outside the scope, or that does not exist, is not found; a range is
	// one of four.
	for body, code := range map[string]string{`{"licenseId":"nope"}`: "LICENSE_NOT_FOUND", `{"resellerId":"nope"}`: "RESELLER_NOT_FOUND",
		`{"range":"week"}`: "INVALID_ARGUMENT", `{"licenseId":"a b"}`: "INVALID_ARGUMENT"} {
		if _, _, f := c.do("dashboard.history", body); f == nil || string(f.Err.Code) != code {
			t.Errorf("%s: %+v, want %s", body, f, code)
		}
	}
}

// TestHistoryKeepsOnlySettledPoints: while an event timed at 01:00 is still being committed (the
// store's Settled says so; eventstore's TestSettledCoversTheCommitInFlight causes it for real),
// a chart answers every point but keeps only those before 01:00, which cannot change any more.
// Once the commit is durable, asking again keeps the rest.
func TestHistoryKeepsOnlySettledPoints(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	c := newClockedLedger(t, start)
	for _, step := range [][2]string{
		{"product.create", `{"id":"p1","name":"P"}`},
		{"plan.create", `{"id":"small","productId":"p1","name":"Small","tier":1,"seats":5}`},
		{"reseller.create", `{"id":"r1","name":"R1"}`},
		{"tenant.create", `{"resellerId":"r1","id":"t1","name":"T1"}`},
		{"license.create", `{"id":"la","resellerId":"r1","tenantId":"t1","planId":"small"}`},
		{"seat.register", `{"licenseId":"la","endUserCompany":"Acme","endUserName":"u1"}`},
	} {
		c.must(t, step[0], step[1])
	}
	inFlight := start.Add(time.Hour)
	c.settled = func(at time.Time) bool { return at.Before(inFlight) }
	c.set(start.Add(2*time.Hour + 10*time.Second))
	kept := func() (before, after int) {
		for _, points := range c.trends.entries {
			for _, p := range points {
				if p.At.Before(inFlight) {
					before++
				} else {
					after++
				}
			}
		}
		return before, after
	}
	first, _ := c.must(t, "dashboard.history", `{"range":"day"}`)
	if before, after := kept(); before == 0 || after != 0 {
		t.Errorf("with a commit of %s in flight the chart kept %d points before it and %d at or after it; want some and none", inFlight.Format("15:04"), before, after)
	}
	c.settled = func(time.Time) bool { return true }
	again, _ := c.must(t, "dashboard.history", `{"range":"day"}`)
	if string(again) != string(first) {
		t.Errorf("the same chart asked again differs:\n%s\nfirst:\n%s", again, first)
	}
	if _, after := kept(); after != 5 { // 01:00, 01:15, 01:30, 01:45, 02:00
		t.Errorf("once everything is durable the chart kept %d points from %s on, want 5", after, inFlight.Format("15:04"))
	}
}
