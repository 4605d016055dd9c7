package domain

import (
	"math"
	"time"
)

// The fast path of event decoding. Rebuilding a read model decodes every event in the log, and
// almost all of them are seat and machine events: flat objects of plain strings and integers (and
// machine activations' UTC time) as encoding/json writes them. decodeFlat reads exactly those; anything else (an escape, non-ASCII,
// whitespace, an unknown or differently-cased key, a number that is not a plain integer) reports
// ok == false, and encoding/json decides.

// decodeFlat decodes the hot event types. intern, if not nil, gives the ids (license, reseller,
// tenant, end-user company) that repeat from event to event; user names and fingerprints, which
// mostly do not, are allocated.
func decodeFlat(typ string, data []byte, intern func([]byte) string) (Event, bool) {
	id := func(b []byte) string {
		if intern == nil {
			return string(b)
		}
		return intern(b)
	}
	switch typ {
	case TypeSeatRegistered, TypeSeatUnregistered:
		var e SeatRegistered
		ok := eachFlatField(data, func(key, str []byte, num int, isNum bool) bool {
			switch string(key) {
			case "licenseId":
				e.LicenseID = id(str)
			case "resellerId":
				e.ResellerID = id(str)
			case "tenantId":
				e.TenantID = id(str)
			case "endUserCompany":
				e.EndUserCompany = id(str)
			case "endUserName":
				e.EndUserName = string(str)
			case "period":
				e.Period = num
				return isNum
			default:
				return false
			}
			return !isNum
		})
		if !ok {
			return nil, false
		}
		if typ == TypeSeatUnregistered {
			return SeatUnregistered(e), true
		}
		return e, true
	case TypeMachineActivated, TypeMachineDeactivated:
		var e MachineActivated // a deactivation's members are the activation's first four
		activated := typ == TypeMachineActivated
		ok := eachFlatField(data, func(key, str []byte, _ int, isNum bool) bool {
			switch string(key) {
			case "licenseId":
				e.LicenseID = id(str)
			case "resellerId":
				e.ResellerID = id(str)
			case "tenantId":
				e.TenantID = id(str)
			case "fingerprint":
				e.Fingerprint = string(str)
			case "name":
				e.Name = string(str)
				return activated && !isNum
			case "at":
				var ok bool
				e.At, ok = plainUTCTime(str)
				return activated && ok
			default:
				return false
			}
			return !isNum
		})
		if !activated {
			return MachineDeactivated{LicenseID: e.LicenseID, ResellerID: e.ResellerID, TenantID: e.TenantID, Fingerprint: e.Fingerprint}, ok
		}
		return e, ok
	}
	return nil, false
}

// eachFlatField calls field for each member of a flat JSON object whose values are plain strings
// or integers that fit an int. It returns false as soon as field does or anything else turns up.
// Keys and strings are slices of b (no allocation until the caller keeps one).
func eachFlatField(b []byte, field func(key, str []byte, num int, isNum bool) bool) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	i := 1
	if b[i] == '}' {
		return i == len(b)-1
	}
	for {
		key, next, ok := plainString(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return false
		}
		i = next + 1
		if i >= len(b) {
			return false
		}
		if b[i] == '"' {
			var s []byte
			if s, i, ok = plainString(b, i); !ok || !field(key, s, 0, false) {
				return false
			}
		} else {
			start := i
			for i < len(b) && (b[i] == '-' || (b[i] >= '0' && b[i] <= '9')) {
				i++
			}
			digits := b[start:i]
			if len(digits) > 0 && digits[0] == '-' {
				digits = digits[1:]
			}
			if len(digits) > 1 && digits[0] == '0' { // JSON has no leading zeros
				return false
			}
			n, ok := plainInt(b[start:i])
			if !ok || !field(key, nil, n, true) {
				return false
			}
		}
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i == len(b)-1
		default:
			return false
		}
	}
}

// plainUTCTime parses a time in UTC exactly as encoding/json writes one (RFC 3339, "Z", the
// fractional seconds without trailing zeros); anything else reports false.
func plainUTCTime(b []byte) (time.Time, bool) {
	if len(b) == 0 || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	var again [len(time.RFC3339Nano) + 8]byte
	if err != nil || string(t.AppendFormat(again[:0], time.RFC3339Nano)) != string(b) {
		return time.Time{}, false
	}
	return t, true
}

// plainInt parses an optionally negative decimal integer that fits an int (without allocating,
// which strconv.Atoi on a converted string would).
func plainInt(b []byte) (int, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	n := uint64(0)
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case !neg && n <= math.MaxInt:
		return int(n), true
	case neg && n <= -math.MinInt:
		return -int(n), true
	}
	return 0, false
}

// plainString reads a JSON string of printable ASCII without escapes at b[i], returning it (a
// slice of b) and the index after its closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, i, false
		}
	}
	return nil, i, false
}

// SeatEventView is a seat event's data as ViewSeatEvent reads it: slices of the data, valid as
// long as the data is.
type SeatEventView struct {
	LicenseID, ResellerID, TenantID, EndUserCompany, EndUserName []byte
	Period                                                       int
	// Owners runs from the license id's first byte to the tenant id's last: the three ids and
	// the JSON between them, one slice that tells one license (and owners) from another.
	Owners []byte
}

// ViewSeatEvent reads the data of a seat event (registered or unregistered) in exactly the form
// encoding/json writes SeatRegistered: its members in field order, strings of printable ASCII
// without escapes, an integer period, and nothing after the closing brace. Anything else reports
// false: use DecodeEvent, which takes any valid JSON. A replay uses it to apply seat events without
// allocating an Event for each.
func ViewSeatEvent(data []byte) (v SeatEventView, ok bool) {
	r := flatReader{b: data}
	v.LicenseID = r.member(`{"licenseId":`)
	owners := r.i - len(v.LicenseID) - 1
	v.ResellerID = r.member(`,"resellerId":`)
	v.TenantID = r.member(`,"tenantId":`)
	if !r.bad {
		v.Owners = data[owners : r.i-1]
	}
	v.EndUserCompany = r.member(`,"endUserCompany":`)
	v.EndUserName = r.member(`,"endUserName":`)
	if !r.literal(`,"period":`) {
		return v, false
	}
	start := r.i
	for r.i < len(data) && (data[r.i] == '-' || (data[r.i] >= '0' && data[r.i] <= '9')) {
		r.i++
	}
	digits := data[start:r.i]
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > 1 && digits[0] == '0' { // JSON has no leading zeros
		return v, false
	}
	v.Period, ok = plainInt(data[start:r.i])
	return v, ok && !r.bad && r.i == len(data)-1 && data[r.i] == '}'
}

// flatReader walks data in a fixed form; any surprise sets bad.
type flatReader struct {
	b   []byte
	i   int
	bad bool
}

func (r *flatReader) literal(s string) bool {
	if r.bad || len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		r.bad = true
		return false
	}
	r.i += len(s)
	return true
}

// member reads the literal name (with its punctuation) and the plain string after it.
func (r *flatReader) member(name string) []byte {
	if !r.literal(name) {
		return nil
	}
	s, next, ok := plainString(r.b, r.i)
	if !ok {
		r.bad = true
		return nil
	}
	r.i = next
	return s
}
