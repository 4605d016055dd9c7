package eventstore

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecodeEnvelope: any bytes either decode or fail cleanly; what the sequencer encodes always
// decodes back to the same envelope.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"01J","type":"t.v1","sequence":1,"data":{}}`), "r\"1", "cmd\n")
	f.Add([]byte(`{}`), "", "")
	f.Add([]byte(`[`), "é", "\x00")
	f.Fuzz(func(t *testing.T, raw []byte, reseller, commandID string) {
		_, _ = DecodeEnvelope(raw)
		at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
		e := Envelope{ID: "01JABC", Source: "s", Type: "t.v1", Subject: "x", Sequence: 7, Stream: "a/x", Version: 2,
			Reseller: reseller, CommandID: commandID, Data: []byte(`{"a":1}`)}
		enc := appendEnvelope(nil, &e, at.AppendFormat(nil, TimeFormat))
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

func validUTF8(s string) bool {
	return bytes.Equal([]byte(s), bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
}
