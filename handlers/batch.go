package handlers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/schemas"
)

// batch.submit carries many commands in one request (a partner onboarding thousands of users, a
// nightly sync). They are decided in order in one turn of the sequencer, each authorized and
// decided exactly as if sent alone, so each sees the ones before it (quota, versions); their
// events are contiguous in the log and share one group commit, and one command id covers the
// batch. Without atomic, a refused command appends nothing and the others go on; with atomic,
// the first refusal refuses the batch and nothing is appended.

// Limits of one batch: at most MaxBatchCommands commands, in a body of at most MaxBatchPayload
// bytes (under NATS's default max_payload of 1 MiB, with room for the headers). batch.submit's
// Endpoint carries MaxBatchPayload, which the edges apply instead of their per-request limit.
const (
	MaxBatchCommands = 1000
	MaxBatchPayload  = 960 << 10
)

// batchWire is batch.submit's body.
type batchWire struct {
	// Commands are decided in this order.
	Commands batchCommands `json:"commands"`
	// Atomic appends every command's events or none: the first refusal refuses the whole batch.
	Atomic bool `json:"atomic,omitempty"`
	// CommandID covers the whole batch; its commands carry none of their own.
	CommandID string `json:"commandId,omitempty"`
}

// batchCommands are a batch's commands: 1 to MaxBatchCommands of them.
type batchCommands []batchCommand

func (batchCommands) JSONSchema() map[string]any {
	return map[string]any{"type": "array", "items": schemas.Of(reflect.TypeFor[batchCommand]()), "minItems": 1, "maxItems": MaxBatchCommands}
}

// batchCommand is one command of a batch: its name and its body, as it would be sent alone.
type batchCommand struct {
	Name commandName `json:"name"`
	Body commandBody `json:"body"`
}

// commandName is the name of a command a batch may carry: any but batch.submit and admin.login
// (which needs no token, and whose session token must go to its caller alone).
type commandName string

func (commandName) JSONSchema() map[string]any {
	var names []any
	for _, n := range CommandNames() {
		if n != domain.BatchSubmit && n != domain.AdminLoginOp {
			names = append(names, n)
		}
	}
	return map[string]any{"type": "string", "enum": names}
}

// commandBody is a command's body inside a batch, kept as it came for the command's own decoder.
type commandBody json.RawMessage

func (commandBody) JSONSchema() map[string]any {
	return map[string]any{"type": "object", "description": "the command's body, as its own request schema says"}
}

func (b *commandBody) UnmarshalJSON(data []byte) error {
	*b = append((*b)[:0], data...)
	return nil
}

func (b commandBody) MarshalJSON() ([]byte, error) { return json.RawMessage(b).MarshalJSON() }

// batchResult is batch.submit's result: one outcome per command, in the batch's order.
type batchResult struct {
	Results []batchOutcome `json:"results"`
	// Refused counts the outcomes that are errors.
	Refused int `json:"refused"`
}

// batchOutcome is one command's outcome: its result, events and version as its own reply would
// have them, or its error.
type batchOutcome struct {
	Result  any          `json:"result,omitempty"`
	Events  []eventRef   `json:"events,omitempty"`
	Version uint32       `json:"version,omitempty"`
	Error   *errorDetail `json:"error,omitempty"`
}

// batch is a decoded batch: each command prepared, or refused before the sequencer.
type batch struct {
	prepared  []*prepared     // nil where refused
	refused   []*domain.Error // nil where prepared
	atomic    bool
	secret    bool // some result shows a secret once: the stored reply is sealed
	commandID string
}

// prepareBatch decodes a batch and each of its commands, authorizing each by the caller's role.
// An atomic batch with a command refused here is refused whole.
func prepareBatch(body []byte, env *commandEnv, addressed string) (*batch, error) {
	var w batchWire
	if err := decodeRequest(schemas.Command, domain.BatchSubmit, body, &w); err != nil {
		return nil, err
	}
	switch {
	case len(w.Commands) == 0:
		return nil, domain.Errorf(domain.CodeInvalidArgument, "commands", "a batch needs at least one command")
	case len(w.Commands) > MaxBatchCommands:
		return nil, domain.Errorf(domain.CodeInvalidArgument, "commands", "a batch takes at most %d commands; this one has %d", MaxBatchCommands, len(w.Commands))
	}
	b := &batch{prepared: make([]*prepared, len(w.Commands)), refused: make([]*domain.Error, len(w.Commands)), atomic: w.Atomic, commandID: w.CommandID}
	for i, c := range w.Commands {
		p, err := prepareInBatch(string(c.Name), c.Body, env)
		if err != nil {
			e := inBatch(i, asCoded(err))
			if w.Atomic {
				return nil, e
			}
			b.refused[i] = e
			continue
		}
		p.caller, p.addressed = &env.caller, addressed
		b.prepared[i], b.secret = p, b.secret || p.secret
	}
	return b, nil
}

// prepareInBatch decodes one command of a batch as Command would decode it alone.
func prepareInBatch(name string, body []byte, env *commandEnv) (*prepared, error) {
	spec, ok := commands[name]
	if !ok || name == domain.BatchSubmit {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "name", "unknown command %q", name)
	}
	if f := authorize(env.caller.Role, name); f != nil {
		return nil, f.Err
	}
	p, err := spec.decode(name, body, env)
	if err != nil {
		return nil, err
	}
	if p.meta.CommandID != "" {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "commandId", "the batch's command id covers its commands: give none here")
	}
	return p, nil
}

// inBatch names the command of a batch an error is about: "commands.3.body.<field>" (or
// "commands.3.name"), and says which in the message.
func inBatch(i int, e *domain.Error) *domain.Error {
	field := "commands." + strconv.Itoa(i)
	switch {
	case e.Field == "name":
		field += ".name"
	case e.Field != "" && e.Field != "subject" && e.Field != "Authorization":
		field += ".body." + e.Field
	}
	return &domain.Error{Code: e.Code, Field: field, Message: fmt.Sprintf("command %d: %s", i, e.Message)}
}

// batchDecision is the function the sequencer runs for a batch: each prepared command decided in
// order against the write model as the ones before it left it.
func (l *Ledger) batchDecision(b *batch) func(*eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
	return func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		var undo *domain.Undo
		if b.atomic {
			undo = domain.NewUndo(l.state)
		}
		outcomes, refused := make([]decided, len(b.prepared)), b.refused
		for i, p := range b.prepared {
			if p == nil {
				continue
			}
			d, err := l.decide(tx, p, undo)
			if err != nil {
				e := inBatch(i, asCoded(err))
				if b.atomic {
					undo.Rollback()
					return nil, e
				}
				refused[i] = e // a refused command appended nothing, and the others go on
				continue
			}
			outcomes[i] = d
		}
		return func(rc eventstore.Receipt) []byte {
			result := batchResult{Results: make([]batchOutcome, len(outcomes))}
			events := rc.Events
			for i, d := range outcomes {
				if e := refused[i]; e != nil {
					detail := detailOf(e)
					result.Results[i], result.Refused = batchOutcome{Error: &detail}, result.Refused+1
					continue
				}
				mine := events[:d.events:d.events]
				events = events[d.events:]
				result.Results[i] = batchOutcome{Result: d.result, Events: l.durable(mine, d), Version: d.version}
			}
			all := make([]eventRef, 0, len(rc.Events))
			for _, o := range result.Results {
				all = append(all, o.Events...)
			}
			reply, _ := json.Marshal(commandReply{Result: result, Events: all, Sequence: rc.Sequence}) // plain data
			return l.secrets.storeReply(reply, b.secret)
		}, nil
	}
}
