package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/schemas"
)

// decodeStrict decodes exactly one JSON object into v, refusing unknown fields, wrong types and
// trailing data, and names the field at fault. A body of the wrong shape is SCHEMA_VIOLATION
// (explainRefusal then lets the endpoint's schema say exactly what is wrong), one that is not
// JSON MALFORMED_JSON.
// Invalid UTF-8 and a key twice in one object are refused too: encoding/json would quietly
// replace the bytes with U+FFFD and keep the last of the two values, where another reader of the
// same request (a proxy, a validator, an auditor's tool) may keep the first.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if fastDecode(body, v) {
		return nil
	}
	if !utf8.Valid(body) {
		return &domain.Error{Code: CodeMalformedJSON, Message: fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8At(body))}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return &domain.Error{Code: CodeMalformedJSON, Message: "unexpected data after the JSON object"}
	}
	if key, dup := duplicateKey(body); dup {
		return &domain.Error{Code: CodeMalformedJSON, Field: key, Message: "appears twice in one object"}
	}
	return nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// duplicateKey returns the first key found twice in one object of body, which must be valid
// JSON. Keys are compared the way encoding/json matches them to fields: ignoring case. Requests
// take the fast path, a scan without allocations; a body with an escape, or an object with many
// keys, takes the decoder's tokens and a map.
func duplicateKey(body []byte) (string, bool) {
	if bytes.IndexByte(body, '\\') >= 0 {
		return duplicateKeyByTokens(body)
	}
	type key struct {
		depth int
		name  []byte
	}
	var buf [16]key
	keys, depth := buf[:0], 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{', '[':
			depth++
		case '}', ']':
			for len(keys) > 0 && keys[len(keys)-1].depth == depth {
				keys = keys[:len(keys)-1]
			}
			depth--
		case '"':
			end := i + 1 + bytes.IndexByte(body[i+1:], '"') // no escapes: the next quote ends it
			name := body[i+1 : end]
			j := end + 1
			for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r') {
				j++
			}
			if j < len(body) && body[j] == ':' { // a string followed by a colon is a key
				n := 0
				for k := len(keys) - 1; k >= 0 && keys[k].depth == depth; k-- {
					if bytes.EqualFold(keys[k].name, name) {
						return string(name), true
					}
					n++
				}
				if n == 32 {
					return duplicateKeyByTokens(body) // linear search would go quadratic
				}
				keys = append(keys, key{depth, name})
			}
			i = end
		}
	}
	return "", false
}

func duplicateKeyByTokens(body []byte) (string, bool) {
	type frame struct {
		object, wantKey bool
		keys            map[string]struct{}
	}
	var stack []frame
	valueDone := func() { // a value ended: an object's next token is a key
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				stack = append(stack, frame{object: v == '{', wantKey: v == '{'})
			} else {
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].wantKey {
				f := &stack[n-1]
				folded := strings.ToLower(strings.ToUpper(v))
				if _, dup := f.keys[folded]; dup {
					return v, true
				}
				if f.keys == nil {
					f.keys = map[string]struct{}{}
				}
				f.keys[folded], f.wantKey = struct{}{}, false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// requestSchemas explains refused request bodies. It compiles an endpoint's schema the first
// time one of its requests is refused.
var requestSchemas = schemas.NewValidator()

// explainRefusal replaces the decoder's account of a body of the wrong shape with the endpoint
// schema's: the JSON pointer of the value at fault and what the schema wants there. Strict
// decoding into the Go types is the check on the hot path (a general validator costs as much as
// the rest of a command); only a refused body pays for the validator. If the schema finds no
// fault (the two disagree, say on 1.0 or 1e30 for an integer), the decoder's account stands.
func explainRefusal(kind, name string, body []byte, err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != CodeSchemaViolation {
		return err
	}
	if se := schemaRefusal(kind, name, body, de.Field); se != nil {
		return se
	}
	return err
}

// refuseNulls refuses a null the schema does not allow. encoding/json reads null as "leave the
// field alone", so the decoder alone would take {"licenseId": null} for a body without one. Only
// bodies with the four letters somewhere (a value or inside a string) pay for the validator.
func refuseNulls(kind, name string, body []byte) error {
	if !bytes.Contains(body, []byte("null")) {
		return nil
	}
	return schemaRefusal(kind, name, body, "")
}

// schemaRefusal is the endpoint schema's refusal of body as a SCHEMA_VIOLATION, naming the fault
// at field if the schema sees one there, else its first; nil if the schema finds nothing wrong.
func schemaRefusal(kind, name string, body []byte, field string) error {
	path := schemas.RequestPath(kind, name)
	faults := requestSchemas.Faults(path, body)
	if len(faults) == 0 {
		return nil
	}
	f := faults[0]
	for _, g := range faults {
		if strings.Join(g.Location, ".") == field {
			f = g
			break
		}
	}
	msg := fmt.Sprintf("%s (schema %s)", f.Message, path)
	if len(faults) > 1 {
		msg = fmt.Sprintf("%s (schema %s, which finds %d faults in all)", f.Message, path, len(faults))
	}
	return &domain.Error{Code: CodeSchemaViolation, Field: strings.Join(f.Location, "."), Message: msg}
}

// decodeRequest decodes an endpoint's body into v, the one way every command, query and
// Endpoint.Check does: a null the schema refuses is refused first (the decoder would read it as
// absent), then the body is decoded strictly, and a body of the wrong shape is explained by the
// endpoint's schema.
func decodeRequest(kind, name string, body []byte, v any) error {
	if err := refuseNulls(kind, name, body); err != nil {
		return err
	}
	return explainRefusal(kind, name, body, decodeStrict(body, v))
}

// Check decodes body the way the endpoint does, without acting on it: nil if the ledger takes
// its shape, else the refusal the ledger would answer (SCHEMA_VIOLATION or MALFORMED_JSON).
// Values are not looked at (that an id exists, a number is in range): the domain does that.
func (e Endpoint) Check(body []byte) error {
	return decodeRequest(e.Kind, e.Name, body, reflect.New(e.Request).Interface())
}

func decodeError(err error) *domain.Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := wireField(typeErr.Field)
		if field == "" {
			return &domain.Error{Code: CodeSchemaViolation, Message: fmt.Sprintf("expected a JSON object, got %s", typeErr.Value)}
		}
		return &domain.Error{Code: CodeSchemaViolation, Field: field, Message: fmt.Sprintf("must be %s, got %s", jsonKind(typeErr.Type), typeErr.Value)}
	case errors.As(err, &syntaxErr):
		return &domain.Error{Code: CodeMalformedJSON, Message: fmt.Sprintf("invalid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &domain.Error{Code: CodeSchemaViolation, Field: field, Message: "unknown field"}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &domain.Error{Code: CodeMalformedJSON, Message: "truncated JSON"}
	}
	return &domain.Error{Code: CodeMalformedJSON, Message: err.Error()}
}

// wireField drops the Go names of embedded structs from a decoder's field path
// ("PlanCreate.seats" -> "seats"): wire names are camelCase, Go type names are not.
func wireField(path string) string {
	parts := strings.Split(path, ".")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && !unicode.IsUpper(rune(p[0])) {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

// jsonKind names a Go type the way a JSON user thinks of it.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "of another type"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
