package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Validator checks documents against the embedded schemas. Schemas are compiled once, on first
// use. A general validator costs 15–20 µs a document, as much as the rest of a command, so the
// ledger does not run it on a request it can decode: it runs it to explain a refusal (and tests
// and audits run it on everything).
type Validator struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

// NewValidator returns a validator over the embedded schemas, with formats (date-time) asserted.
func NewValidator() *Validator {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	return &Validator{compiler: c, compiled: map[string]*jsonschema.Schema{}}
}

// schema compiles the schema at path (relative to BaseURL) once.
func (v *Validator) schema(path string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	url := BaseURL + path
	if s, ok := v.compiled[url]; ok {
		return s, nil
	}
	raw, err := Read(path)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", url, err)
	}
	if err := v.compiler.AddResource(url, doc); err != nil {
		return nil, err
	}
	s, err := v.compiler.Compile(url)
	if err != nil {
		return nil, err
	}
	v.compiled[url] = s
	return s, nil
}

// Validate checks doc against the schema at path (relative to BaseURL). A document the schema
// refuses is a *jsonschema.ValidationError; one that is not JSON, another error.
func (v *Validator) Validate(path string, doc []byte) error {
	s, err := v.schema(path)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// EventData validates an event's data against its type's schema.
func (v *Validator) EventData(eventType string, data []byte) error {
	return v.Validate(EventPath(eventType), data)
}

// Envelope validates a stored or published event's envelope (its data is checked by EventData).
func (v *Validator) Envelope(event []byte) error { return v.Validate("envelope.v1.json", event) }

// Request validates an endpoint's request body; Reply its successful reply; Error a refusal.
func (v *Validator) Request(kind, name string, body []byte) error {
	return v.Validate(RequestPath(kind, name), body)
}
func (v *Validator) Reply(kind, name string, body []byte) error {
	return v.Validate(ReplyPath(kind, name), body)
}
func (v *Validator) Error(body []byte) error { return v.Validate("error.json", body) }

// Fault is what a schema found wrong with a document, for an error reply: where (the path of
// the value at fault, as JSON pointer tokens) and what.
type Fault struct {
	Location []string
	Message  string
}

// Faults validates doc against the schema at path and describes every fault found: wrong values
// first, then missing ones, each group in document-location order, so the same document always
// gets the same answer. None if the schema finds nothing wrong (or doc is not JSON: the caller
// knows that better).
func (v *Validator) Faults(path string, doc []byte) []Fault {
	var ve *jsonschema.ValidationError
	if !errors.As(v.Validate(path, doc), &ve) {
		return nil
	}
	var faults, missing []Fault
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		f := Fault{Location: slices.Clone(e.InstanceLocation), Message: e.Error()}
		// The library says "at '<pointer>': <what>"; the reply carries the pointer on its own.
		if _, what, ok := strings.Cut(f.Message, "': "); ok && strings.HasPrefix(f.Message, "at '") {
			f.Message = what
		}
		// A property that must not be there, or must, is the field at fault, not its object.
		switch k := e.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				faults = append(faults, Fault{append(slices.Clone(f.Location), p), "unknown field (the schema allows no other)"})
			}
			return
		case *kind.Required:
			for _, p := range k.Missing {
				missing = append(missing, Fault{append(slices.Clone(f.Location), p), "is required"})
			}
			return
		}
		faults = append(faults, f)
	}
	walk(ve)
	byLocation := func(a, b Fault) int { return slices.Compare(a.Location, b.Location) }
	slices.SortFunc(faults, byLocation)
	slices.SortFunc(missing, byLocation)
	return append(faults, missing...)
}
