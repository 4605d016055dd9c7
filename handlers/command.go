package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Request is one wire request, whatever carried it.
type Request struct {
	Name        string // "seat.register", "usage.quota", …
	Body        []byte
	Token       string // bearer token ("" if none)
	CommandID   string // Nats-Msg-Id header ("" if none; the body's commandId is used then)
	TraceParent string // W3C traceparent, kept as the events' correlation id
	Source      string // where the request came from, for limiting failed authentications ("" unknown)
	// Reseller is the reseller a command is addressed to: the last token of
	// ledger.v1.cmd.<command>.<reseller>, the form a cluster partitioned by reseller routes
	// (docs/SCALING.md). "" for an unaddressed command.
	Reseller string
	// AddressByScope says the request came by a transport with no addressed form (HTTP): on a
	// partitioned ledger, an unaddressed command of a credential scoped to a reseller is then
	// addressed to that reseller, as a NATS client addresses it (and an admin.login to the
	// admin's reseller).
	AddressByScope bool
}

// CommandNames lists the commands, for the edges to register.
func CommandNames() []string { return sortedKeys(commands) }

// IsCommand reports whether name is a command.
func IsCommand(name string) bool { _, ok := commands[name]; return ok }

// Command authenticates, decodes and executes one command, and returns its reply.
func (l *Ledger) Command(ctx context.Context, r Request) ([]byte, *Failure) {
	spec, ok := commands[r.Name]
	if !ok {
		return nil, Refuse(domain.Errorf(domain.CodeInvalidArgument, "", "unknown command %q", r.Name))
	}
	if f := l.checkPartition(r.Reseller); f != nil {
		return nil, f
	}
	if r.Name == domain.AdminLoginOp {
		return l.adminLogin(ctx, r) // the password is the credential: no token to look at
	}
	cred, f := l.Authenticate(r.Token, r.Source)
	if f != nil {
		return nil, f
	}
	if f := authorize(cred.Role, r.Name); f != nil {
		return nil, f
	}
	if f := l.addressByScope(&r, cred.Scope.ResellerID); f != nil {
		return nil, f
	}
	env := &commandEnv{secrets: l.secrets, passwordRule: l.passwordRule, caller: cred, personal: l.personal, licenseKeys: l.licenseKeys}
	var decide func(*eventstore.Tx) (func(eventstore.Receipt) []byte, error)
	var heartbeat *machineKey
	id := r.CommandID
	if r.Name == domain.BatchSubmit {
		b, err := prepareBatch(r.Body, env, r.Reseller)
		if err != nil {
			return nil, Refuse(err)
		}
		decide = l.batchDecision(b)
		if id == "" {
			id = b.commandID
		}
	} else {
		p, err := spec.decode(r.Name, r.Body, env)
		if err != nil {
			return nil, Refuse(err)
		}
		p.caller, p.addressed, p.unaddressable = &cred, r.Reseller, r.AddressByScope
		if hb, ok := p.cmd.(domain.MachineHeartbeat); ok {
			if reply, fast := l.fastHeartbeat(cred, hb); fast {
				return reply, nil
			}
			heartbeat = &machineKey{hb.LicenseID, hb.Fingerprint} // noted once it is decided
		}
		decide = l.decision(p)
		if id == "" {
			id = p.meta.CommandID
		}
	}
	if len(id) > 128 {
		return nil, Refuse(domain.Errorf(domain.CodeInvalidArgument, "commandId", "must be at most 128 bytes"))
	}
	cmd := eventstore.Command{ID: id, Actor: cred.ID, CorrelationID: traceID(r.TraceParent), Decide: decide}
	if id != "" {
		// The digest binds the id to the credential, the command and the body: a retry by the
		// same caller gets its first reply back, while anyone else reusing the id is refused and
		// never sees that reply (it may hold a license key or token).
		digest := sha256.New()
		for _, part := range [][]byte{[]byte(cred.ID), []byte(r.Name), r.Body} {
			digest.Write(part)
			digest.Write([]byte{0})
		}
		digest.Sum(cmd.Digest[:0])
	}
	reply, f := l.submit(ctx, cmd, r.Reseller)
	if f == nil && heartbeat != nil {
		l.alive.beat(*heartbeat, l.now())
	}
	return reply, f
}

// submit hands a command to the sequencer and waits for its reply: durable, and replicated to
// the stream when AckReplicated asks for it. reseller is the reseller the request addressed.
func (l *Ledger) submit(ctx context.Context, cmd eventstore.Command, reseller string) ([]byte, *Failure) {
	ctx, cancel := context.WithTimeout(ctx, l.commandTimeout)
	defer cancel()
	res, err := l.store.Submit(ctx, cmd)
	if err != nil {
		f := Refuse(err)
		if reseller == "" && l.partition.Partitioned() && strings.HasSuffix(string(f.Err.Code), "_NOT_FOUND") {
			// Most likely a reseller's data, sent unaddressed to partition 0, which may not own it.
			e := *f.Err
			e.Message += " (the ledger is partitioned by reseller: address a reseller's commands to it, ledger.v1.cmd.<command>.<resellerId>)"
			f.Err = &e
		}
		return nil, f
	}
	if l.replicated != nil {
		// Every event of the command is at or below the durable mark now (a replayed one, long
		// since): wait until the stream holds that much of the log.
		if _, err := l.replicated(ctx, l.store.Durable()); err != nil {
			return nil, Refuse(domain.Errorf(CodeUnavailable, "", "the command is durable on the ledger but not yet replicated to the stream; retry with the same command id"))
		}
	}
	reply, err := l.secrets.openReply(res.Reply)
	if err != nil {
		l.log.Error("stored reply unreadable", "commandId", cmd.ID, "err", err)
		return nil, Refuse(err)
	}
	return reply, nil
}

// addressByScope addresses r to reseller, the one its caller belongs to ("" for none), when r came
// by a transport with no addressed form (Request.AddressByScope) to a partitioned ledger. Only the
// reseller's partition holds its credentials and admins, so this is that partition; the check
// stays, should that ever change.
func (l *Ledger) addressByScope(r *Request, reseller string) *Failure {
	if r.Reseller != "" || !r.AddressByScope || !l.partition.Partitioned() || reseller == "" {
		return nil
	}
	r.Reseller = reseller
	return l.checkPartition(reseller)
}

// misaddressed refuses a command addressed to one reseller that changes another's data (or
// system-wide data, owner ""): in a cluster partitioned by reseller it reached a ledger that does
// not own what it changes.
func misaddressed(addressed, owner string) error {
	if owner == "" {
		return domain.Errorf(CodeMisaddressed, "subject", "the command is addressed to reseller %q but changes system-wide data: send it unaddressed (ledger.v1.cmd.<command>)", addressed)
	}
	return domain.Errorf(CodeMisaddressed, "subject", "the command is addressed to reseller %q but changes reseller %q's data: address it to %q", addressed, owner, owner)
}

type eventRef struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Sequence uint64 `json:"sequence"`
}

type commandReply struct {
	Result  any        `json:"result"`
	Events  []eventRef `json:"events"`
	Version uint32     `json:"version"`
	// Sequence is the log's last sequence once the command is applied. A query with
	// minSequence set to it reads the command's effect.
	Sequence uint64 `json:"sequence"`
}

// decision is the function the sequencer runs for a prepared command.
func (l *Ledger) decision(p *prepared) func(*eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
	return func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		d, err := l.decide(tx, p, nil)
		if err != nil {
			return nil, err
		}
		return func(rc eventstore.Receipt) []byte {
			reply := commandReply{Result: d.result, Events: l.durable(rc.Events, d), Version: d.version, Sequence: rc.Sequence}
			b, _ := json.Marshal(reply) // results are plain data
			return l.secrets.storeReply(b, p.secret)
		}, nil
	}
}

// decided is what one command's decision made.
type decided struct {
	result  any
	events  int      // how many events it appended
	version uint32   // its target's version after them
	forget  []string // deleted admins whose personal data keys go once the events are durable
}

// decide runs one prepared command on the sequencer: scope, expected version, domain.Decide, the
// address, sealing personal data, append, Evolve. It fails only before it appends anything, so a
// refused command leaves the log and the write model as they were. undo, if not nil, is told of
// every event before Evolve applies it.
func (l *Ledger) decide(tx *eventstore.Tx, p *prepared, undo *domain.Undo) (decided, error) {
	// Scope first, so that nobody learns a version outside their reach; then a stale writer
	// learns that, whatever the domain would have said.
	if p.caller != nil {
		if err := l.state.Authorize(*p.caller, p.cmd); err != nil {
			return decided{}, err
		}
	}
	target := domain.Target(p.cmd)
	if ev := p.meta.ExpectedVersion; ev != nil {
		if err := tx.Expect(target, *ev); err != nil {
			return decided{}, err
		}
	}
	events, err := domain.Decide(l.state, tx.Now(), p.cmd)
	if err != nil {
		return decided{}, err
	}
	for _, e := range events {
		reseller, _ := e.Owner()
		if p.addressed != "" && reseller != p.addressed {
			return decided{}, misaddressed(p.addressed, reseller)
		}
		if p.addressed == "" && reseller != "" && l.partition.Partitioned() {
			if p.unaddressable {
				return decided{}, domain.Errorf(CodeMisaddressed, "subject", "the ledger is partitioned by reseller and the command changes reseller %q's data, which HTTP cannot address: send it over NATS to ledger.v1.cmd.<command>.%s, or over HTTP with a credential of the reseller, at its partition's listener", reseller, reseller)
			}
			return decided{}, domain.Errorf(CodeMisaddressed, "subject", "the ledger is partitioned by reseller and the command changes reseller %q's data: address it to %q (ledger.v1.cmd.<command>.%s)", reseller, reseller, reseller)
		}
		if reseller == "" && l.partition.Index > 0 {
			// Every partition holds the system-wide data, but only partition 0 decides it (the
			// others copy its events): one decided here would exist in this partition alone.
			return decided{}, domain.Errorf(CodeMisaddressed, "subject", "the command changes system-wide data, which partition 0 of the ledger decides: send it unaddressed over NATS (ledger.v1.cmd.<command>), or to partition 0's HTTP API")
		}
	}
	// Personal data leaves the decision sealed; the keys of deleted admins are destroyed
	// once the deletion is durable.
	forget := l.personal.forgetDeleted(l.state, events)
	if events, err = l.personal.sealEvents(l.state, events); err != nil {
		return decided{}, err
	}
	recs := make([]eventstore.Record, len(events))
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return decided{}, err
		}
		reseller, tenant := e.Owner()
		recs[i] = eventstore.Record{Type: e.EventType(), Subject: e.AggregateID(), Reseller: reseller, Tenant: tenant, Data: data, Payload: e}
	}
	for i, e := range events {
		// AnyVersion: the expected version was checked above, so this cannot fail.
		if err := tx.Append(e.Stream(), eventstore.AnyVersion, recs[i]); err != nil {
			panic(err)
		}
	}
	for _, e := range events {
		if undo != nil {
			undo.Save(e)
		}
		l.state.Evolve(e)
	}
	return decided{result: p.result(l.state, tx.Now()), events: len(events), version: tx.Version(target), forget: forget}, nil
}

// durable is what follows a decided command once its events are durable: their references for
// the reply; the credential changes authentication must wait for; the personal data keys to
// destroy.
func (l *Ledger) durable(events []eventstore.Committed, d decided) []eventRef {
	if s, ok := d.result.(sequenced); ok && len(events) > 0 {
		s.atSequence(events[0].Sequence)
	}
	refs := make([]eventRef, len(events))
	for i, e := range events {
		refs[i] = eventRef{ID: e.ID, Type: e.Type, Sequence: e.Sequence}
		if strings.HasPrefix(e.Type, "credential.") {
			l.noteCredentialChange(e.Sequence)
		}
	}
	for _, id := range d.forget {
		if err := l.personal.forget(id); err != nil {
			l.log.Error("a deleted admin's personal data key was not destroyed; the next start destroys it", "err", err)
		}
	}
	return refs
}

// traceID keeps the trace id of a W3C traceparent ("00-<trace id>-<span id>-<flags>").
func traceID(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) == 4 && len(parts[1]) == 32 && domain.ValidID(parts[1]) {
		return parts[1]
	}
	return ""
}
