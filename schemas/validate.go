package schemas

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator checks events against the embedded schemas. Schemas are compiled once, on first use.
// It is for tests and audits (a general validator costs 15–20 µs a document), not the write path.
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

func (v *Validator) schema(url string, load func() ([]byte, error)) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.compiled[url]; ok {
		return s, nil
	}
	raw, err := load()
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

func validate(s *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// EventData validates an event's data against its type's schema.
func (v *Validator) EventData(eventType string, data []byte) error {
	s, err := v.schema(EventURL(eventType), func() ([]byte, error) { return Event(eventType) })
	if err != nil {
		return err
	}
	return validate(s, data)
}

// Envelope validates a stored or published event's envelope (its data is checked by EventData).
func (v *Validator) Envelope(event []byte) error {
	s, err := v.schema(EnvelopeURL, func() ([]byte, error) { return Envelope(), nil })
	if err != nil {
		return err
	}
	return validate(s, event)
}
