package eventstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// SpecVersion is the CloudEvents version of the envelope.
const SpecVersion = "1.0"

// TimeFormat is how event times are written: RFC 3339 in UTC with microseconds.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Envelope is one event as stored, hashed and published: CloudEvents 1.0 attributes in
// structured mode, plus the ledger's extensions. It is encoded once, by the sequencer.
type Envelope struct {
	SpecVersion   string          `json:"specversion"`
	ID            string          `json:"id"`
	Source        string          `json:"source"`
	Type          string          `json:"type"`
	Subject       string          `json:"subject"`
	Time          time.Time       `json:"time"`
	Sequence      uint64          `json:"sequence"`
	Stream        string          `json:"stream"`
	Version       uint32          `json:"version"`
	Reseller      string          `json:"reseller,omitempty"`
	Tenant        string          `json:"tenant,omitempty"`
	Actor         string          `json:"actor,omitempty"`
	CommandID     string          `json:"commandid,omitempty"`
	CorrelationID string          `json:"correlationid,omitempty"`
	Data          json.RawMessage `json:"data"`
}

// DecodeEnvelope parses one stored event. Data is a copy: b may be reused.
func DecodeEnvelope(b []byte) (Envelope, error) {
	e, ok := decodeCanonical(b, full, nil)
	if ok {
		e.Data = bytes.Clone(e.Data)
	} else {
		e = Envelope{} // drop what the fast path read before it gave up
		if err := json.Unmarshal(b, &e); err != nil {
			return Envelope{}, fmt.Errorf("eventstore: decode event: %w", err)
		}
	}
	if e.SpecVersion != SpecVersion || e.ID == "" || e.Type == "" || e.Sequence == 0 {
		return Envelope{}, fmt.Errorf("eventstore: decode event: not a ledger event envelope")
	}
	return e, nil
}

// DecodeReplay parses one stored event for a replay (rebuilding read models), which reads only
// its sequence, time, type, reseller, tenant and data. Those are set, the repeating strings taken
// from in (which may be nil); the other attributes may be empty. Data aliases b, so it is valid
// only as long as b is. It is DecodeEnvelope without the allocations a replay of millions of
// events does not need.
func DecodeReplay(b []byte, in *Interner) (Envelope, error) {
	e, ok := decodeCanonical(b, replay, in)
	if !ok {
		return DecodeEnvelope(b)
	}
	if e.Type == "" || e.Sequence == 0 {
		return Envelope{}, fmt.Errorf("eventstore: decode event: not a ledger event envelope")
	}
	return e, nil
}

// envelopeSize is the length appendEnvelope gives e when none of its strings needs escaping:
// the sequencer allocates each event's bytes once, at that size.
func envelopeSize(e *Envelope, formattedTime []byte) int {
	// The field names, punctuation, the two numbers at their longest, and the quotes of every
	// string: 230 bytes at most.
	const fixed = 230
	return fixed + len(e.ID) + len(e.Source) + len(e.Type) + len(e.Subject) + len(formattedTime) + len(e.Stream) +
		len(e.Reseller) + len(e.Tenant) + len(e.Actor) + len(e.CommandID) + len(e.CorrelationID) + max(len(e.Data), 2)
}

// appendEnvelope encodes e (with data already JSON) by hand: it is on the write path of every
// event, and encoding/json would re-validate and copy the data.
func appendEnvelope(dst []byte, e *Envelope, formattedTime []byte) []byte {
	dst = append(dst, `{"specversion":"1.0","id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"subject":`...)
	dst = appendString(dst, e.Subject)
	dst = append(dst, `,"time":"`...)
	dst = append(dst, formattedTime...)
	dst = append(dst, `","sequence":`...)
	dst = strconv.AppendUint(dst, e.Sequence, 10)
	dst = append(dst, `,"stream":`...)
	dst = appendString(dst, e.Stream)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendUint(dst, uint64(e.Version), 10)
	dst = appendOptional(dst, `,"reseller":`, e.Reseller)
	dst = appendOptional(dst, `,"tenant":`, e.Tenant)
	dst = appendOptional(dst, `,"actor":`, e.Actor)
	dst = appendOptional(dst, `,"commandid":`, e.CommandID)
	dst = appendOptional(dst, `,"correlationid":`, e.CorrelationID)
	dst = append(dst, `,"data":`...)
	if len(e.Data) == 0 {
		dst = append(dst, `{}`...)
	} else {
		dst = append(dst, e.Data...)
	}
	return append(dst, '}')
}

func appendOptional(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return appendString(append(dst, name...), v)
}

// appendString writes s as a JSON string. Identifiers and type names take the fast path; anything
// else (quotes, control characters, non-ASCII) goes through encoding/json.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
