package handlers

import (
	"context"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/projections"
)

// sameState reports whether two models are equal, seats compared by content: a seat table's
// layout depends on the order its users arrived in, which a model loaded from stored records
// does not repeat.
func sameState(a, b *domain.State) bool {
	a, b = a.Clone(), b.Clone()
	for id, la := range a.Licenses {
		lb, ok := b.Licenses[id]
		if !ok || !la.Users.Equal(&lb.Users) {
			return false
		}
		la.Users, lb.Users = domain.SeatTable{}, domain.SeatTable{}
	}
	return reflect.DeepEqual(a, b)
}

// replayState evolves a fresh domain model through the whole log.
func replayState(t *testing.T, store *eventstore.Store) *domain.State {
	t.Helper()
	s := domain.NewState()
	if _, err := store.Read(1, 0, func(e eventstore.Event) error {
		env, err := eventstore.DecodeEnvelope(e.Bytes)
		if err != nil {
			return err
		}
		ev, err := domain.DecodeEvent(env.Type, env.Data)
		if err != nil {
			return err
		}
		s.Evolve(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// restartingLedger is a real ledger over one data dir that can be stopped and started again,
// cleanly or by closing the log under the projector (what a crash leaves: the read models'
// records as of their last flush, which may be well behind the log).
type restartingLedger struct {
	dir     string
	secrets *Secrets
	store   *eventstore.Store
	ledger  *Ledger
	stop    context.CancelFunc
	stopped chan error
	token   string
}

func (r *restartingLedger) start(t *testing.T) {
	t.Helper()
	store, err := eventstore.Open(r.dir+"/log", eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLedger(Options{Store: store, Secrets: r.secrets, LicenseKeys: testLicenseKeys()})
	if err != nil {
		t.Fatal(err)
	}
	// Flush often, so restarts land between, and in the middle of, many checkpoints.
	l.runner.FlushEvents, l.runner.FlushInterval = 3, 2*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := l.Bootstrap(ctx, r.dir); err != nil {
		t.Fatal(err)
	}
	r.store, r.ledger, r.stop, r.stopped = store, l, cancel, make(chan error, 1)
	go func() { r.stopped <- l.Run(ctx) }()
	if r.token == "" {
		tok, err := os.ReadFile(r.dir + "/" + BootstrapTokenFile)
		if err != nil {
			t.Fatal(err)
		}
		r.token = strings.TrimSpace(string(tok))
	}
}

// close stops the ledger, if it runs, and closes its log.
func (r *restartingLedger) close() {
	if r.stopped != nil {
		r.stop()
		<-r.stopped
	}
	r.store.Close()
}

// restart stops the ledger and starts it again. Unclean: the log is closed first, so the
// projector's last flush fails and whatever it had not flushed is lost.
func (r *restartingLedger) restart(t *testing.T, clean bool) {
	t.Helper()
	if !clean {
		r.store.Close()
	}
	r.stop()
	<-r.stopped
	r.store.Close()
	r.start(t)
}

// TestProjectionsResumeEqualRebuild: a long random command sequence, with the ledger restarted
// every few hundred commands, sometimes cleanly and sometimes with the projector's last flush
// lost. After each restart the read models resume from their stored checkpoints and the write
// model from the stored state. At the end the read models equal ones rebuilt from sequence 0,
// the stored records equal them too, and the write model equals a replay of the log; and the
// ledger decided every command exactly as a twin ledger that never restarted did.
func TestProjectionsResumeEqualRebuild(t *testing.T) {
	r := &restartingLedger{dir: t.TempDir(), secrets: testSecrets(t)}
	r.start(t)
	t.Cleanup(r.close)
	twin := newTestLedger(t)
	ctx := context.Background()
	send := func(name, body string) (string, string) {
		outcome := func(l *Ledger, token string) string {
			if _, f := l.Command(ctx, Request{Name: name, Body: []byte(body), Token: token}); f != nil {
				if f.Status >= 500 {
					t.Fatalf("%s %s: %+v", name, body, f.Err)
				}
				return string(f.Err.Code)
			}
			return "OK"
		}
		return outcome(r.ledger, r.token), outcome(twin.Ledger, twin.token)
	}
	for _, b := range baseWorld() {
		if got, want := send(b.Name, string(b.Body)); got != "OK" || want != "OK" {
			t.Fatalf("%s: %s / %s", b.Name, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(6, 6))
	restarts := 0
	for i := range 2400 {
		name, body := randomCommand(rng)
		if got, want := send(name, body); got != want {
			t.Fatalf("command %d %s %s: the restarted ledger says %s, the twin %s", i, name, body, got, want)
		}
		if i%200 == 199 {
			r.restart(t, rng.IntN(2) == 0)
			restarts++
		}
	}
	if err := r.ledger.runner.WaitFor(ctx, r.store.Durable()); err != nil {
		t.Fatal(err)
	}

	fresh, freshCreds := projections.NewLicenses(), projections.NewCredentials()
	if _, err := projections.NewRunner(r.store, fresh, freshCreds).CatchUp(); err != nil {
		t.Fatal(err)
	}
	sameDump(t, "licenses (resumed vs rebuilt)", r.ledger.licenses.Dump, fresh.Dump)
	sameDump(t, "credentials (resumed vs rebuilt)", r.ledger.creds.Dump, freshCreds.Dump)
	if !sameState(r.ledger.state, replayState(t, r.store)) {
		t.Fatal("the write model started from stored state differs from a replay of the log")
	}

	// What is on disk, loaded on its own and caught up, is the same state again.
	r.stop()
	<-r.stopped
	r.stopped = nil
	if c, _, _ := projections.ReadCheckpoint(r.store, "licenses"); c.Sequence != r.store.Durable() {
		t.Fatalf("after a clean stop the checkpoint is %d, the log ends at %d", c.Sequence, r.store.Durable())
	}
	if _, err := CheckReadModels(r.store); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %d restarts", r.store.Durable(), restarts)
}

func sameDump(t *testing.T, what string, got, want func() (map[string]string, error)) {
	t.Helper()
	g, err := got()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want()
	if err != nil {
		t.Fatal(err)
	}
	if len(w) < 10 {
		t.Fatalf("%s: only %d records: the comparison tests too little", what, len(w))
	}
	if k, differ := firstDifference(g, w); differ {
		t.Errorf("%s: record %q:\n got %s\nwant %s", what, k, g[k], w[k])
	}
	if t.Failed() {
		t.FailNow()
	}
}
