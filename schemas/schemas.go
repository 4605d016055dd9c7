package schemas

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed envelope.v1.json error.json openapi.json asyncapi.json events/*.json commands/*.json queries/*.json
var files embed.FS

//go:embed testdata/commands/*.json testdata/queries/*.json
var examples embed.FS

// Example returns an endpoint's example request body (testdata/<commands|queries>/<name>.json):
// the API documents show it, and schemas_test holds it valid.
func Example(kind, name string) ([]byte, error) {
	return examples.ReadFile("testdata/" + folder(kind) + name + ".json")
}

// Files is every schema, by its path under BaseURL ("commands/seat.register.request.json"), for
// serving them.
var Files = files

// BaseURL is the $id prefix of every schema.
const BaseURL = "https://licledger.dev/schemas/"

// The two kinds of endpoint, as the schemas' folders and the micro endpoints' metadata name them.
const (
	Command = "command"
	Query   = "query"
)

// EventURL is the $id of an event type's data schema.
func EventURL(eventType string) string { return BaseURL + EventPath(eventType) }

// EnvelopeURL is the $id of the envelope schema; ErrorURL that of every refusal's body.
const (
	EnvelopeURL = BaseURL + "envelope.v1.json"
	ErrorURL    = BaseURL + "error.json"
)

// RequestPath and ReplyPath are where an endpoint's schemas live, relative to BaseURL.
func RequestPath(kind, name string) string { return folder(kind) + name + ".request.json" }
func ReplyPath(kind, name string) string   { return folder(kind) + name + ".reply.json" }

// RequestURL and ReplyURL are the $ids of an endpoint's schemas.
func RequestURL(kind, name string) string { return BaseURL + RequestPath(kind, name) }
func ReplyURL(kind, name string) string   { return BaseURL + ReplyPath(kind, name) }

func folder(kind string) string {
	if kind == Command {
		return "commands/"
	}
	return "queries/"
}

// Event returns the schema of an event type's data.
func Event(eventType string) ([]byte, error) { return Read(EventPath(eventType)) }

// EventPath is where an event type's data schema lives, relative to BaseURL.
func EventPath(eventType string) string { return "events/" + eventType + ".json" }

// Envelope returns the schema of the event envelope.
func Envelope() []byte {
	b, _ := files.ReadFile("envelope.v1.json") // embedded: always present
	return b
}

// Read returns the schema at a path relative to BaseURL.
func Read(path string) ([]byte, error) {
	b, err := files.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schemas: no schema %s", path)
	}
	return b, nil
}

// Component is the schema at path made a component of an API document (OpenAPI, AsyncAPI): its
// $id and $schema dropped (the document's refs name it; its dialect is the document's), under a
// name made from its path ("commands/seat.register.request.json" ->
// "commands.seat.register.request").
func Component(path string) (name string, schema map[string]any, err error) {
	raw, err := Read(path)
	if err != nil {
		return "", nil, err
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	delete(schema, "$id")
	delete(schema, "$schema")
	return strings.TrimSuffix(strings.ReplaceAll(path, "/", "."), ".json"), schema, nil
}

// Components collects schema files as an API document's components/schemas.
type Components map[string]any

// Ref adds the schema at path (Component) and returns a reference to it.
func (c Components) Ref(path string) (map[string]any, error) {
	name, s, err := Component(path)
	if err != nil {
		return nil, err
	}
	c[name] = s
	return map[string]any{"$ref": "#/components/schemas/" + name}, nil
}
