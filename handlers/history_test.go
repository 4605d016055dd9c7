package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licledger/licledger/eventstore"
)

// clockedLedger is a real ledger whose store and queries read one settable clock.
type clockedLedger struct {
	*testLedger
	now atomic.Pointer[time.Time]
}

func newClockedLedger(t *testing.T, start time.Time) *clockedLedger {
	t.Helper()
	c := &clockedLedger{}
	c.set(start)
	c.testLedger = newTestLedgerWith(t, eventstore.Options{Clock: c.time})
	c.Ledger.now = c.time
	return c
}

func (c *clockedLedger) time() time.Time         { return *c.now.Load() }
func (c *clockedLedger) set(t time.Time)         { c.now.Store(&t) }
func (c *clockedLedger) advance(d time.Duration) { c.set(c.time().Add(d)) }

// do sends a command or query and returns the reply's result, its sequence and the refusal.
func (c *clockedLedger) do(name, body string) (result json.RawMessage, sequence uint64, f *Failure) {
	r := Request{Name: name, Body: []byte(body), Token: c.token}
	var reply []byte
	if _, isQuery := queries[name]; isQuery {
		reply, f = c.Query(context.Background(), r)
	} else {
		reply, f = c.Command(context.Background(), r)
	}
	if f != nil {
		return nil, 0, f
	}
	var out struct {
		Result   json.RawMessage `json:"result"`
		Sequence uint64          `json:"sequence"`
	}
	if err := json.Unmarshal(reply, &out); err != nil {
		panic(err)
	}
	return out.Result, out.Sequence, nil
}

func (c *clockedLedger) must(t *testing.T, name, body string) (json.RawMessage, uint64) {
	t.Helper()
	r, seq, f := c.do(name, body)
	if f != nil {
		t.Fatalf("%s %s: %s", name, body, f.Body())
	}
	return r, seq
}

// TestAsOfAnswersWhatWasTrueThen: a random history of seat, quota and lifecycle changes over two
// years (so quota periods roll); at several moments the license's and the reseller's usage is
// recorded. Afterwards usage.quota with asOf, given as that instant or as that sequence, answers
// exactly what was recorded then: replaying the streams from their start, and starting from
// license snapshots taken every few events.
func TestAsOfAnswersWhatWasTrueThen(t *testing.T) {
	const streams, replay = 2, 0 // AsOfReplayShare: never replay the log, always replay it
	t.Run("from the streams' start", func(t *testing.T) { asOfAnswersWhatWasTrueThen(t, 1_000_000, streams, 0) })
	t.Run("from license snapshots", func(t *testing.T) { asOfAnswersWhatWasTrueThen(t, 3, streams, 0) })
	t.Run("by replaying the log", func(t *testing.T) { asOfAnswersWhatWasTrueThen(t, 3, replay, 0) })
	t.Run("by replaying from snapshots of the read models", func(t *testing.T) { asOfAnswersWhatWasTrueThen(t, 3, replay, 20) })
}

// asOfAnswersWhatWasTrueThen runs the test with a license snapshot every snapshotEvents events,
// AsOfReplayShare replayShare, and a snapshot of the whole stored read models every
// snapshotEvery events (0: none).
func asOfAnswersWhatWasTrueThen(t *testing.T, snapshotEvents int, replayShare float64, snapshotEvery uint64) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	c := newClockedLedger(t, start)
	c.licenses.SnapshotEvents = snapshotEvents
	c.asOfReplayShare = replayShare
	c.runner.SnapshotEvery, c.runner.SnapshotsKept = snapshotEvery, 1000
	c.runner.FlushEvents = 2 // flush (and so snapshot) often
	for _, step := range [][2]string{
		{"reseller.create", `{"id":"r1","name":"R"}`},
		{"tenant.create", `{"resellerId":"r1","id":"t1","name":"T"}`},
		{"product.create", `{"id":"p1","name":"P"}`},
		{"plan.create", `{"id":"small","productId":"p1","name":"Small","tier":1,"seats":4}`},
		{"license.create", `{"id":"la","resellerId":"r1","tenantId":"t1","planId":"small"}`},
		{"license.create", `{"id":"lb","resellerId":"r1","tenantId":"t1","planId":"small"}`},
	} {
		c.must(t, step[0], step[1])
	}
	type record struct {
		at                         time.Time
		sequence                   uint64
		license, reseller, summary string
	}
	var records []record
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 120 {
		c.advance(time.Duration(1+rng.IntN(12)) * 24 * time.Hour)
		lic := []string{"la", "lb"}[rng.IntN(2)]
		user := fmt.Sprintf(`"licenseId":%q,"endUserCompany":"Acme","endUserName":"u%d"`, lic, rng.IntN(7))
		switch r := rng.IntN(20); {
		case r < 10:
			c.do("seat.register", "{"+user+"}")
		case r < 16:
			c.do("seat.unregister", "{"+user+"}")
		case r < 17:
			c.do("license.set-quota", fmt.Sprintf(`{"licenseId":%q,"seats":%d}`, lic, 3+rng.IntN(4)))
		case r < 18:
			c.do("license.suspend", fmt.Sprintf(`{"licenseId":%q}`, lic))
		default:
			c.do("license.reinstate", fmt.Sprintf(`{"licenseId":%q}`, lic))
		}
		if i%15 == 14 {
			// A command that surely appends, so that the moment recorded is its event's time.
			_, cmdSeq := c.must(t, "license.note", `{"licenseId":"la","note":"checkpoint"}`)
			lu, seq := c.must(t, "usage.quota", `{"licenseId":"la"}`)
			ru, _ := c.must(t, "usage.quota", `{"resellerId":"r1"}`)
			su, _ := c.must(t, "usage.summary", `{}`)
			if seq != cmdSeq {
				t.Fatalf("the query reflects sequence %d, the command that preceded it replied %d", seq, cmdSeq)
			}
			records = append(records, record{c.time(), seq, string(lu), string(ru), string(su)})
		}
	}
	c.advance(400 * 24 * time.Hour) // now is far from every record: a live answer would differ
	for _, rec := range records {
		for _, asOf := range []string{rec.at.Format(time.RFC3339Nano), strconv.FormatUint(rec.sequence, 10)} {
			lu, seq := c.must(t, "usage.quota", fmt.Sprintf(`{"licenseId":"la","asOf":%q}`, asOf))
			ru, _ := c.must(t, "usage.quota", fmt.Sprintf(`{"resellerId":"r1","asOf":%q}`, asOf))
			su, _ := c.must(t, "usage.summary", fmt.Sprintf(`{"asOf":%q}`, asOf))
			if string(lu) != rec.license || string(ru) != rec.reseller || string(su) != rec.summary || seq != rec.sequence {
				t.Errorf("as of %s:\n license  %s (sequence %d)\n recorded %s (sequence %d)\n reseller %s\n recorded %s\n summary  %s\n recorded %s",
					asOf, lu, seq, rec.license, rec.sequence, ru, rec.reseller, su, rec.summary)
			}
		}
	}
	if len(records) != 8 {
		t.Fatalf("%d records", len(records))
	}
	if seqs, err := c.store.DerivedSnapshots(); err != nil || (snapshotEvery > 0) != (len(seqs) >= 3) {
		t.Errorf("%d snapshots of the read models (%v) with one every %d events", len(seqs), err, snapshotEvery)
	}
	snapshots := 0
	if err := c.store.ScanDerived([]byte("licenses/h/"), func(_, _ []byte) error { snapshots++; return nil }); err != nil {
		t.Fatal(err)
	}
	if wantSome := snapshotEvents < 10; wantSome != (snapshots >= 5) {
		t.Errorf("%d license snapshots stored with a snapshot every %d events", snapshots, snapshotEvents)
	}
	t.Logf("%d license snapshots", snapshots)
	// Before the license existed it is not found; a sequence past the log, a future instant and
	// a malformed asOf are refused by name.
	if _, _, f := c.do("usage.quota", fmt.Sprintf(`{"licenseId":"la","asOf":%q}`, start.Add(-time.Hour).Format(time.RFC3339))); f == nil || f.Err.Code != "LICENSE_NOT_FOUND" {
		t.Errorf("before the license existed: %+v", f)
	}
	for _, bad := range []string{"999999", c.time().Add(time.Hour).Format(time.RFC3339), "yesterday"} {
		if _, _, f := c.do("usage.quota", fmt.Sprintf(`{"licenseId":"la","asOf":%q}`, bad)); f == nil || f.Err.Code != "INVALID_ARGUMENT" || f.Err.Field != "asOf" {
			t.Errorf("asOf %q: %+v", bad, f)
		}
	}
}

// TestMinSequenceWaitsForTheReadModels: a query with minSequence waits until the read models
// reflect it, and gives up with SEQUENCE_NOT_REFLECTED after the read timeout.
func TestMinSequenceWaitsForTheReadModels(t *testing.T) {
	c := newClockedLedger(t, time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	_, seq := c.must(t, "reseller.create", `{"id":"r1","name":"R"}`)
	if seq == 0 || seq != c.store.Durable() {
		t.Fatalf("the command replied sequence %d; the log ends at %d", seq, c.store.Durable())
	}
	if _, got := c.must(t, "usage.quota", fmt.Sprintf(`{"resellerId":"r1","minSequence":%d}`, seq)); got < seq {
		t.Fatalf("asked for %d, reflected %d", seq, got)
	}
	// A no-op command (already registered) appends nothing and replies the sequence it saw.
	c.must(t, "tenant.create", `{"resellerId":"r1","id":"t1","name":"T"}`)
	c.Ledger.readTimeout = 50 * time.Millisecond
	began := time.Now()
	_, _, f := c.do("role.show", fmt.Sprintf(`{"role":"developer","minSequence":%d}`, c.store.Durable()+1))
	if f == nil || f.Err.Code != CodeSequenceNotReflected || f.Status != 503 || f.Err.Field != "minSequence" {
		t.Fatalf("waiting for a sequence never written: %+v", f)
	}
	if waited := time.Since(began); waited < 50*time.Millisecond {
		t.Fatalf("gave up after %s, before the read timeout", waited)
	}
}
