package client

import (
	"context"
	"encoding/json"
	"fmt"
)

// MaxBatch is how many commands one batch.submit takes (the ledger refuses more).
const MaxBatch = 1000

// BatchCommand is one command of a batch: its name and body, as it would be sent alone (without
// a commandId: the batch's covers it).
type BatchCommand struct {
	Name string `json:"name"`
	Body any    `json:"body"`
}

// BatchOutcome is one command's outcome in a batch: its result, events and version, or Error.
type BatchOutcome struct {
	Result  json.RawMessage `json:"result,omitempty"`
	Events  []EventRef      `json:"events,omitempty"`
	Version uint32          `json:"version,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// BatchReply is batch.submit's reply: one outcome per command in order, how many were refused,
// and every event the batch appended, contiguous in the log.
type BatchReply struct {
	Results []BatchOutcome
	Refused int
	Events  []EventRef
	Raw     []byte // the reply exactly as received
}

// Batch sends up to MaxBatch commands as one batch.submit: decided in order, each as if sent
// alone, in one group commit. With atomic, the first refusal refuses the batch (a *Error naming
// commands.<index>) and nothing is appended; without it, each refusal is that command's
// outcome. A non-empty commandID makes the batch idempotent as a whole.
func (c *Client) Batch(ctx context.Context, commands []BatchCommand, atomic bool, commandID string) (*BatchReply, error) {
	body := struct {
		Commands []BatchCommand `json:"commands"`
		Atomic   bool           `json:"atomic,omitempty"`
	}{commands, atomic}
	r, err := c.Command(ctx, "batch.submit", body, commandID)
	if err != nil {
		return nil, err
	}
	var result struct {
		Results []BatchOutcome `json:"results"`
		Refused int            `json:"refused"`
	}
	if err := json.Unmarshal(r.Result, &result); err != nil {
		return nil, fmt.Errorf("client: batch.submit: bad result: %w", err)
	}
	return &BatchReply{Results: result.Results, Refused: result.Refused, Events: r.Events, Raw: r.Raw}, nil
}
