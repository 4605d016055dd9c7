package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"

	"github.com/licledger/licledger/domain"
)

// decodeStrict decodes exactly one JSON object into v, refusing unknown fields, wrong types and
// trailing data, and names the field at fault.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return &domain.Error{Code: CodeMalformedJSON, Message: "unexpected data after the JSON object"}
	}
	return nil
}

func decodeError(err error) *domain.Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := wireField(typeErr.Field)
		if field == "" {
			return &domain.Error{Code: CodeMalformedJSON, Message: fmt.Sprintf("expected a JSON object, got %s", typeErr.Value)}
		}
		return &domain.Error{Code: domain.CodeInvalidArgument, Field: field, Message: fmt.Sprintf("must be %s, got %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &syntaxErr):
		return &domain.Error{Code: CodeMalformedJSON, Message: fmt.Sprintf("invalid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &domain.Error{Code: domain.CodeInvalidArgument, Field: field, Message: "unknown field"}
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

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "uint32", "uint64":
		return "an integer"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a number"
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
