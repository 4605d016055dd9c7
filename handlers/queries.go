package handlers

import (
	"context"
	"encoding/json"
	"reflect"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// querySpec is one query endpoint: its answer, and the Go types of its body and of its reply's
// result, from which its schemas are generated (Endpoints). run returns the result and the
// sequence it reflects; arrived is the durable mark when the query arrived, which the read
// models must reflect before it is answered (read-your-writes).
type querySpec struct {
	run     func(ctx context.Context, l *Ledger, caller domain.Credential, name string, body []byte, arrived uint64) (any, uint64, error)
	request reflect.Type
	result  reflect.Type
	// replays: the query may rebuild the past from the log (asOf), which only the query
	// deadline bounds.
	replays bool
}

// readable is what every query body embeds: ReadOptions.
type readable interface{ readOptions() ReadOptions }

// ReadOptions are the fields every query takes. Exported because decode errors name embedded
// structs by type, as with CommandMeta.
type ReadOptions struct {
	// MinSequence makes the query wait (at most the ledger's read timeout) until the read models
	// reflect this sequence: pass a command reply's sequence to read that command's effect from
	// any ledger process. Without it a query still reflects every command acknowledged before it
	// arrived.
	MinSequence uint64 `json:"minSequence,omitempty"`
}

func (o ReadOptions) readOptions() ReadOptions { return o }

// query is the spec of a query whose body decodes strictly into Q and whose result is an R,
// answered from the live read models.
func query[Q readable, R any](answer func(l *Ledger, caller domain.Credential, q Q) (R, error)) querySpec {
	return queryWithContext(func(_ context.Context, l *Ledger, caller domain.Credential, q Q) (R, error) {
		return answer(l, caller, q)
	}, false)
}

// queryWithContext is query for an answer given the query's context: one that may replay the log
// (a chart's history; replays true) and so needs the query deadline to end it.
func queryWithContext[Q readable, R any](answer func(ctx context.Context, l *Ledger, caller domain.Credential, q Q) (R, error), replays bool) querySpec {
	return querySpec{
		run: func(ctx context.Context, l *Ledger, caller domain.Credential, name string, body []byte, arrived uint64) (any, uint64, error) {
			q, err := decodeQuery[Q](ctx, l, caller.Scope, name, body, arrived)
			if err != nil {
				return nil, 0, err
			}
			position := l.runner.Position() // read first: the answer reflects at least this
			r, err := answer(ctx, l, caller, q)
			return r, position, err
		},
		request: reflect.TypeFor[Q](),
		result:  reflect.TypeFor[R](),
		replays: replays,
	}
}

// decodeQuery decodes a query's body, fills what the caller's scope implies (scopeDefaults), and
// waits until the read models reflect what it must see: every command acknowledged before it
// arrived, and its minSequence.
func decodeQuery[Q readable](ctx context.Context, l *Ledger, sc domain.Scope, name string, body []byte, arrived uint64) (Q, error) {
	var q Q
	if err := decodeRequest(schemas.Query, name, body, &q); err != nil {
		return q, err
	}
	if d, ok := any(&q).(scopeDefaults); ok {
		d.defaultFromScope(sc)
	}
	if asked := q.readOptions().MinSequence; asked > arrived {
		return q, l.waitReflected(ctx, asked, "minSequence")
	}
	return q, l.waitReflected(ctx, arrived, "")
}

// historical is a query that may be answered as of an earlier point of the log (asOf).
type historical interface {
	readable
	asOf() string
	// history names the streams the answer needs when it is rebuilt from the log.
	history(l *Ledger) (resellers, licenses []string)
}

// AsOf is the field of the queries that can answer from the past. Exported like ReadOptions.
type AsOf struct {
	// AsOf is an RFC 3339 instant or a log sequence number: the answer is the one the ledger
	// would have given then, rebuilt from the log.
	AsOf string `json:"asOf,omitempty"`
}

func (a AsOf) asOf() string { return a.AsOf }

// readView is what a historical query answers from: the live read models now, or a model rebuilt
// as of an earlier point.
type readView struct {
	licenses *projections.Licenses
	now      time.Time // the time the answer is computed for (quota periods, expiry)
	sequence uint64    // the last sequence the view reflects
}

// queryAt is query for a historical query: answer receives the view to read.
func queryAt[Q historical, R any](answer func(l *Ledger, caller domain.Credential, q Q, v readView) (R, error)) querySpec {
	return querySpec{
		run: func(ctx context.Context, l *Ledger, caller domain.Credential, name string, body []byte, arrived uint64) (any, uint64, error) {
			q, err := decodeQuery[Q](ctx, l, caller.Scope, name, body, arrived)
			if err != nil {
				return nil, 0, err
			}
			v := readView{licenses: l.licenses, now: l.now(), sequence: l.runner.Position()}
			if q.asOf() != "" {
				if v, err = l.viewAsOf(ctx, caller.ID, q.asOf(), q); err != nil {
					return nil, 0, err
				}
			}
			r, err := answer(l, caller, q, v)
			return r, v.sequence, err
		},
		request: reflect.TypeFor[Q](),
		result:  reflect.TypeFor[R](),
		replays: true,
	}
}

// queries answer from the read models. Each returns the reply's "result".
var queries = map[string]querySpec{
	"license.validate":     query(validateLicense),
	"license.signing-keys": query(listSigningKeys),
	"seat.authenticate":    query(authenticateSeat),
	"license.details":      query(licenseDetails),
	"role.show":            query(showRole),
	"credential.get":       query(getCredential),
	"tenant.get":           query(getTenant),
	"tenant.list":          query(listTenants),
	"admin.get":            query(getAdmin),
	"admin.list":           query(listAdmins),
	"product.list":         query(listProducts),
	"plan.list":            query(listPlans),
	"webhook.list":         query(listWebhooks),
	"webhook.deliveries":   query(showDeliveries),
	"credential.list":      query(listCredentials),
	"usage.quota":          queryAt(usageQuota),
	"usage.summary":        queryAt(usageSummary),
	"dashboard.show":       query(showDashboard),
	"dashboard.history":    queryWithContext(dashboardHistory, true),
	"audit.checkpoint":     query(auditCheckpoint),
	"audit.inclusion":      query(auditInclusion),
	"audit.consistency":    query(auditConsistency),
	"audit.events":         query(auditEvents),
}

// anonymous lists the queries open to callers without a token (Keygen's validate-key).
var anonymous = map[string]bool{"license.validate": true, "license.signing-keys": true}

// queryReply is a query's successful reply.
type queryReply struct {
	Result any `json:"result"`
	// Sequence is the last sequence of the log the answer reflects (at least).
	Sequence uint64 `json:"sequence"`
}

// QueryNames lists the queries, for the edges to register.
func QueryNames() []string { return sortedKeys(queries) }

// IsQuery reports whether name is a query.
func IsQuery(name string) bool { _, ok := queries[name]; return ok }

// Query authenticates and answers one query. It first waits (bounded by ReadTimeout) until the
// read models reflect every command acknowledged before it arrived, so a client always reads
// its own writes.
func (l *Ledger) Query(ctx context.Context, r Request) ([]byte, *Failure) {
	q, ok := queries[r.Name]
	if !ok {
		return nil, Refuse(domain.Errorf(domain.CodeInvalidArgument, "", "unknown query %q", r.Name))
	}
	if r.Reseller != wire.SystemToken { // "_": this partition's part of a system-wide answer
		if f := l.checkPartition(r.Reseller); f != nil {
			return nil, f
		}
	}
	// An anonymous caller's zero scope would read as "system": the matrix keeps it to the
	// queries that look at no scope (license.validate).
	caller := domain.Credential{Role: "anonymous"}
	if r.Token != "" || !anonymous[r.Name] {
		cred, f := l.Authenticate(r.Token, r.Source)
		if f != nil {
			return nil, f
		}
		caller = cred
	}
	if f := authorize(caller.Role, r.Name); f != nil {
		return nil, f
	}
	// The same deadline whatever carried the query: over NATS nothing else would end a query
	// whose asker went away. A query that only reads the live read models waits at most the
	// read timeout for them and answers from memory, so it needs none (and saves the timer,
	// which cost a quarter of a license.validate).
	if q.replays || l.partition.Partitioned() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.queryTimeout)
		defer cancel()
	}
	res, seq, err := q.run(ctx, l, caller, r.Name, r.Body, l.store.Durable())
	if err != nil {
		return nil, Refuse(err)
	}
	if l.partition.Partitioned() && r.Reseller == "" {
		// What partition 0 answers for the whole of a partitioned ledger (its sequence is this
		// partition's): a system admin's totals, and a key it does not know.
		switch local := res.(type) {
		case projections.Summaries:
			if caller.Scope.IsSystem() {
				res, err = l.summaryAcrossPartitions(ctx, r, local)
			}
		case projections.Validation:
			if local.Code == domain.ValidationNotFound {
				res, err = l.validateAcrossPartitions(ctx, r, local)
			}
		}
		if err != nil {
			return nil, Refuse(err)
		}
	}
	b, err := json.Marshal(queryReply{res, seq})
	if err != nil {
		return nil, Refuse(err)
	}
	return b, nil
}
