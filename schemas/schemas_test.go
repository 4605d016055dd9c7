package schemas_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/httpapi"
	"github.com/licledger/licledger/handlers/natsapi"
	"github.com/licledger/licledger/schemas"
)

var rewrite = flag.Bool("rewrite", false, "regenerate the schemas from the Go types")

// encode is a schema file's bytes.
func encode(t *testing.T, s map[string]any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// matchOrRewrite compares the schema file at path with want, or with -rewrite writes it.
func matchOrRewrite(t *testing.T, path string, want []byte) {
	t.Helper()
	if *rewrite {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := schemas.Read(path)
	if err != nil {
		t.Errorf("%v (run go test ./schemas -rewrite)", err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s does not match its Go type (run go test ./schemas -rewrite and review the diff)", path)
	}
}

// TestEndpointSchemasMatchGoTypes: every endpoint's request and reply schema, and the error
// body's, is the one its Go types imply. After a deliberate change, go test ./schemas -rewrite.
func TestEndpointSchemasMatchGoTypes(t *testing.T) {
	if *rewrite {
		for _, dir := range []string{"commands", "queries"} {
			old, _ := filepath.Glob(dir + "/*.json")
			for _, f := range old {
				os.Remove(f)
			}
		}
	}
	for _, e := range handlers.Endpoints() {
		matchOrRewrite(t, schemas.RequestPath(e.Kind, e.Name), encode(t, e.RequestSchema()))
		matchOrRewrite(t, schemas.ReplyPath(e.Kind, e.Name), encode(t, e.ReplySchema()))
	}
	matchOrRewrite(t, "error.json", encode(t, handlers.ErrorSchema()))
}

func generated(t *testing.T, typ string) []byte {
	t.Helper()
	e, err := domain.DecodeEvent(typ, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	s := schemas.Of(reflect.TypeOf(e))
	s["$schema"] = schemas.Draft
	s["$id"] = schemas.EventURL(typ)
	s["title"] = typ
	return encode(t, s)
}

// TestEventSchemasMatchGoTypes: every event type has a schema, and it is the one its Go type
// implies. After a deliberate change to an event, run go test ./schemas -rewrite.
func TestEventSchemasMatchGoTypes(t *testing.T) {
	for _, typ := range domain.EventTypes {
		matchOrRewrite(t, schemas.EventPath(typ), generated(t, typ))
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

// example reads an endpoint's good example from testdata.
func example(t *testing.T, e handlers.Endpoint) []byte {
	t.Helper()
	dir := map[string]string{schemas.Command: "commands", schemas.Query: "queries"}[e.Kind]
	b, err := os.ReadFile(filepath.Join("testdata", dir, e.Name+".json"))
	if err != nil {
		t.Fatalf("%s %s has no example: %v", e.Kind, e.Name, err)
	}
	return b
}

// wrongType returns a JSON value of another type than v.
func wrongType(v any) any {
	switch v.(type) {
	case string:
		return 12345
	case float64, bool, nil:
		return "twelve"
	}
	return "an object or array was expected"
}

// TestExamplesAgreeWithSchemasAndGoTypes: every endpoint has a good example in testdata that its
// schema validates and its Go type decodes strictly; and what one refuses, the other refuses:
// the example with an unknown field, with each field of the wrong type or null, and each of
// testdata/bad.json, are refused by the schema and by the ledger's decoding, which names the
// same field.
func TestExamplesAgreeWithSchemasAndGoTypes(t *testing.T) {
	v := schemas.NewValidator()
	both := func(e handlers.Endpoint, body []byte, why, field string) {
		t.Helper()
		if v.Request(e.Kind, e.Name, body) == nil {
			t.Errorf("%s %s, %s: the schema took %s", e.Kind, e.Name, why, body)
		}
		err := e.Check(body)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != "SCHEMA_VIOLATION" || de.Field != field {
			t.Errorf("%s %s, %s: the ledger answered %v; want SCHEMA_VIOLATION naming %q", e.Kind, e.Name, why, err, field)
		}
	}
	endpoints := map[string]handlers.Endpoint{}
	for _, e := range handlers.Endpoints() {
		endpoints[e.Kind+" "+e.Name] = e
		good := example(t, e)
		if err := v.Request(e.Kind, e.Name, good); err != nil {
			t.Errorf("%s %s: the schema refused the example: %v", e.Kind, e.Name, err)
		}
		if err := e.Check(good); err != nil {
			t.Errorf("%s %s: the ledger refused the example: %v", e.Kind, e.Name, err)
		}
		var fields map[string]any
		if err := json.Unmarshal(good, &fields); err != nil {
			t.Fatal(err)
		}
		fields["surplus"] = true
		b, _ := json.Marshal(fields)
		both(e, b, "an unknown field", "surplus")
		delete(fields, "surplus")
		for name, value := range fields {
			for _, bad := range []any{wrongType(value), nil} {
				fields[name] = bad
				b, _ := json.Marshal(fields)
				both(e, b, fmt.Sprintf("%s = %v", name, bad), name)
			}
			fields[name] = value
		}
	}
	var bad []struct {
		Why, Kind, Name, Field string
		Body                   json.RawMessage
	}
	raw, err := os.ReadFile("testdata/bad.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &bad); err != nil {
		t.Fatal(err)
	}
	for _, c := range bad {
		e, ok := endpoints[c.Kind+" "+c.Name]
		if !ok {
			t.Fatalf("bad.json names no endpoint %s %s", c.Kind, c.Name)
		}
		both(e, c.Body, c.Why, c.Field)
	}
}

// TestAPIDocumentsMatchTheEndpoints: the committed OpenAPI and AsyncAPI documents are the ones
// the endpoint table, the event types and the schema files generate. After a deliberate change, go test ./schemas -rewrite.
func TestAPIDocumentsMatchTheEndpoints(t *testing.T) {
	doc, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	matchOrRewrite(t, "openapi.json", encode(t, doc))
	async, err := natsapi.AsyncAPI()
	if err != nil {
		t.Fatal(err)
	}
	matchOrRewrite(t, "asyncapi.json", encode(t, async))
	for _, tag := range doc["tags"].([]any) {
		if d, _ := tag.(map[string]any)["description"].(string); d == "" {
			t.Errorf("OpenAPI tag %v has no description (httpapi.tagDescriptions)", tag)
		}
	}
}
