package domain

import "strconv"

// The fast path of event decoding. Rebuilding a read model decodes every event in the log, and
// almost all of them are seat and machine events: flat objects of plain strings and integers as
// encoding/json writes them. decodeFlat reads exactly those; anything else (an escape, non-ASCII,
// whitespace, an unknown or differently-cased key, a number that is not a plain integer) reports
// ok == false, and encoding/json decides.

// decodeFlat decodes the hot event types.
func decodeFlat(typ string, data []byte) (Event, bool) {
	switch typ {
	case TypeSeatRegistered, TypeSeatUnregistered:
		var e SeatRegistered
		ok := eachFlatField(data, func(key, str string, num int, isNum bool) bool {
			switch key {
			case "licenseId":
				e.LicenseID = str
			case "resellerId":
				e.ResellerID = str
			case "tenantId":
				e.TenantID = str
			case "endUserCompany":
				e.EndUserCompany = str
			case "endUserName":
				e.EndUserName = str
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
	case TypeMachineDeactivated:
		var e MachineDeactivated
		ok := eachFlatField(data, func(key, str string, _ int, isNum bool) bool {
			switch key {
			case "licenseId":
				e.LicenseID = str
			case "resellerId":
				e.ResellerID = str
			case "tenantId":
				e.TenantID = str
			case "fingerprint":
				e.Fingerprint = str
			default:
				return false
			}
			return !isNum
		})
		return e, ok
	}
	return nil, false
}

// eachFlatField calls field for each member of a flat JSON object whose values are plain strings
// or integers that fit an int. It returns false as soon as field does or anything else turns up.
func eachFlatField(b []byte, field func(key, str string, num int, isNum bool) bool) bool {
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
			var s string
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
			n, err := strconv.Atoi(string(b[start:i]))
			if err != nil || !field(key, "", n, true) {
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

// plainString reads a JSON string of printable ASCII without escapes at b[i], returning it and
// the index after its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return string(b[i+1 : j]), j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", i, false
		}
	}
	return "", i, false
}
