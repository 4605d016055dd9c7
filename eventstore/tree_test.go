package eventstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/licledger/licledger/eventstore"
)

// treeLog writes events events into a new log in dir, with a TreeWriter signing a checkpoint every
// every events, and closes it. It returns the verifier key.
func treeLog(t *testing.T, dir string, events, every int) string {
	t.Helper()
	skey, err := eventstore.GenerateCheckpointKey("licledger.test")
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := eventstore.VerifierKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &eventstore.TreeWriter{Store: s, SigningKey: skey, Every: uint64(every), Interval: time.Hour}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for i := 0; i < events; {
		n := 1 + i%3
		if i+n > events {
			n = events - i
		}
		submit(t, s, appendTo("stream-"+string(rune('a'+i%5)), eventstore.AnyVersion, n))
		i += n
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("tree writer: %v", err)
	}
	if w.Signed() != uint64(events) || s.TreeSize() != uint64(events) {
		t.Fatalf("after a clean stop: signed %d, tree %d, want %d", w.Signed(), s.TreeSize(), events)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return vkey
}

// verifyDir runs the full check (ledgerctl audit verify --data) over dir.
func verifyDir(t *testing.T, dir, vkey string) (*eventstore.Verifier, error) {
	t.Helper()
	s, err := eventstore.Open(dir, eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := s.StoredCheckpoints(vkey)
	if err != nil {
		return nil, err
	}
	v := eventstore.NewVerifier(cs...)
	v.Trusted = s.ProvenTreeHash
	return v, s.VerifyLog(v, nil)
}

func checkAtStart(t *testing.T, dir, vkey string) error {
	t.Helper()
	s, err := eventstore.Open(dir, eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.CheckTree(vkey)
	return err
}

func TestHonestLogVerifiesAndProves(t *testing.T) {
	dir := t.TempDir()
	vkey := treeLog(t, dir, 1000, 128)
	v, err := verifyDir(t, dir, vkey)
	if err != nil {
		t.Fatalf("honest log: %v", err)
	}
	if v.Events() != 1000 || len(v.Checked) < 8 { // at least every 128 events, and one at stop
		t.Fatalf("verified %d events against %d checkpoints", v.Events(), len(v.Checked))
	}
	if err := checkAtStart(t, dir, vkey); err != nil {
		t.Fatalf("start check of an honest log: %v", err)
	}

	s := open(t, dir, eventstore.Options{ReadOnly: true})
	signed, err := s.LatestCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	latest, err := eventstore.OpenCheckpoint(signed, vkey)
	if err != nil || latest.Size != 1000 {
		t.Fatalf("latest checkpoint %+v, %v", latest, err)
	}
	events := map[uint64][]byte{}
	s.Read(1, 0, func(e eventstore.Event) error { events[e.Sequence] = append([]byte(nil), e.Bytes...); return nil })
	for _, seq := range []uint64{1, 2, 127, 128, 129, 500, 999, 1000} {
		proof, err := s.ProveInclusion(seq, latest.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(proof, int64(latest.Size), latest.Root, int64(seq-1), tlog.RecordHash(events[seq])); err != nil {
			t.Errorf("inclusion of %d: %v", seq, err)
		}
		// The proof is for these bytes and this position only.
		if err := tlog.CheckRecord(proof, int64(latest.Size), latest.Root, int64(seq-1), tlog.RecordHash(append(events[seq], ' '))); err == nil {
			t.Errorf("inclusion of %d holds for other bytes", seq)
		}
		if len(proof) > 0 {
			proof[0][0] ^= 1 // a forged proof
			if err := tlog.CheckRecord(proof, int64(latest.Size), latest.Root, int64(seq-1), tlog.RecordHash(events[seq])); err == nil {
				t.Errorf("a forged proof of %d holds", seq)
			}
		}
	}
	older, err := s.CheckpointAt(300)
	if err != nil {
		t.Fatal(err)
	}
	old, err := eventstore.OpenCheckpoint(older, vkey)
	if err != nil || old.Size < 300 || old.Size >= 300+128+3 {
		t.Fatalf("checkpoint at or above 300: %+v, %v", old, err)
	}
	proof, err := s.ProveConsistency(old.Size, latest.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(proof, int64(latest.Size), latest.Root, int64(old.Size), old.Root); err != nil {
		t.Fatalf("consistency %d -> %d: %v", old.Size, latest.Size, err)
	}
	proof[len(proof)-1][3] ^= 1
	if err := tlog.CheckTree(proof, int64(latest.Size), latest.Root, int64(old.Size), old.Root); err == nil {
		t.Fatal("a forged consistency proof holds")
	}
}

func TestCheckpointSignedWithAnotherKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	treeLog(t, dir, 50, 10)
	other, _ := eventstore.GenerateCheckpointKey("licledger.test")
	otherV, _ := eventstore.VerifierKey(other)
	if _, err := verifyDir(t, dir, otherV); !errors.Is(err, eventstore.ErrCheckpointSignature) {
		t.Fatalf("verify with the wrong key: %v", err)
	}
	if err := checkAtStart(t, dir, otherV); !errors.Is(err, eventstore.ErrCheckpointSignature) {
		t.Fatalf("start check with the wrong key: %v", err)
	}
}

// tamper opens the log's Pebble directly, as an attacker with the disk would, and edits it.
func tamper(t *testing.T, dir string, edit func(db *pebble.DB)) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	edit(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func eventKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("e/"), seq) }

func get(t *testing.T, db *pebble.DB, k []byte) []byte {
	v, c, err := db.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return append([]byte(nil), v...)
}

func TestTamperedLogsAreCaughtAtTheFirstBadSequence(t *testing.T) {
	const events, every = 600, 100
	cases := []struct {
		name string
		edit func(t *testing.T, db *pebble.DB)
		// want: the sequence the full verify names, and whether the start check (which reads only
		// the tail after the last checkpoint, here everything past 600) sees it too.
		want       uint64
		atStart    bool
		wantReason string
	}{
		{"flip one byte of an event's data", func(t *testing.T, db *pebble.DB) {
			v := get(t, db, eventKey(250))
			i := strings.Index(string(v), `"n":`) + 4
			v[i] ^= 1 // a digit becomes another digit: still a valid event
			db.Set(eventKey(250), v, pebble.Sync)
		}, 250, false, "changed"},
		{"flip one byte of the envelope", func(t *testing.T, db *pebble.DB) {
			v := get(t, db, eventKey(7))
			v[0] ^= 0xff
			db.Set(eventKey(7), v, pebble.Sync)
		}, 7, false, "decode"},
		{"drop one", func(t *testing.T, db *pebble.DB) {
			db.Delete(eventKey(333), pebble.Sync)
		}, 333, false, "missing"},
		{"swap two", func(t *testing.T, db *pebble.DB) {
			a, b := get(t, db, eventKey(410)), get(t, db, eventKey(411))
			db.Set(eventKey(410), b, pebble.Sync)
			db.Set(eventKey(411), a, pebble.Sync)
		}, 410, false, "out of place"},
		{"truncate the tail", func(t *testing.T, db *pebble.DB) {
			for seq := uint64(590); seq <= events; seq++ {
				db.Delete(eventKey(seq), pebble.Sync)
			}
		}, 590, true, "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			vkey := treeLog(t, dir, events, every)
			tamper(t, dir, func(db *pebble.DB) { c.edit(t, db) })
			_, err := verifyDir(t, dir, vkey)
			var ve *eventstore.VerifyError
			if !errors.As(err, &ve) || ve.Sequence != c.want || !strings.Contains(ve.Error(), c.wantReason) {
				t.Fatalf("verify: %v, want sequence %d (%s)", err, c.want, c.wantReason)
			}
			err = checkAtStart(t, dir, vkey)
			if c.atStart {
				if !errors.As(err, &ve) || ve.Sequence != c.want {
					t.Fatalf("start check: %v, want sequence %d", err, c.want)
				}
			} else if err != nil {
				t.Fatalf("start check (fast path, tail only) saw %v", err)
			}
		})
	}
}

// TestStartCheckCatchesTheTail: events after the last checkpoint are checked at start against the
// tree's stored leaves.
func TestStartCheckCatchesTheTail(t *testing.T) {
	dir := t.TempDir()
	vkey := treeLog(t, dir, 300, 100)
	// Remove the checkpoint at 300 so that 201..300 is the unsigned tail, then change 250.
	tamper(t, dir, func(db *pebble.DB) {
		db.Delete(binary.BigEndian.AppendUint64([]byte("m/checkpoint/"), 300), pebble.Sync)
		v := get(t, db, eventKey(250))
		i := strings.Index(string(v), `"n":`) + 4
		v[i] ^= 1
		db.Set(eventKey(250), v, pebble.Sync)
	})
	err := checkAtStart(t, dir, vkey)
	var ve *eventstore.VerifyError
	if !errors.As(err, &ve) || ve.Sequence != 250 {
		t.Fatalf("start check: %v, want sequence 250", err)
	}
}

// TestVerifierWithoutProofsNamesTheSpan: a copy checked against checkpoints alone (an export,
// no ledger to prove inner tree hashes) names the span after the last checkpoint that held.
func TestVerifierWithoutProofsNamesTheSpan(t *testing.T) {
	dir := t.TempDir()
	vkey := treeLog(t, dir, 300, 100)
	s := open(t, dir, eventstore.Options{ReadOnly: true})
	cs, err := s.StoredCheckpoints(vkey)
	if err != nil {
		t.Fatal(err)
	}
	v := eventstore.NewVerifier(cs...)
	var before, after uint64 // the checkpoints around 150
	for _, c := range cs {
		if c.Size < 150 {
			before = c.Size
		} else if after == 0 {
			after = c.Size
		}
	}
	_, err = s.Read(1, 0, func(e eventstore.Event) error {
		b := e.Bytes
		if e.Sequence == 150 {
			b = []byte(strings.Replace(string(b), `"n":`, `"n": `, 1))
		}
		return v.Add(0, b)
	})
	var ve *eventstore.VerifyError
	if span := fmt.Sprintf("%d..%d", before+1, after); !errors.As(err, &ve) || ve.Sequence != before+1 || !strings.Contains(ve.Error(), span) {
		t.Fatalf("verify: %v, want the span %s", err, span)
	}
}

type quiet struct{}

func (quiet) Infof(string, ...any)         {}
func (quiet) Errorf(string, ...any)        {}
func (quiet) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// TestCatchingUpSignsEveryN: a tree writer started on a log it has never hashed (the first start
// of a ledger with an old log) signs a checkpoint every Every events on its way, not one at the end.
func TestCatchingUpSignsEveryN(t *testing.T) {
	dir := t.TempDir()
	s, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		submit(t, s, appendTo("stream-a", eventstore.AnyVersion, 10))
	}
	skey, _ := eventstore.GenerateCheckpointKey("licledger.test")
	vkey, _ := eventstore.VerifierKey(skey)
	var sizes []uint64
	ctx, cancel := context.WithCancel(context.Background())
	w := &eventstore.TreeWriter{Store: s, SigningKey: skey, Every: 300, Interval: time.Hour,
		OnCheckpoint: func(c eventstore.Checkpoint) { sizes = append(sizes, c.Size) }}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for w.Signed() < 900 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if want := []uint64{300, 600, 900, 1000}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Fatalf("checkpoints at %v, want %v", sizes, want)
	}
	stored, err := s.StoredCheckpoints(vkey)
	if err != nil || len(stored) != 4 {
		t.Fatalf("stored checkpoints: %d, %v", len(stored), err)
	}
	s.Close()
}

// TestRecordHashesProveOrRefuse: the tree rebuilt from a log's record hashes gives its real tree
// hashes, each proven against a checkpoint; a list with one hash changed proves nothing.
func TestRecordHashesProveOrRefuse(t *testing.T) {
	var leaves []byte
	for i := range 37 {
		h := tlog.RecordHash(fmt.Appendf(nil, `{"event":%d}`, i))
		leaves = append(leaves, h[:]...)
	}
	rh, err := eventstore.NewRecordHashes(leaves)
	if err != nil {
		t.Fatal(err)
	}
	root, err := tlog.TreeHash(37, rh)
	if err != nil {
		t.Fatal(err)
	}
	c := eventstore.Checkpoint{Size: 37, Root: root}
	for _, size := range []uint64{1, 10, 36, 37} {
		got, err := rh.Trusted(size, c)
		want, _ := tlog.TreeHash(int64(size), rh)
		if err != nil || got != want {
			t.Errorf("size %d: %v %v", size, got, err)
		}
	}
	leaves[32*5] ^= 1
	bad, _ := eventstore.NewRecordHashes(leaves)
	if _, err := bad.Trusted(10, c); err == nil {
		t.Error("a changed list proved a tree hash")
	}
	if _, err := eventstore.NewRecordHashes(leaves[:33]); err == nil {
		t.Error("a list of 33 bytes was taken")
	}
}
