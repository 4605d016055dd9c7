package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/wire"
)

// Ledger is the transport-free core every edge calls: it owns the write model (touched only by
// decisions running on the store's sequencer) and the read models.
type Ledger struct {
	// Replicas is how many copies JetStream keeps of what the ledger makes there (the views
	// bucket): 1 on a single server, 3 on a cluster. Set it before ExportViews.
	Replicas int
	// Partition is which partition of a ledger split by reseller this is (docs/SCALING.md); the
	// zero value is the unpartitioned ledger. Partitioned, an unaddressed command may change only
	// system-wide data (partition 0 decides it for all), and a system admin's usage.summary sums
	// every partition's. Set it before Serve.
	Partition wire.Partition

	store    *eventstore.Store
	secrets  *Secrets
	log      *slog.Logger
	state    *domain.State // the write model; only Decide closures on the sequencer touch it
	licenses *projections.Licenses
	creds    *projections.Credentials
	runner   *projections.Runner
	now      func() time.Time

	// ReadTimeout bounds how long a query waits for the read models to reflect every command
	// acknowledged before it arrived. Default 2 s.
	ReadTimeout time.Duration
	// CommandTimeout bounds how long a command waits for its group commit. Default 10 s.
	CommandTimeout time.Duration
	// credentialSeq is the sequence of the last credential event decided. Authentication waits
	// until the read models reflect it, so an acknowledged disable, rotate or revoke holds from
	// the very next request (and costs nothing while no credential change is in flight).
	credentialSeq atomic.Uint64

	// authFailures limits failed authentications per source and per token.
	authFailures *authLimiter

	// credentialChanged is told, once the read models reflect it, that a credential was
	// disabled, revoked or rotated (the NATS authenticator closes its connections).
	credentialChanged credentialWatch

	// personal keeps the keys admins' personal data is sealed under (personal.go).
	personal *personalKeys

	// views notes what events touched, for ExportViews.
	views viewWatch
	// checkpointKey verifies the log's signed checkpoints (SetCheckpointKey; audit.go).
	checkpointKey string
	// activity and published feed the dashboard (SampleActivity, SetPublished).
	activity  activity
	published atomic.Pointer[func() uint64]
	// replicated, if set, is waited on before a command's reply: it returns once the stream holds
	// the log up to a sequence (SetAckReplicated).
	replicated func(ctx context.Context, seq uint64) (uint64, error)
	// requester asks the other partitions of a partitioned ledger (SetRequester).
	requester atomic.Pointer[nats.Conn]

	// AsOfReplayShare decides how a query with asOf rebuilds the past. One that needs more than
	// this share of all licenses replays the log up to its point (projections.LicensesReplayed,
	// about 1 µs per event of the log); one that needs fewer reads only those licenses' streams
	// from their last snapshots (projections.LicensesAt, some 40 µs per event read, each a random
	// read of the log). Default 1/32.
	AsOfReplayShare float64
	// replays bounds the asOf replays (replaygate.go).
	replays *replayGate
	// QueryTimeout bounds a whole query, over NATS as over HTTP: its wait for the read models,
	// its turn for a replay and the replay itself. Default 30 s.
	QueryTimeout time.Duration

	// PasswordRule applies APIO's local password rule to admin passwords (at least 8
	// characters, an upper and a lower case letter). Default true.
	PasswordRule bool
}

// NewLedger restores the read models from their checkpoints, brings them up to the log's end, and
// starts the write model as a copy of their state.
func NewLedger(store *eventstore.Store, secrets *Secrets, log *slog.Logger) (*Ledger, error) {
	l := &Ledger{
		store: store, secrets: secrets, log: log,
		licenses: projections.NewLicenses(), creds: projections.NewCredentials(),
		now: time.Now, ReadTimeout: 2 * time.Second, CommandTimeout: 10 * time.Second, PasswordRule: true,
		AsOfReplayShare: 1.0 / 32, replays: newReplayGate(8), QueryTimeout: 30 * time.Second,
		authFailures: newAuthLimiter(20, time.Minute),
	}
	// The read models resume from their stored checkpoints and catch up with the log (the first
	// start, or a version change, builds them from sequence 0).
	l.runner = projections.NewRunner(store, l.licenses, l.creds, &l.credentialChanged, &l.views)
	l.runner.Log = log
	if err := l.runner.Restore(); err != nil {
		return nil, fmt.Errorf("handlers: restore read models: %w", err)
	}
	if _, err := l.runner.CatchUp(); err != nil {
		return nil, fmt.Errorf("handlers: rebuild read models: %w", err)
	}
	if err := store.ScanMeta(lastLoginMeta, func(name string, v []byte) error {
		var at time.Time
		if err := at.UnmarshalText(v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		l.creds.RestoreLastLogin(name[len(lastLoginMeta):], at)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("handlers: restore last logins: %w", err)
	}
	// The write model is the same domain model: a copy of the licenses read model, just caught
	// up with the whole log (nothing appends before the ledger exists).
	if p, d := l.runner.Position(), store.Durable(); p != d {
		return nil, fmt.Errorf("handlers: the read models reached sequence %d of %d", p, d)
	}
	l.state = l.licenses.CopyState()
	personal, err := loadPersonalKeys(store)
	if err != nil {
		return nil, fmt.Errorf("handlers: personal data keys: %w", err)
	}
	l.personal = personal
	if err := l.personal.sweep(l.state); err != nil {
		return nil, fmt.Errorf("handlers: destroy the keys of deleted admins: %w", err)
	}
	return l, nil
}

// OnCredentialChange calls fn with a credential's id each time it is disabled, revoked or
// rotated, after the read models reflect the change. fn runs on a goroutine of its own.
func (l *Ledger) OnCredentialChange(fn func(id string)) { l.credentialChanged.fn.Store(&fn) }

// credentialWatch is a projection that reports credential changes which must end sessions. It
// comes after the credentials read model in the runner, so the change is visible when it fires.
type credentialWatch struct{ fn atomic.Pointer[func(string)] }

// ApplySeat implements projections.SeatProjection: seats end no sessions.
func (w *credentialWatch) ApplySeat(projections.Meta, *projections.SeatFact) {}

func (w *credentialWatch) Apply(_ projections.Meta, e domain.Event) {
	switch e.(type) {
	case domain.CredentialDisabled, domain.CredentialRevoked, domain.CredentialRotated:
		if fn := w.fn.Load(); fn != nil {
			// Not on the projector: closing connections takes server locks that a connection
			// being authenticated (waiting for the projector) may hold.
			go (*fn)(e.AggregateID())
		}
	}
}

// SetProjectionFlush sets how often the read models store their changed records and checkpoint
// while running (default 1 s). Call it before Run.
func (l *Ledger) SetProjectionFlush(every time.Duration) { l.runner.FlushInterval = every }

// SetAckReplicated makes every command's reply wait until wait says the stream holds the log up
// to the command's events (ledgerd --ack-replicated: the outbox relay's WaitPublished). Call it
// before serving. A command that waits longer than CommandTimeout is answered 503 UNAVAILABLE;
// it is durable on the ledger all the same, and a retry with its command id gets its reply once
// the stream has it.
func (l *Ledger) SetAckReplicated(wait func(ctx context.Context, seq uint64) (uint64, error)) {
	l.replicated = wait
}

// ProjectionNames lists the stored read models, for `ledgerd rebuild`.
func ProjectionNames() []string {
	return []string{projections.NewLicenses().Name(), projections.NewCredentials().Name()}
}

// RebuildLedger drops the named read models' stored state (all of them if names is empty) and
// opens the ledger, which rebuilds them from sequence 0 and stores them.
func RebuildLedger(store *eventstore.Store, secrets *Secrets, log *slog.Logger, names []string) (*Ledger, error) {
	known := ProjectionNames()
	if len(names) == 0 {
		names = known
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("no read model %q (there are: %s)", n, strings.Join(known, ", "))
		}
	}
	for _, n := range names {
		if err := projections.Drop(store, n); err != nil {
			return nil, err
		}
	}
	return NewLedger(store, secrets, log)
}

// Run keeps the read models up to date until ctx ends.
func (l *Ledger) Run(ctx context.Context) error { return l.runner.Run(ctx) }

// Projected is the last sequence the read models reflect.
func (l *Ledger) Projected() uint64 { return l.runner.Position() }

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
}

// Authenticate finds the credential a bearer token belongs to. source identifies where the
// request came from (the requester's NATS inbox prefix; "" if unknown): failed authentications
// are limited per source and per presented token (FailedAuthLimit), so a guesser is answered 429
// without the token being looked at.
func (l *Ledger) Authenticate(token, source string) (domain.Credential, *Failure) {
	return l.authenticate(token, source, true)
}

// authenticate is Authenticate; countFailure false leaves a failure out of the limits (a
// partition asked about a login whose token may be another partition's).
func (l *Ledger) authenticate(token, source string, countFailure bool) (domain.Credential, *Failure) {
	if token == "" {
		return domain.Credential{}, failure(&domain.Error{Code: CodeUnauthenticated, Field: "Authorization", Message: "missing header Authorization: Bearer <token>"})
	}
	now := l.now()
	wellFormed := WellFormedToken(token)
	hash := ""
	if wellFormed {
		hash = l.secrets.TokenHash(token)
	}
	if limited, until := l.authFailures.blocked(now, source, hash); limited {
		wait := max(until.Sub(now).Round(time.Second), time.Second)
		return domain.Credential{}, failure(&domain.Error{Code: CodeRateLimited, Field: "Authorization",
			Message: fmt.Sprintf("too many failed authentications; retry in %s", wait)})
	}
	if !wellFormed {
		if countFailure {
			l.authFailures.fail(now, source, "")
		}
		return domain.Credential{}, failure(&domain.Error{Code: CodeUnauthenticated, Field: "Authorization", Message: "malformed token"})
	}
	if seq := l.credentialSeq.Load(); seq > l.runner.Position() {
		ctx, cancel := context.WithTimeout(context.Background(), l.ReadTimeout)
		err := l.runner.WaitFor(ctx, seq)
		cancel()
		if err != nil {
			return domain.Credential{}, failure(err)
		}
	}
	c, ok := l.creds.ByTokenHash(hash)
	if !ok {
		if countFailure {
			l.authFailures.fail(now, source, hash)
		}
		return domain.Credential{}, failure(&domain.Error{Code: CodeUnauthenticated, Field: "Authorization", Message: "unknown or disabled token"})
	}
	if c.ExpiredAt(now) {
		// Not a guess: the token was good. It is no failed authentication.
		return domain.Credential{}, failure(&domain.Error{Code: CodeTokenExpired, Field: "Authorization",
			Message: "the token expired at " + c.ExpiresAt.UTC().Format(time.RFC3339)})
	}
	l.creds.RecordLogin(c.ID, now)
	return c, nil
}

// SetFailedAuthLimit sets how many failed authentications a source or a token may have per
// window before it is answered 429 (limit 0 turns the limit off). Default 20 per minute.
func (l *Ledger) SetFailedAuthLimit(limit int, window time.Duration) {
	l.authFailures = newAuthLimiter(limit, window)
}

// CommandNames lists the commands, for the edges to register.
func CommandNames() []string { return sortedKeys(commands) }

// Command authenticates, decodes and executes one command, and returns its reply.
func (l *Ledger) Command(ctx context.Context, r Request) ([]byte, *Failure) {
	spec, ok := commands[r.Name]
	if !ok {
		return nil, failure(domain.Errorf(domain.CodeInvalidArgument, "", "unknown command %q", r.Name))
	}
	if f := l.checkPartition(r.Reseller); f != nil {
		return nil, f
	}
	cred, f := l.Authenticate(r.Token, r.Source)
	if f != nil {
		return nil, f
	}
	if f := authorize(cred.Role, r.Name); f != nil {
		return nil, f
	}
	p, err := spec.decode(r.Name, r.Body, &commandEnv{secrets: l.secrets, passwordRule: l.PasswordRule, caller: cred, personal: l.personal})
	if err != nil {
		return nil, failure(err)
	}
	p.caller, p.addressed = &cred, r.Reseller
	id := r.CommandID
	if id == "" {
		id = p.meta.CommandID
	}
	if len(id) > 128 {
		return nil, failure(domain.Errorf(domain.CodeInvalidArgument, "commandId", "must be at most 128 bytes"))
	}
	cmd := eventstore.Command{ID: id, Actor: cred.ID, CorrelationID: traceID(r.TraceParent), Decide: l.decision(p)}
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
	ctx, cancel := context.WithTimeout(ctx, l.CommandTimeout)
	defer cancel()
	res, err := l.store.Submit(ctx, cmd)
	if err != nil {
		f := failure(err)
		if r.Reseller == "" && l.Partition.Partitioned() && strings.HasSuffix(string(f.Err.Code), "_NOT_FOUND") {
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
			return nil, failure(domain.Errorf(CodeUnavailable, "", "the command is durable on the ledger but not yet replicated to the stream; retry with the same command id"))
		}
	}
	reply, err := l.secrets.openReply(res.Reply)
	if err != nil {
		l.log.Error("stored reply unreadable", "commandId", id, "err", err)
		return nil, failure(err)
	}
	return reply, nil
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
		// Scope first, so that nobody learns a version outside their reach; then a stale writer
		// learns that, whatever the domain would have said.
		if p.caller != nil {
			if err := l.state.Authorize(*p.caller, p.cmd); err != nil {
				return nil, err
			}
		}
		target := domain.Target(p.cmd)
		if ev := p.meta.ExpectedVersion; ev != nil {
			if err := tx.Expect(target, *ev); err != nil {
				return nil, err
			}
		}
		events, err := domain.Decide(l.state, tx.Now(), p.cmd)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			reseller, _ := e.Owner()
			if p.addressed != "" && reseller != p.addressed {
				return nil, misaddressed(p.addressed, reseller)
			}
			if p.addressed == "" && reseller != "" && l.Partition.Partitioned() {
				return nil, domain.Errorf(CodeMisaddressed, "subject", "the ledger is partitioned by reseller and the command changes reseller %q's data: address it to %q (ledger.v1.cmd.<command>.%s)", reseller, reseller, reseller)
			}
		}
		// Personal data leaves the decision sealed; the keys of deleted admins are destroyed
		// once the deletion is durable.
		forget := l.personal.forgetDeleted(l.state, events)
		if events, err = l.personal.sealEvents(l.state, events); err != nil {
			return nil, err
		}
		for _, e := range events {
			data, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			reseller, tenant := e.Owner()
			rec := eventstore.Record{Type: e.EventType(), Subject: e.AggregateID(), Reseller: reseller, Tenant: tenant, Data: data, Payload: e}
			if err := tx.Append(e.Stream(), eventstore.AnyVersion, rec); err != nil {
				return nil, err
			}
		}
		for _, e := range events {
			l.state.Evolve(e)
		}
		result := p.result(l.state, tx.Now())
		version := tx.Version(target)
		return func(rc eventstore.Receipt) []byte {
			reply := commandReply{Result: result, Events: make([]eventRef, len(rc.Events)), Version: version, Sequence: rc.Sequence}
			for i, e := range rc.Events {
				reply.Events[i] = eventRef{ID: e.ID, Type: e.Type, Sequence: e.Sequence}
				if strings.HasPrefix(e.Type, "credential.") {
					l.noteCredentialChange(e.Sequence)
				}
			}
			for _, id := range forget {
				if err := l.personal.forget(id); err != nil {
					l.log.Error("a deleted admin's personal data key was not destroyed; the next start destroys it", "err", err)
				}
			}
			b, _ := json.Marshal(reply) // results are plain data
			return l.secrets.storeReply(b, p.secret)
		}, nil
	}
}

// traceID keeps the trace id of a W3C traceparent ("00-<trace id>-<span id>-<flags>").
func traceID(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) == 4 && len(parts[1]) == 32 && domain.ValidID(parts[1]) {
		return parts[1]
	}
	return ""
}

// authorize checks the permission matrix (domain.Allowed): a role that may not perform an
// operation is refused with 403 before anything is decoded or decided.
func authorize(role, op string) *Failure {
	if domain.Allowed(role, op) {
		return nil
	}
	return failure(&domain.Error{Code: CodeForbidden, Message: fmt.Sprintf("the role %s may not %s", role, op)})
}

// lastLoginMeta prefixes the metadata keys that keep credentials' last logins.
const lastLoginMeta = "lastlogin/"

// PersistLastLogins writes the last logins that changed since the previous call. ledgerd calls it
// once a minute and at shutdown, so a login costs no write of its own; a crash loses at most a
// minute of last-login times, never an event.
func (l *Ledger) PersistLastLogins() error {
	for id, at := range l.creds.LastLogins() {
		v, _ := at.MarshalText()
		if err := l.store.SetMeta(lastLoginMeta+id, v); err != nil {
			return err
		}
	}
	return nil
}

// noteCredentialChange records that a credential event will be at seq (see credentialSeq).
func (l *Ledger) noteCredentialChange(seq uint64) {
	for {
		cur := l.credentialSeq.Load()
		if seq <= cur || l.credentialSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// CheckReadModels compares the read models as a restart would restore them (stored records
// caught up with the log) with read models rebuilt from sequence 0, and names the first record
// that differs. It writes nothing, so it may run on a read-only store of a stopped ledger. It
// returns the sequence the stored state reflected (where the restore started).
func CheckReadModels(store *eventstore.Store) (restoredAt uint64, err error) {
	stored, storedCreds := projections.NewLicenses(), projections.NewCredentials()
	r := projections.NewRunner(store, stored, storedCreds)
	if err := r.Inspect(); err != nil {
		return 0, err
	}
	restoredAt = r.Position()
	if _, err := r.CatchUp(); err != nil {
		return restoredAt, err
	}
	fresh, freshCreds := projections.NewLicenses(), projections.NewCredentials()
	if _, err := projections.NewRunner(store, fresh, freshCreds).CatchUp(); err != nil {
		return restoredAt, err
	}
	for _, c := range []struct {
		name          string
		stored, fresh func() (map[string]string, error)
	}{{stored.Name(), stored.Dump, fresh.Dump}, {storedCreds.Name(), storedCreds.Dump, freshCreds.Dump}} {
		s, err := c.stored()
		if err != nil {
			return restoredAt, err
		}
		f, err := c.fresh()
		if err != nil {
			return restoredAt, err
		}
		if k, differ := firstDifference(s, f); differ {
			return restoredAt, fmt.Errorf("read model %s, record %q: stored %q, rebuilt %q", c.name, k, s[k], f[k])
		}
	}
	return restoredAt, nil
}

// firstDifference returns the first key, in key order, whose value differs between two dumps
// (a key missing from one counts as differing).
func firstDifference(a, b map[string]string) (key string, differ bool) {
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		if inA != inB || va != vb {
			return k, true
		}
	}
	return "", false
}
