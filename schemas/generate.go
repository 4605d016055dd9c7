package schemas

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Schemer is a Go type that describes its own JSON encoding, where reflection cannot: a map
// rendered at a view level, a result that is one of two shapes.
type Schemer interface {
	JSONSchema() map[string]any
}

// Draft is the JSON Schema dialect of every schema here.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Of derives the JSON Schema of a Go type the way encoding/json encodes it: json tags name
// properties, fields without omitempty are required, and nothing else is allowed. A type that
// implements Schemer gives its own. It panics on a kind JSON has no schema for here (a channel,
// a float): the generator runs in tests, and a new kind must be mapped deliberately.
func Of(t reflect.Type) map[string]any {
	if t.Implements(reflect.TypeFor[Schemer]()) {
		return reflect.Zero(t).Interface().(Schemer).JSONSchema()
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case reflect.TypeFor[json.RawMessage](), reflect.TypeFor[any]():
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return Of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": Of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": Of(t.Elem())}
	case reflect.Struct:
		// Embedded structs' fields are promoted; as in encoding/json, a field nearer the top
		// shadows a deeper one of the same name (a wire form redeclaring a domain field).
		type field struct {
			depth    int
			schema   map[string]any
			required bool
		}
		fields := map[string]field{}
		var order []string
		var walk func(t reflect.Type, depth int)
		walk = func(t reflect.Type, depth int) {
			for i := range t.NumField() {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				if f.Anonymous && tag == "" {
					walk(f.Type, depth+1)
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if name == "-" || !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				if old, seen := fields[name]; seen && old.depth <= depth {
					continue
				} else if !seen {
					order = append(order, name)
				}
				fields[name] = field{depth, Of(f.Type), !strings.Contains(opts, "omitempty")}
			}
		}
		walk(t, 0)
		props, required := map[string]any{}, []string{}
		for _, name := range order {
			props[name] = fields[name].schema
			if fields[name].required {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	panic("schemas: no JSON Schema mapping for " + t.String())
}
