package handlers

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// The fast path of strict decoding. Most requests on the hot paths (seat.register,
// license.validate) are flat objects of plain strings, and encoding/json's reflective decoder
// costs more than the rest of their decoding put together. fastDecode takes exactly those: an
// object whose every key is one of the target's string fields, spelled as its json tag says,
// given once, each value a string without escapes or control characters. Anything else — another
// key, a number, an escape, a null, a case-folded name, trailing data — it leaves to
// decodeStrict's general path, which decides it and explains a refusal. So the fast path never
// refuses, and what it accepts decodes to what encoding/json would decode (FuzzFastDecode).

// fastPlan is, for one struct type, where each json name's string field is; names of fields that
// are not plain strings map to nil (seeing one sends the body to the general path).
type fastPlan map[string][]int

var fastPlans sync.Map // reflect.Type -> fastPlan (nil: the type is not for the fast path)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// planFor builds (once) the fast plan of struct type t, or nil if t is not for the fast path.
func planFor(t reflect.Type) fastPlan {
	if p, ok := fastPlans.Load(t); ok {
		return p.(fastPlan)
	}
	plan := fastPlan{}
	if !addFields(plan, t, nil) {
		plan = nil
	}
	fastPlans.Store(t, plan)
	return plan
}

// addFields adds t's fields under index path at; false if t has what the fast path does not
// follow (its own JSON decoding, or two fields of one name).
func addFields(plan fastPlan, t reflect.Type, at []int) bool {
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		path := append(append([]int(nil), at...), i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if !addFields(plan, f.Type, path) {
				return false
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, twice := plan[name]; twice {
			return false
		}
		plain := f.Type.Kind() == reflect.String && !strings.Contains(tag, ",string") &&
			!reflect.PointerTo(f.Type).Implements(jsonUnmarshaler) && !reflect.PointerTo(f.Type).Implements(textUnmarshaler)
		if plain {
			plan[name] = path
		} else {
			plan[name] = nil
		}
	}
	return true
}

// fastDecode decodes body into v (a pointer to a zero struct) if the fast path takes it, and
// reports whether it did; v is unchanged when it did not.
func fastDecode(body []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	plan := planFor(rv.Elem().Type())
	if plan == nil || !utf8.Valid(body) {
		return false
	}
	type pair struct {
		key, value string
		path       []int
	}
	var pairs [8]pair
	found := pairs[:0]
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			key, next, ok := plainString(body, i)
			if !ok {
				return false
			}
			path := plan[key]
			if path == nil {
				return false // unknown, not a plain string, or another spelling: the general path
			}
			for _, p := range found {
				if p.key == key {
					return false // twice: the general path refuses it
				}
			}
			i = skipSpace(body, next)
			if i >= len(body) || body[i] != ':' {
				return false
			}
			value, next, ok := plainString(body, skipSpace(body, i+1))
			if !ok {
				return false
			}
			found = append(found, pair{key, value, path})
			i = skipSpace(body, next)
			if i < len(body) && body[i] == ',' {
				i = skipSpace(body, i+1)
				continue
			}
			if i < len(body) && body[i] == '}' {
				i++
				break
			}
			return false
		}
	}
	if skipSpace(body, i) != len(body) {
		return false
	}
	target := rv.Elem()
	for _, p := range found {
		target.FieldByIndex(p.path).SetString(p.value)
	}
	return true
}

// skipSpace returns the index of the first non-whitespace byte at or after i (JSON whitespace).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] that has no escape and no control character, and
// returns its content and the index after its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return string(b[i+1 : j]), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}
