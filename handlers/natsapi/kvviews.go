package natsapi

import (
	"cmp"
	"context"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/projections"
)

// ViewsBucket is the JetStream key-value bucket the read models are exported to, for dashboards
// and anything else that wants to watch usage live (`nats kv watch ledger-views`). Keys:
//
//	reseller.<id>   {"resellerId", "summary": projections.Summary, "sequence"}
//	tenant.<id>     {"tenantId", "resellerId", "summary", "sequence"}
//	license.<id>    {"license": projections.LicenseSummary, "sequence"}
//
// sequence is the last sequence the read models reflected when the value was computed (on a
// partitioned ledger, a place in the log of the partition that owns the value's reseller: every
// partition exports its own resellers' keys to the one bucket).
const ViewsBucket = "ledger-views"

// ViewsStream is the stream that holds ViewsBucket.
const ViewsStream = "KV_" + ViewsBucket

// ViewsBucketConfig is the bucket's configuration: the latest value of each key only, in
// replicas copies (1 on a single server, 3 on a cluster).
func ViewsBucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: ViewsBucket, History: 1, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
		Description: "licledger read models: usage per reseller, tenant and license"}
}

// ExportOptions say how ExportViews writes.
type ExportOptions struct {
	Replicas int           // copies of the bucket: 1 on a single server, 3 on a cluster
	Interval time.Duration // how often the scopes events touched are written
	Refresh  time.Duration // how often every key is written
	Log      *slog.Logger  // default: discard
}

// ExportViews keeps the ViewsBucket (opened, or made, through kvm) up to date with the read
// models until ctx ends. It writes every key once at start, then, at most once per interval, the
// keys of the scopes events touched (so a burst of registrations on one license is one write),
// and every key again each refresh, because quota periods and expiries change with time alone. A
// value that did not change is not written again.
// After a failed write (NATS down, or its store lost with the bucket in it) the next interval
// makes the bucket again if it must and rewrites every key, so the bucket converges once NATS is
// back. It returns when ctx ends.
func ExportViews(ctx context.Context, l *handlers.Ledger, kvm jetstream.KeyValueManager, o ExportOptions) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	scopes := l.Scopes()
	scopes.Start()
	x := &viewExport{ledger: l, kvm: kvm, replicas: o.Replicas, log: o.Log, broken: true}
	if err := x.repair(ctx); err != nil && ctx.Err() == nil {
		o.Log.Warn("exporting views", "err", err) // the next tick tries again
	}
	tick, full := time.NewTicker(o.Interval), time.NewTicker(o.Refresh)
	defer tick.Stop()
	defer full.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			r, t, lic := scopes.Take()
			if x.broken {
				err = x.repair(ctx) // rewrites everything, these scopes too
			} else {
				err = x.write(ctx, r, t, lic)
			}
		case <-full.C:
			err = x.all(ctx)
		}
		if err != nil && ctx.Err() == nil {
			x.broken = true
			o.Log.Warn("exporting views", "err", err) // the next tick tries again
		}
	}
}

type viewExport struct {
	ledger   *handlers.Ledger
	replicas int
	log      *slog.Logger
	kvm      jetstream.KeyValueManager
	kv       jetstream.KeyValue
	written  map[string]uint64 // key -> hash of the value last written
	broken   bool              // a write failed: reopen the bucket and write every key
}

// repair opens the bucket (making it if NATS lost it) and writes every key.
func (x *viewExport) repair(ctx context.Context) error {
	open, cancel := context.WithTimeout(ctx, 5*time.Second)
	kv, err := x.kvm.CreateOrUpdateKeyValue(open, ViewsBucketConfig(x.replicas))
	cancel()
	if err != nil {
		return err
	}
	x.kv, x.written = kv, map[string]uint64{}
	if err := x.all(ctx); err != nil {
		return err
	}
	x.broken = false
	return nil
}

// all writes every key, and deletes every other key of the bucket: only the ledger's writer may
// write there, but what is there is the ledger's own once a full pass is over, whatever happened
// before (a key someone else overwrote, or added). It is the start's pass and the refresh's.
func (x *viewExport) all(ctx context.Context) error {
	x.written = map[string]uint64{} // rewrite even what seems unchanged: it may not be ours
	r, t, lic := x.ledger.Usage().ScopeIDs()
	if err := x.write(ctx, r, t, lic); err != nil {
		return err
	}
	return x.dropForeign(ctx)
}

// dropForeign deletes the bucket's keys that the last full pass did not write. On a ledger
// partitioned by reseller every partition exports its own resellers' keys to the one bucket, so
// a partition leaves alone a key whose value names a reseller another partition owns: that
// partition's own pass polices it.
func (x *viewExport) dropForeign(ctx context.Context) error {
	keys, err := x.kv.ListKeys(ctx)
	if err != nil {
		return err
	}
	var foreign []string
	for k := range keys.Keys() {
		if _, ours := x.written[k]; !ours {
			foreign = append(foreign, k)
		}
	}
	if part := x.ledger.Partition(); part.Partitioned() {
		foreign = slices.DeleteFunc(foreign, func(k string) bool {
			reseller, ok := x.resellerOf(ctx, k)
			return ok && !part.Owns(reseller)
		})
	}
	for _, k := range foreign {
		if err := x.kv.Purge(ctx, k); err != nil {
			return err
		}
		x.log.Warn("the views bucket held a key the ledger did not write; purged", "key", k)
	}
	return nil
}

// resellerOf reads the reseller a key's value names (the views carry it: resellerId, or a
// license's), false if it names none or cannot be read.
func (x *viewExport) resellerOf(ctx context.Context, key string) (string, bool) {
	e, err := x.kv.Get(ctx, key)
	if err != nil {
		return "", false
	}
	var v struct {
		ResellerID string `json:"resellerId"`
		License    struct {
			ResellerID string `json:"resellerId"`
		} `json:"license"`
	}
	if json.Unmarshal(e.Value(), &v) != nil {
		return "", false
	}
	reseller := cmp.Or(v.ResellerID, v.License.ResellerID)
	return reseller, reseller != ""
}

// write exports the given scopes' values. Totals come from one pass over the licenses.
func (x *viewExport) write(ctx context.Context, resellers, tenants, licenses []string) error {
	if len(resellers)+len(tenants)+len(licenses) == 0 {
		return nil
	}
	seq := x.ledger.Projected() // read first: the values reflect at least this
	usage := x.ledger.Usage()
	var sums projections.Summaries
	if len(resellers)+len(tenants) > 0 {
		sums = usage.Summaries()
	}
	summary := func(m map[string]*projections.Summary, id string) projections.Summary {
		if s := m[id]; s != nil {
			return *s
		}
		return *projections.NewSummary() // a scope without licenses
	}
	for _, id := range resellers {
		if err := x.put(ctx, "reseller."+id, struct {
			ResellerID string              `json:"resellerId"`
			Summary    projections.Summary `json:"summary"`
		}{id, summary(sums.ByReseller, id)}, seq); err != nil {
			return err
		}
	}
	for _, id := range tenants {
		reseller, _ := usage.TenantReseller(id)
		if err := x.put(ctx, "tenant."+id, struct {
			TenantID   string              `json:"tenantId"`
			ResellerID string              `json:"resellerId"`
			Summary    projections.Summary `json:"summary"`
		}{id, reseller, summary(sums.ByTenant, id)}, seq); err != nil {
			return err
		}
	}
	for _, id := range licenses {
		s, ok := usage.License(id)
		if !ok {
			continue
		}
		if err := x.put(ctx, "license."+id, struct {
			License projections.LicenseSummary `json:"license"`
		}{s}, seq); err != nil {
			return err
		}
	}
	return nil
}

// put writes value under key with the sequence it reflects, unless the value is what was
// written last (the sequence alone changing is no news).
func (x *viewExport) put(ctx context.Context, key string, value any, seq uint64) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write(b)
	sum := h.Sum64()
	if last, ok := x.written[key]; ok && last == sum {
		return nil
	}
	// Append ,"sequence":N to the object: the value's fields first, then what it reflects.
	out := append(b[:len(b)-1:len(b)-1], `,"sequence":`...)
	out = append(strconv.AppendUint(out, seq, 10), '}')
	if _, err := x.kv.Put(ctx, key, out); err != nil {
		return err
	}
	x.written[key] = sum
	return nil
}
