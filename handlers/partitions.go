package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/projections"
)

// A ledger split by reseller (docs/SCALING.md) runs one Ledger per partition. Each decides its
// own resellers' commands against a state that also holds the system-wide data (products, plans,
// system credentials): partition 0 decides that data, and every other partition copies its
// events into its own log (CopySystemEvent), so no decision ever waits on another partition.

// checkPartition refuses a request addressed to a reseller another partition owns: it was sent
// straight to this partition's subject, or the cluster's mapping has another partition count
// than --partitions.
func (l *Ledger) checkPartition(reseller string) *Failure {
	if reseller == "" || l.partition.Owns(reseller) {
		return nil
	}
	return Refuse(domain.Errorf(CodeMisaddressed, "subject", "reseller %q belongs to another partition than %s: send requests to ledger.v1.cmd.<command>.%s (and check that the cluster's mapping is partition(%d,3))",
		reseller, l.partition, reseller, l.partition.Count))
}

// copyCommandPrefix starts the command id of a copied event: "partition-0/<sequence>", the
// event's place in partition 0's log. The store keeps command ids, so a copy made twice (after
// a restart, or a restore) is applied once.
const copyCommandPrefix = "partition-0/"

// CopySystemEvent appends to this partition's log an event of partition 0's log (its bytes as
// partition 0's stream holds them, at sequence seq there): a system-wide event, which every
// partition holds. The copy has the same type, stream, subject, data and actor, a new id, sequence
// and time of this log, and partition 0's event id as its correlation id. Copying an event twice
// appends it once. It returns once the copy is durable.
func (l *Ledger) CopySystemEvent(ctx context.Context, seq uint64, data []byte) error {
	if l.partition.Index == 0 {
		return errors.New("handlers: partition 0 decides the system-wide data; it copies from nobody")
	}
	env, err := eventstore.DecodeEnvelope(data)
	if err != nil {
		return fmt.Errorf("handlers: partition 0's event %d: %w", seq, err)
	}
	if env.Reseller != "" || env.Tenant != "" {
		return fmt.Errorf("handlers: partition 0's event %d (%s) belongs to reseller %q, not to every partition", seq, env.Type, env.Reseller)
	}
	event, err := domain.DecodeEvent(env.Type, env.Data)
	if err != nil {
		return fmt.Errorf("handlers: partition 0's event %d: %w", seq, err)
	}
	if event.Stream() != env.Stream {
		return fmt.Errorf("handlers: partition 0's event %d is on stream %q, its data belongs on %q", seq, env.Stream, event.Stream())
	}
	cmd := eventstore.Command{ID: copyCommandPrefix + strconv.FormatUint(seq, 10), Actor: env.Actor, CorrelationID: env.ID,
		Digest: sha256.Sum256(data),
		Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
			rec := eventstore.Record{Type: env.Type, Subject: env.Subject, Data: env.Data, Payload: event}
			if err := tx.Append(env.Stream, eventstore.AnyVersion, rec); err != nil {
				return nil, err
			}
			l.state.Evolve(event)
			return func(rc eventstore.Receipt) []byte {
				if strings.HasPrefix(env.Type, "credential.") {
					l.noteCredentialChange(rc.Events[0].Sequence)
				}
				return nil
			}, nil
		}}
	_, err = l.store.Submit(ctx, cmd)
	if errors.Is(err, eventstore.ErrCommandRestored) { // copied before this log was restored
		return nil
	}
	return err
}

// copiedThroughMeta is the meta key under which a partition keeps the last sequence of partition
// 0's log it has copied (a hint for where to resume: copying again is harmless).
const copiedThroughMeta = "copied-through/partition-0"

// CopiedThrough is the last sequence of partition 0's log this partition noted as copied (0 for
// none).
func (l *Ledger) CopiedThrough() (uint64, error) {
	b, err := l.store.GetMeta(copiedThroughMeta)
	if err != nil || len(b) == 0 {
		return 0, err
	}
	return strconv.ParseUint(string(b), 10, 64)
}

// NoteCopiedThrough records that partition 0's events up to seq are copied.
func (l *Ledger) NoteCopiedThrough(seq uint64) error {
	return l.store.SetMeta(copiedThroughMeta, strconv.AppendUint(nil, seq, 10))
}

// AskPartition asks partition i the query name with body, on behalf of the caller whose token
// it is, and returns the reply's result. A refusal by that partition is a *domain.Error (its
// code, field and message); any other error means the partition did not answer. The NATS edge
// implements it (natsapi.Asker): the core knows no transport.
type AskPartition func(ctx context.Context, i int, name, token string, body []byte) (json.RawMessage, error)

// summaryAcrossPartitions answers a system-scope usage.summary of a partitioned ledger (asked of
// partition 0 over NATS, or of any partition's HTTP query API): local is this partition's
// answer; every other partition is asked on its addressed subject with the
// reseller token "_" (meaning "the whole partition"), with the caller's own token, and the
// totals are summed. The read options are dropped for them: a sequence names a place in this
// partition's log only. An answer that cannot be had from every partition is an error, never a
// partial total.
func (l *Ledger) summaryAcrossPartitions(ctx context.Context, r Request, local projections.Summaries) (projections.Summaries, error) {
	var body map[string]json.RawMessage
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &body); err != nil {
			return local, domain.Errorf(domain.CodeInvalidArgument, "", "request body: %v", err)
		}
	}
	var asOf string
	_ = json.Unmarshal(body["asOf"], &asOf) // absent: no asOf (a malformed one was refused already)
	if _, bySequence := asOfSequence(asOf); bySequence {
		return local, domain.Errorf(domain.CodeInvalidArgument, "asOf", "the ledger is partitioned: a system-wide summary's asOf must be a time (a sequence names a place in one partition's log)")
	}
	delete(body, "minSequence")
	forwarded, _ := json.Marshal(body) // raw messages re-encode as they came
	for i := range l.partition.Count {
		if i == l.partition.Index {
			continue
		}
		var theirs projections.Summaries
		if err := l.askPartition(ctx, i, r, forwarded, &theirs); err != nil {
			return local, err
		}
		local.Add(theirs)
	}
	return local, nil
}

// validateAcrossPartitions answers an unaddressed license.validate of a partitioned ledger whose
// key this partition does not know (local): the license may be any partition's, so each other
// partition is asked, and the first that knows the key answers. Apps that know their reseller
// address the query instead, and reach its partition at once.
func (l *Ledger) validateAcrossPartitions(ctx context.Context, r Request, local projections.Validation) (projections.Validation, error) {
	for i := range l.partition.Count {
		if i == l.partition.Index {
			continue
		}
		var theirs projections.Validation
		if err := l.askPartition(ctx, i, r, r.Body, &theirs); err != nil {
			return local, err
		}
		if theirs.Code != domain.ValidationNotFound {
			return theirs, nil
		}
	}
	return local, nil
}

// askPartition sends query r (with body) to partition i with the caller's own token (through
// Options.AskPartition, straight to the partition, addressed to "_": the whole partition), and
// decodes the reply's result into result. A refusal is returned as the partition's; no answer is
// 503 UNAVAILABLE.
func (l *Ledger) askPartition(ctx context.Context, i int, r Request, body []byte, result any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if l.ask == nil {
		return domain.Errorf(CodeUnavailable, "", "the other partitions cannot be asked: not connected")
	}
	raw, err := l.ask(ctx, i, r.Name, r.Token, body)
	var refused *domain.Error
	switch {
	case errors.As(err, &refused):
		return &domain.Error{Code: refused.Code, Field: refused.Field, Message: fmt.Sprintf("partition %d: %s", i, refused.Message)}
	case err != nil:
		return domain.Errorf(CodeUnavailable, "", "partition %d did not answer: %v", i, err)
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return domain.Errorf(CodeUnavailable, "", "partition %d: unreadable answer: %v", i, err)
	}
	return nil
}
