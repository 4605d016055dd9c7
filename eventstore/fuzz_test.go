package eventstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeEnvelope: any bytes either decode or fail cleanly; what the sequencer encodes always
// decodes back to the same envelope.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"01J","type":"t.v1","sequence":1,"data":{}}`), "r\"1", "cmd\n")
	f.Add([]byte(`{}`), "", "")
	f.Add([]byte(`[]`), "r1", "c1")
	f.Add([]byte(`[`), "é", "\x00")
	f.Add([]byte(`{"specversion":"1.0","id":"01J","source":"s","type":"t.v1","subject":"x","time":"2026-01-02T03:04:05.000006Z","sequence":7,"stream":"a/x","version":2,"data":{"a":"}"}}`), "", "")
	f.Fuzz(func(t *testing.T, raw []byte, reseller, commandID string) {
		_, _ = DecodeEnvelope(raw)
		checkCanonicalAgrees(t, raw)
		at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
		e := Envelope{ID: "01JABC", Source: "s", Type: "t.v1", Subject: "x", Sequence: 7, Stream: "a/x", Version: 2,
			Reseller: reseller, CommandID: commandID, Data: []byte(`{"a":1}`)}
		enc := appendEnvelope(nil, &e, at.AppendFormat(nil, TimeFormat))
		if plainASCII(reseller) && plainASCII(commandID) && len(enc) > envelopeSize(&e, at.AppendFormat(nil, TimeFormat)) {
			t.Fatalf("encoded %d bytes, sized for %d", len(enc), envelopeSize(&e, at.AppendFormat(nil, TimeFormat)))
		}
		checkCanonicalAgrees(t, enc)
		if _, ok := decodeCanonical(enc, full, nil); !ok && plainASCII(reseller) && plainASCII(commandID) {
			t.Fatalf("the fast path refuses the sequencer's own encoding: %s", enc)
		}
		back, err := DecodeEnvelope(enc)
		if err != nil {
			t.Fatalf("own encoding does not decode: %v\n%s", err, enc)
		}
		if back.Sequence != 7 || !back.Time.Equal(at) || !bytes.Equal(back.Data, e.Data) {
			t.Fatalf("round trip: %+v", back)
		}
		// Invalid UTF-8 is replaced by encoding/json; everything else must survive exactly.
		if back.Reseller != reseller && validUTF8(reseller) {
			t.Fatalf("reseller %q came back as %q", reseller, back.Reseller)
		}
	})
}

// checkCanonicalAgrees: whatever the fast path takes, encoding/json reads the same way, or refuses
// only because the payload is not JSON (which the payload's decoder then refuses).
func checkCanonicalAgrees(t *testing.T, raw []byte) {
	t.Helper()
	// The replay mode reads the same envelopes, and the fields it keeps the same way.
	replay, rok := decodeCanonical(raw, replay, NewInterner(2))
	fast, ok := decodeCanonical(raw, full, nil)
	if rok != ok {
		t.Fatalf("the replay mode says %v, the full one %v: %s", rok, ok, raw)
	}
	// DecodeView takes the same envelopes (with a type and sequence), and leaves checking the
	// data to its reader: whenever that is one JSON object, the two agree.
	view, vok := DecodeView(raw)
	if ok && fast.Type != "" && fast.Sequence != 0 && !vok {
		t.Fatalf("DecodeView refuses what the fast path takes: %s", raw)
	}
	if vok && json.Valid(view.Data) && view.Data[0] == '{' {
		if !ok || view.Type != fast.Type || view.Sequence != fast.Sequence || !view.Time.Equal(fast.Time) ||
			view.Version != fast.Version || view.Reseller != fast.Reseller || view.Tenant != fast.Tenant || !bytes.Equal(view.Data, fast.Data) {
			t.Fatalf("DecodeView and the fast path differ (fast path %v):\nview %+v\nfast %+v", ok, view, fast)
		}
	}
	if !ok {
		return
	}
	if replay.Sequence != fast.Sequence || !replay.Time.Equal(fast.Time) || replay.Type != fast.Type ||
		replay.Reseller != fast.Reseller || replay.Tenant != fast.Tenant || !bytes.Equal(replay.Data, fast.Data) {
		t.Fatalf("replay and full decoding differ:\nreplay %+v\nfull   %+v", replay, fast)
	}
	var slow Envelope
	if err := json.Unmarshal(raw, &slow); err != nil {
		if json.Valid(fast.Data) {
			t.Fatalf("fast path took what encoding/json refuses (%v): %s", err, raw)
		}
		return
	}
	if !bytes.Equal(fast.Data, slow.Data) || !fast.Time.Equal(slow.Time) {
		t.Fatalf("data or time differ:\nfast %+v\nslow %+v", fast, slow)
	}
	fast.Data, slow.Data, fast.Time, slow.Time = nil, nil, time.Time{}, time.Time{}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast and slow decoding differ:\nfast %+v\nslow %+v", fast, slow)
	}
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func validUTF8(s string) bool {
	return bytes.Equal([]byte(s), bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
}

// TestCanonicalTimes holds the fast path's calendar checks to encoding/json's: it takes exactly
// the times that time.Parse takes, with the same value, leap days included.
func TestCanonicalTimes(t *testing.T) {
	for _, at := range []string{
		"2024-02-29T00:00:00.000000Z", "2000-02-29T23:59:59.999999Z", "2025-02-28T12:00:00.000000Z",
		"2025-12-31T23:59:59.000000Z", "0001-01-01T00:00:00.000000Z", "2025-04-30T00:00:00.000000Z",
		"2025-02-29T00:00:00.000000Z", "1900-02-29T00:00:00.000000Z", "2025-04-31T00:00:00.000000Z",
		"2025-00-10T00:00:00.000000Z", "2025-13-10T00:00:00.000000Z", "2025-01-00T00:00:00.000000Z",
		"2025-01-32T00:00:00.000000Z", "2025-01-10T24:00:00.000000Z", "2025-01-10T23:60:00.000000Z",
		"2025-01-10T23:59:60.000000Z",
	} {
		raw := []byte(`{"specversion":"1.0","id":"01J","source":"s","type":"t.v1","subject":"x","time":"` + at +
			`","sequence":7,"stream":"a/x","version":2,"data":{}}`)
		want, err := time.Parse(time.RFC3339Nano, at)
		got, ok := decodeCanonical(raw, full, nil)
		if ok != (err == nil) || ok && !got.Time.Equal(want) {
			t.Errorf("%s: fast path took it %v as %v; time.Parse: %v, %v", at, ok, got.Time, want, err)
		}
		checkCanonicalAgrees(t, raw)
	}
}

// TestEnvelopeSizeCoversTheEncoding: with every optional field and both numbers at their
// longest, the size the sequencer allocates holds the encoding, so it is never copied to grow.
func TestEnvelopeSizeCoversTheEncoding(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC).AppendFormat(nil, TimeFormat)
	e := Envelope{ID: "01JABCDEFGHJKMNPQRSTVWXYZ0", Source: "licledger", Type: "seat.registered.v1", Subject: "lic-1",
		Sequence: ^uint64(0), Stream: "license/lic-1", Version: ^uint32(0), Reseller: "r", Tenant: "t", Actor: "a",
		CommandID: "c", CorrelationID: "k"}
	for _, data := range [][]byte{nil, []byte(`{"licenseId":"lic-1"}`)} {
		e.Data = data
		enc := appendEnvelope(nil, &e, at)
		if size := envelopeSize(&e, at); len(enc) > size || len(enc) < size-60 {
			t.Errorf("encoded %d bytes, sized for %d", len(enc), size)
		}
	}
}
