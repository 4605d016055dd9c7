package handlers

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/wire"
)

// Options is everything a Ledger is built from. NewLedger reads it once; the Ledger keeps no
// setter, so an edge cannot change the core it serves. The zero value of each optional field
// means its default.
type Options struct {
	Store   *eventstore.Store // the log; required
	Secrets *Secrets          // the server key's HMAC and sealing keys; required
	Log     *slog.Logger      // default: discard
	Clock   func() time.Time  // what time it is for quota periods and expiry; default time.Now

	// Partition is which partition of a ledger split by reseller this is (docs/SCALING.md); the
	// zero value is the unpartitioned ledger. Partitioned, an unaddressed command may change only
	// system-wide data (partition 0 decides it for all), and a system admin's usage.summary sums
	// every partition's (through AskPartition).
	Partition wire.Partition
	// AskPartition asks another partition a query; the NATS edge provides it (natsapi.Asker).
	// Without it, a query that needs the other partitions is answered 503 UNAVAILABLE.
	AskPartition AskPartition
	// CheckpointKey is the verifier key of the log's signed checkpoints, which audit.checkpoint
	// answers with.
	CheckpointKey string
	// Published reports the last sequence the event stream holds, for the dashboard's
	// publication lag (nil: no lag is shown).
	Published func() uint64
	// AckReplicated, if set, makes every command's reply wait until it returns: once the stream
	// holds the log up to a sequence (ledgerd --ack-replicated: the relay's WaitPublished). A
	// command that waits longer than CommandTimeout is answered 503 UNAVAILABLE; it is durable on
	// the ledger all the same, and a retry with its command id gets its reply once the stream has
	// it.
	AckReplicated func(ctx context.Context, seq uint64) (uint64, error)

	// PasswordRule is the local rule admin passwords must follow; nil is APIO's
	// (domain.APIOPasswordRule: at least 8 characters, an upper and a lower case letter).
	// NoPasswordRule turns any rule off.
	PasswordRule   *domain.PasswordRule
	NoPasswordRule bool
	// AdminSessionTTL is how long a session admin.login opens lasts (DefaultAdminSessionTTL).
	AdminSessionTTL time.Duration
	// Advertised are the addresses partners reach the ledger at, for credential.get's endpoint.
	Advertised Advertised
	// FailedAuthLimit is how many failed authentications a source or a token may have per
	// FailedAuthWindow before it is answered 429. Default 20 per minute; negative: no limit.
	FailedAuthLimit  int
	FailedAuthWindow time.Duration
	// ProjectionFlush is how often the read models store their changed records and checkpoint
	// while running. Default 1 s.
	ProjectionFlush time.Duration
	// ReadTimeout bounds how long a query waits for the read models to reflect every command
	// acknowledged before it arrived. Default 2 s.
	ReadTimeout time.Duration
	// CommandTimeout bounds how long a command waits for its group commit. Default 10 s.
	CommandTimeout time.Duration
	// QueryTimeout bounds a whole query, over NATS as over HTTP: its wait for the read models,
	// its turn for a replay and the replay itself. Default 30 s.
	QueryTimeout time.Duration
	// LicenseKeys sign license files (license.checkout); the one not retired signs, the others
	// are listed by license.signing-keys until their files have expired. None: checkouts are
	// refused.
	LicenseKeys []LicenseKey
	// AsOfReplayShare decides how a query with asOf rebuilds the past. One that needs more than
	// this share of all licenses replays the log up to its point (projections.LicensesReplayed,
	// about 1 µs per event of the log); one that needs fewer reads only those licenses' streams
	// from their last snapshots (projections.LicensesAt, some 40 µs per event read, each a random
	// read of the log). Default 1/32.
	AsOfReplayShare float64
}

// Ledger is the transport-free core every edge calls: it owns the write model (touched only by
// decisions running on the store's sequencer) and the read models.
type Ledger struct {
	store     *eventstore.Store
	secrets   *Secrets
	log       *slog.Logger
	partition wire.Partition
	state     *domain.State // the write model; only Decide closures on the sequencer touch it
	licenses  *projections.Licenses
	creds     *projections.Credentials
	runner    *projections.Runner
	now       func() time.Time
	// settled is the store's Settled: whether every event timed at or before a time is durable,
	// which a chart's point must be before it is kept. Tests stand in for a commit in flight.
	settled func(time.Time) bool

	readTimeout, commandTimeout, queryTimeout time.Duration
	asOfReplayShare                           float64
	passwordRule                              *domain.PasswordRule // nil: none
	sessionTTL                                time.Duration        // how long an admin.login session lasts
	advertised                                Advertised
	deliveries                                deliveryLog // webhooks' recent delivery attempts
	checkpointKey                             string      // verifies the log's signed checkpoints (audit.go)
	published                                 func() uint64
	// replicated, if set, is waited on before a command's reply (Options.AckReplicated).
	replicated func(ctx context.Context, seq uint64) (uint64, error)
	// askPartition asks the other partitions of a partitioned ledger (partitions.go).
	ask AskPartition

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
	// scopes notes what events touched, for the views export (Scopes).
	scopes ScopeWatch
	// alive keeps floating machines' heartbeats (heartbeat.go).
	alive liveness
	// licenseKeys sign license files (checkout.go).
	licenseKeys *licenseKeys
	// replays bounds the asOf replays and the charts' (replaygate.go).
	replays *replayGate
	// trends keeps the dashboard's charts (dashboard_history.go).
	trends trendCache
}

// NewLedger restores the read models from their checkpoints, brings them up to the log's end, and
// starts the write model as a copy of their state.
func NewLedger(o Options) (*Ledger, error) {
	if o.Store == nil || o.Secrets == nil {
		return nil, fmt.Errorf("handlers: a ledger needs a store and secrets")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	limit := o.FailedAuthLimit
	switch {
	case limit == 0:
		limit = 20
	case limit < 0:
		limit = 0 // the limiter's "off"
	}
	l := &Ledger{
		store: o.Store, secrets: o.Secrets, log: o.Log, partition: o.Partition,
		licenses: projections.NewLicenses(), creds: projections.NewCredentials(), now: o.Clock, settled: o.Store.Settled,
		readTimeout:     cmp.Or(o.ReadTimeout, 2*time.Second),
		commandTimeout:  cmp.Or(o.CommandTimeout, 10*time.Second),
		queryTimeout:    cmp.Or(o.QueryTimeout, 30*time.Second),
		asOfReplayShare: cmp.Or(o.AsOfReplayShare, 1.0/32),
		passwordRule:    passwordRuleOf(o), checkpointKey: o.CheckpointKey,
		sessionTTL: cmp.Or(o.AdminSessionTTL, DefaultAdminSessionTTL), advertised: o.Advertised,
		published: o.Published, replicated: o.AckReplicated, ask: o.AskPartition,
		replays: newReplayGate(8), licenseKeys: newLicenseKeys(o.LicenseKeys),
		authFailures: newAuthLimiter(limit, cmp.Or(o.FailedAuthWindow, time.Minute)),
	}
	// The read models resume from their stored checkpoints and catch up with the log (the first
	// start, or a version change, builds them from sequence 0).
	l.runner = projections.NewRunner(o.Store, l.licenses, l.creds, &l.credentialChanged, &l.scopes)
	l.runner.Log = o.Log
	if o.ProjectionFlush > 0 {
		l.runner.FlushInterval = o.ProjectionFlush
	}
	if err := l.runner.Restore(); err != nil {
		return nil, fmt.Errorf("handlers: restore read models: %w", err)
	}
	if _, err := l.runner.CatchUp(); err != nil {
		return nil, fmt.Errorf("handlers: rebuild read models: %w", err)
	}
	if err := o.Store.ScanMeta(lastLoginMeta, func(name string, v []byte) error {
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
	if p, d := l.runner.Position(), o.Store.Durable(); p != d {
		return nil, fmt.Errorf("handlers: the read models reached sequence %d of %d", p, d)
	}
	l.state = l.licenses.CopyState()
	l.alive = liveness{last: map[machineKey]time.Time{}, since: l.now()}
	personal, err := loadPersonalKeys(o.Store)
	if err != nil {
		return nil, fmt.Errorf("handlers: personal data keys: %w", err)
	}
	l.personal = personal
	if err := l.personal.sweep(l.state); err != nil {
		return nil, fmt.Errorf("handlers: destroy the keys of deleted admins: %w", err)
	}
	return l, nil
}

// Partition is the partition this ledger serves (the zero value: unpartitioned).
func (l *Ledger) Partition() wire.Partition { return l.partition }

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
	case domain.CredentialDisabled, domain.CredentialRevoked, domain.CredentialRotated, domain.CredentialDeleted:
		if fn := w.fn.Load(); fn != nil {
			// Not on the projector: closing connections takes server locks that a connection
			// being authenticated (waiting for the projector) may hold.
			go (*fn)(e.AggregateID())
		}
	}
}

// ProjectionNames lists the stored read models, for `ledgerd rebuild`.
func ProjectionNames() []string {
	return []string{projections.NewLicenses().Name(), projections.NewCredentials().Name()}
}

// RebuildLedger drops the named read models' stored state (all of them if names is empty) and
// opens the ledger, which rebuilds them from sequence 0 and stores them.
func RebuildLedger(o Options, names []string) (*Ledger, error) {
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
		if err := projections.Drop(o.Store, n); err != nil {
			return nil, err
		}
	}
	return NewLedger(o)
}

// Run keeps the read models up to date until ctx ends.
func (l *Ledger) Run(ctx context.Context) error { return l.runner.Run(ctx) }

// Projected is the last sequence the read models reflect.
func (l *Ledger) Projected() uint64 { return l.runner.Position() }

// passwordRuleOf is the password rule the options ask for (nil: none).
func passwordRuleOf(o Options) *domain.PasswordRule {
	switch {
	case o.NoPasswordRule:
		return nil
	case o.PasswordRule != nil:
		r := *o.PasswordRule
		return &r
	}
	r := domain.APIOPasswordRule
	return &r
}

// Advertised are the addresses the deployment tells partners to use: the NATS server URL and the
// base URL of the HTTP API ("" for unknown).
type Advertised struct{ NATS, HTTP string }

// PasswordRule is a local rule for admin passwords (domain.PasswordRule), for the edges to
// configure.
type PasswordRule = domain.PasswordRule

// ParsePasswordRule reads --password-rule: "true" (APIO's), "false" (none: nil), or the parts
// "min=12,upper,lower,digit,symbol".
func ParsePasswordRule(s string) (*PasswordRule, error) {
	rule, on, err := domain.ParsePasswordRule(s)
	if err != nil || !on {
		return nil, err
	}
	return &rule, nil
}
