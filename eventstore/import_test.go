package eventstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/licledger/licledger/eventstore"
)

// eventBytes returns the bytes of s's events from sequence from on, as a replica holds them.
func eventBytes(t *testing.T, s *eventstore.Store, from uint64) [][]byte {
	t.Helper()
	var out [][]byte
	if _, err := s.Read(from, 0, func(e eventstore.Event) error {
		out = append(out, bytes.Clone(e.Bytes))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportRestoresALog: a log imported from another's event bytes, in two parts, holds the same
// events, answers the same stream reads, goes on with the next sequence and versions, and refuses
// to apply again a command whose id an imported event carries.
func TestImportRestoresALog(t *testing.T) {
	src := open(t, t.TempDir(), eventstore.Options{Source: "test"})
	for i, stream := range []string{"a", "b", "a", "c", "a"} {
		c := appendTo(stream, eventstore.AnyVersion, 1+i%2)
		c.ID, c.Digest = "cmd-"+stream+string(rune('0'+i)), sha256.Sum256([]byte{byte(i)})
		submit(t, src, c)
	}
	events := eventBytes(t, src, 1)

	dst := open(t, t.TempDir(), eventstore.Options{Source: "test"})
	ctx := context.Background()
	if err := dst.Import(ctx, events[:3]); err != nil {
		t.Fatal(err)
	}
	if err := dst.Import(ctx, events[3:]); err != nil {
		t.Fatal(err)
	}
	if got := eventBytes(t, dst, 1); len(got) != len(events) || dst.Durable() != uint64(len(events)) {
		t.Fatalf("imported %d events, durable %d; want %d", len(got), dst.Durable(), len(events))
	} else {
		for i := range got {
			if !bytes.Equal(got[i], events[i]) {
				t.Fatalf("event %d differs:\n%s\n%s", i+1, got[i], events[i])
			}
		}
	}
	for _, stream := range []string{"a", "b", "c"} {
		var want, got []uint64
		for _, s := range []*eventstore.Store{src, dst} {
			var seqs []uint64
			if err := s.ReadStream(stream, 1, func(e eventstore.Event) error { seqs = append(seqs, e.Sequence); return nil }); err != nil {
				t.Fatal(err)
			}
			want, got = got, seqs
		}
		if len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("stream %s: imported log reads %v, the original %v", stream, got, want)
		}
	}

	// The next command goes on from the imported log's end and its stream's version.
	if r := submit(t, dst, appendTo("a", 3, 1)); string(r.Reply) != "8@4 " {
		t.Fatalf("after the import: %q, want 8@4", r.Reply)
	}
	retry := appendTo("a", eventstore.AnyVersion, 1)
	retry.ID, retry.Digest = "cmd-a0", sha256.Sum256([]byte{0})
	if _, err := dst.Submit(ctx, retry); !errors.Is(err, eventstore.ErrCommandRestored) {
		t.Fatalf("a retry of an imported command: %v, want ErrCommandRestored", err)
	}
	if dst.Durable() != 8 {
		t.Fatalf("the retry appended: durable %d", dst.Durable())
	}
}

// TestImportRefusesWhatIsNotTheNextEvent: an event out of place, of the wrong stream version,
// dated before the one ahead of it, or not an event at all appends nothing, not even the good
// events before it in the same import.
func TestImportRefusesWhatIsNotTheNextEvent(t *testing.T) {
	src := open(t, t.TempDir(), eventstore.Options{})
	submit(t, src, appendTo("a", eventstore.AnyVersion, 3))
	submit(t, src, appendTo("b", eventstore.AnyVersion, 1))
	events := eventBytes(t, src, 1)

	other := open(t, t.TempDir(), eventstore.Options{})
	submit(t, other, appendTo("z", eventstore.AnyVersion, 1))
	submit(t, other, appendTo("a", eventstore.AnyVersion, 1)) // sequence 2, but version 1 of a
	again := eventBytes(t, other, 1)[1]

	earlier := bytes.Replace(events[2], []byte(`"time":"20`), []byte(`"time":"19`), 1) // a century back
	for name, batch := range map[string][][]byte{
		"a gap":              {events[0], events[2]},
		"not from the start": {events[1]},
		"wrong version":      {events[0], again},
		"dated before":       {events[0], events[1], earlier},
		"not an event":       {events[0], []byte(`{"sequence":2}`)},
	} {
		dst := open(t, t.TempDir(), eventstore.Options{})
		err := dst.Import(context.Background(), batch)
		if err == nil || !strings.Contains(err.Error(), "import") {
			t.Errorf("%s: %v, want an import error", name, err)
		}
		if dst.Durable() != 0 || len(eventBytes(t, dst, 1)) != 0 {
			t.Errorf("%s: appended %d events", name, dst.Durable())
		}
	}
}
