package schemas

import (
	"embed"
	"fmt"
)

//go:embed envelope.v1.json events/*.json
var files embed.FS

// BaseURL is the $id prefix of every schema.
const BaseURL = "https://licledger.dev/schemas/"

// EventURL is the $id of an event type's data schema.
func EventURL(eventType string) string { return BaseURL + "events/" + eventType + ".json" }

// EnvelopeURL is the $id of the envelope schema.
const EnvelopeURL = BaseURL + "envelope.v1.json"

// Event returns the schema of an event type's data.
func Event(eventType string) ([]byte, error) {
	b, err := files.ReadFile("events/" + eventType + ".json")
	if err != nil {
		return nil, fmt.Errorf("schemas: no schema for event type %q", eventType)
	}
	return b, nil
}

// Envelope returns the schema of the event envelope.
func Envelope() []byte {
	b, _ := files.ReadFile("envelope.v1.json") // embedded: always present
	return b
}
