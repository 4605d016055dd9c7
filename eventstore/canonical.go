package eventstore

import (
	"bytes"
	"time"
	"unsafe"
)

// decodeCanonical parses an envelope in exactly the form appendEnvelope writes: fields in their
// fixed order, plain ASCII strings without escapes, data last. It is the fast path of replays
// (rebuilding read models reads every event); anything else, including every envelope written by
// another tool, reports ok == false and goes through encoding/json. Data aliases b.
//
// It does not validate data: whoever decodes the payload does. How much else it reads depends
// on the mode:
//   - full: everything, strings copied;
//   - replay (DecodeReplay): only what a replay uses. Id, source, subject, stream, actor,
//     command id and correlation id are checked and skipped; type, reseller and tenant come
//     from the interner;
//   - view (DecodeView): as replay, but type, reseller and tenant alias b, and Data runs to the
//     envelope's closing brace without a look inside.
func decodeCanonical(b []byte, m readMode, in *Interner) (e Envelope, ok bool) {
	r := canonicalReader{b: b, in: in}
	// mode is how the fields replays do not read are taken; ids, how type, reseller and tenant are.
	mode, ids := copied, copied
	switch m {
	case replay:
		mode, ids = skipped, fromTable
	case view:
		mode, ids = skipped, aliased
	}
	if !r.literal(`{"specversion":"1.0","id":`) {
		return e, false
	}
	e.SpecVersion = SpecVersion
	r.mode = mode
	e.ID = r.str()
	e.Source = r.field(`,"source":`)
	r.mode = ids
	e.Type = r.field(`,"type":`)
	r.mode = mode
	e.Subject = r.field(`,"subject":`)
	if !r.literal(`,"time":`) {
		return e, false
	}
	e.Time = r.time()
	if !r.literal(`,"sequence":`) {
		return e, false
	}
	e.Sequence = r.uint()
	if !r.literal(`,"stream":`) {
		return e, false
	}
	e.Stream = r.str()
	if !r.literal(`,"version":`) {
		return e, false
	}
	v := r.uint()
	if v > 1<<32-1 {
		return e, false
	}
	e.Version = uint32(v)
	r.mode = ids
	e.Reseller = r.optional(`,"reseller":`)
	e.Tenant = r.optional(`,"tenant":`)
	r.mode = mode
	e.Actor = r.optional(`,"actor":`)
	e.CommandID = r.optional(`,"commandid":`)
	e.CorrelationID = r.optional(`,"correlationid":`)
	if !r.literal(`,"data":`) || r.bad {
		return e, false
	}
	end := len(b) - 1 // view: the reader checks the data
	if m != view {
		end = objectEnd(b, r.i)
	}
	if end != len(b)-1 || b[end] != '}' {
		return e, false
	}
	e.Data = b[r.i:end]
	return e, true
}

// readMode is how much decodeCanonical reads.
type readMode int

const (
	full readMode = iota
	replay
	view
)

// DecodeView reads an envelope in exactly the form appendEnvelope writes, for a replay that looks
// at an event before deciding how to decode it. Type, Reseller and Tenant alias b (intern or copy
// what is kept), the time, sequence and version are parsed, and the other attributes are checked
// and left empty. Data is everything from "data": to the envelope's closing brace, unchecked:
// whoever reads it must accept exactly one JSON object and nothing after it (a strict decoder
// does). Anything else reports ok == false: use DecodeReplay, which also takes any valid JSON.
func DecodeView(b []byte) (e Envelope, ok bool) {
	e, ok = decodeCanonical(b, view, nil)
	return e, ok && e.Type != "" && e.Sequence != 0
}

// objectEnd returns the index just past the JSON object that starts at b[i], or -1. It only
// matches braces outside strings: the payload's decoder validates the rest.
func objectEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '{' {
		return -1
	}
	depth, inString := 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// canonicalReader walks a canonical envelope. Any surprise sets bad; the caller then falls back.
type canonicalReader struct {
	b    []byte
	i    int
	bad  bool
	mode stringMode // how str returns what it read
	in   *Interner  // for fromTable
}

// stringMode is how canonicalReader.str returns a string it read.
type stringMode int

const (
	copied    stringMode = iota // a new string
	skipped                     // "" (the string was still checked)
	fromTable                   // the interner's string
	aliased                     // a string sharing the reader's bytes (DecodeView)
)

func (r *canonicalReader) literal(s string) bool {
	if r.bad || !bytes.HasPrefix(r.b[r.i:], []byte(s)) {
		return false
	}
	r.i += len(s)
	return true
}

// str reads a string of printable ASCII without escapes.
func (r *canonicalReader) str() string {
	if r.bad || r.i >= len(r.b) || r.b[r.i] != '"' {
		r.bad = true
		return ""
	}
	start := r.i + 1
	for j := start; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			r.i = j + 1
			switch r.mode {
			case skipped:
				return ""
			case fromTable:
				return r.in.Intern(r.b[start:j])
			case aliased:
				if j == start {
					return ""
				}
				return unsafe.String(&r.b[start], j-start)
			}
			return string(r.b[start:j])
		case c < 0x20 || c > 0x7e || c == '\\':
			r.bad = true
			return ""
		}
	}
	r.bad = true
	return ""
}

func (r *canonicalReader) field(name string) string {
	if !r.literal(name) {
		r.bad = true
		return ""
	}
	return r.str()
}

func (r *canonicalReader) optional(name string) string {
	if !r.literal(name) {
		return ""
	}
	return r.str()
}

// uint reads a decimal without sign or leading zeros.
func (r *canonicalReader) uint() uint64 {
	start, n := r.i, uint64(0)
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		if n > (1<<64-1)/10-1 {
			r.bad = true
			return 0
		}
		n = n*10 + uint64(r.b[r.i]-'0')
		r.i++
	}
	if r.i == start || (r.b[start] == '0' && r.i-start > 1) {
		r.bad = true
	}
	return n
}

// time reads "2006-01-02T15:04:05.000000Z" (TimeFormat in UTC).
func (r *canonicalReader) time() time.Time {
	const layout = `"0000-00-00T00:00:00.000000Z"`
	if r.bad || len(r.b)-r.i < len(layout) {
		r.bad = true
		return time.Time{}
	}
	s := r.b[r.i : r.i+len(layout)]
	var n [7]int
	part := 0
	for j := 1; j < len(layout)-2; j++ {
		if layout[j] != '0' {
			if s[j] != layout[j] {
				r.bad = true
				return time.Time{}
			}
			part++
			continue
		}
		c := s[j]
		if c < '0' || c > '9' {
			r.bad = true
			return time.Time{}
		}
		n[part] = n[part]*10 + int(c-'0')
	}
	if s[len(layout)-2] != 'Z' || s[len(layout)-1] != '"' {
		r.bad = true
		return time.Time{}
	}
	// time.Date normalises out-of-range fields (month 13, second 61); encoding/json refuses them.
	if n[1] < 1 || n[1] > 12 || n[2] < 1 || n[2] > daysIn(n[1], n[0]) || n[3] > 23 || n[4] > 59 || n[5] > 59 {
		r.bad = true
		return time.Time{}
	}
	r.i += len(layout)
	return time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], n[6]*1000, time.UTC)
}

// daysIn is the number of days in month of year (proleptic Gregorian, as package time counts).
func daysIn(month, year int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return int(monthDays[month])
}

var monthDays = [13]uint8{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// Interner hands out one string per distinct value, so that a replay decoding millions of events
// does not allocate the same few thousand ids (event types, resellers, tenants, licenses)
// millions of times. It belongs to one goroutine. Past its limit it stops remembering and
// allocates as usual.
type Interner struct {
	m     map[string]string
	limit int
}

// NewInterner returns an interner that remembers at most limit strings.
func NewInterner(limit int) *Interner { return &Interner{m: map[string]string{}, limit: limit} }

// Intern returns b as a string, the same one each time (nil: a new string each time).
func (in *Interner) Intern(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok { // the lookup does not allocate
		return s
	}
	s := string(b)
	if len(in.m) < in.limit {
		in.m[s] = s
	}
	return s
}
