package schemas_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/schemas"
)

var rewrite = flag.Bool("rewrite", false, "regenerate events/*.json from the Go event types")

// schemaOf derives a JSON Schema from a Go type the way encoding/json encodes it: json tags name
// properties, fields without omitempty are required, and nothing else is allowed.
func schemaOf(t reflect.Type) map[string]any {
	if t == reflect.TypeOf(time.Time{}) {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	if t == reflect.TypeOf(json.RawMessage{}) {
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props, required := map[string]any{}, []string{}
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for i := range t.NumField() {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				if f.Anonymous && tag == "" {
					walk(f.Type)
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				props[name] = schemaOf(f.Type)
				if !strings.Contains(opts, "omitempty") {
					required = append(required, name)
				}
			}
		}
		walk(t)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	panic("schemas: no JSON Schema mapping for " + t.String())
}

func generated(t *testing.T, typ string) []byte {
	t.Helper()
	e, err := domain.DecodeEvent(typ, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	s := schemaOf(reflect.TypeOf(e))
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = schemas.EventURL(typ)
	s["title"] = typ
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestEventSchemasMatchGoTypes: every event type has a schema, and it is the one its Go type
// implies. After a deliberate change to an event, run go test ./schemas -rewrite.
func TestEventSchemasMatchGoTypes(t *testing.T) {
	for _, typ := range domain.EventTypes {
		want := generated(t, typ)
		if *rewrite {
			if err := os.WriteFile("events/"+typ+".json", want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := schemas.Event(typ)
		if err != nil {
			t.Fatalf("%v (run go test ./schemas -rewrite)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("events/%s.json does not match the Go type (run go test ./schemas -rewrite and review the diff)", typ)
		}
	}
}

func TestSchemasValidate(t *testing.T) {
	v := schemas.NewValidator()
	// A zero event of each type validates; the same with an unknown field or a wrong type does not.
	for _, typ := range domain.EventTypes {
		e, _ := domain.DecodeEvent(typ, []byte(`{}`))
		data, _ := json.Marshal(e)
		if err := v.EventData(typ, data); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		extra := append(bytes.TrimSuffix(data, []byte("}")), []byte(`,"surprise":1}`)...)
		if bytes.Equal(data, []byte("{}")) {
			extra = []byte(`{"surprise":1}`)
		}
		if v.EventData(typ, extra) == nil {
			t.Errorf("%s accepted an unknown field", typ)
		}
	}
	if v.EventData(domain.TypeSeatRegistered, []byte(`{"licenseId":"l","resellerId":"r","tenantId":"t","endUserCompany":"A","endUserName":"b","period":"zero"}`)) == nil {
		t.Error("a string period validated")
	}
	if v.EventData("license.exploded.v1", []byte(`{}`)) == nil {
		t.Error("an unknown event type validated")
	}
	good := []byte(`{"specversion":"1.0","id":"01JABCDEFGHJKMNPQRSTVWXYZ0","source":"licledger","type":"seat.registered.v1","subject":"l1","time":"2026-11-23T08:00:00.000000Z","sequence":7,"stream":"license/l1","version":2,"reseller":"r1","data":{}}`)
	if err := v.Envelope(good); err != nil {
		t.Errorf("envelope: %v", err)
	}
	if v.Envelope(bytes.Replace(good, []byte(`"sequence":7`), []byte(`"sequence":0`), 1)) == nil {
		t.Error("sequence 0 validated")
	}
	if v.Envelope(bytes.Replace(good, []byte(`2026-11-23T08`), []byte(`yesterday`), 1)) == nil {
		t.Error("a malformed time validated")
	}
}
