// Package metrics keeps the ledger's Prometheus series: requests and their latency by endpoint
// (the edges count them), group commits (the store reports them), the log's positions, and the
// usage of each reseller, read from the core when Prometheus scrapes.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/projections"
)

// Series are the ledger's Prometheus series. Labels stay bounded: endpoint names and status
// codes, never ids.
type Series struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	commits  prometheus.Counter
	commands prometheus.Counter
	events   prometheus.Counter
	fsync    prometheus.Histogram
	dropped  *prometheus.CounterVec
}

// New registers the request and commit series on reg, and gauges reading the given
// positions (durable mark, published, projected, and the stream's foreign message: see
// eventstore.Relay.Foreign).
func New(reg prometheus.Registerer, durable, published, projected, foreign func() uint64) *Series {
	m := &Series{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "licledger_requests_total", Help: "Requests answered, by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "licledger_request_duration_seconds", Help: "Time from receiving a request to sending its reply, by kind.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
		}, []string{"kind"}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licledger_group_commits_total", Help: "Synced Pebble batches (group commits).",
		}),
		commands: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licledger_committed_commands_total", Help: "Commands answered after a group commit.",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "licledger_committed_events_total", Help: "Events made durable.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "licledger_requests_dropped_total",
			Help: "Requests not answered because their reply subject is not an inbox, by endpoint.",
		}, []string{"endpoint"}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "licledger_commit_duration_seconds", Help: "Time of one synced group commit.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14),
		}),
	}
	gauge := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	reg.MustRegister(m.requests, m.latency, m.commits, m.commands, m.events, m.fsync, m.dropped,
		gauge("licledger_durable_sequence", "Last sequence whose fsync returned.", durable),
		gauge("licledger_published_sequence", "Last sequence JetStream acknowledged.", published),
		gauge("licledger_projected_sequence", "Last sequence the read models reflect.", projected),
		gauge("licledger_stream_foreign_sequence", "Sequence at which the event stream holds a message the ledger did not publish (publication stops); 0 if none.", foreign),
		gauge("licledger_publication_lag_events", "Durable events not yet acknowledged by JetStream.", func() uint64 {
			d, p := durable(), published()
			if p >= d {
				return 0
			}
			return d - p
		}),
	)
	return m
}

// ObserveCommit is an eventstore.Options.OnCommit hook.
func (m *Series) ObserveCommit(commands, events int, took time.Duration) {
	m.commits.Inc()
	m.commands.Add(float64(commands))
	m.events.Add(float64(events))
	m.fsync.Observe(took.Seconds())
}

// DroppedRequest counts a request not answered because its reply subject is not an inbox. A nil
// Series counts nothing (as Request).
func (m *Series) DroppedRequest(endpoint string) {
	if m != nil {
		m.dropped.WithLabelValues(endpoint).Inc()
	}
}

// Request counts a request answered with code after took.
func (m *Series) Request(endpoint, kind string, code int, took time.Duration) {
	if m != nil {
		m.requests.WithLabelValues(endpoint, codeLabel(code)).Inc()
		m.latency.WithLabelValues(kind).Observe(took.Seconds())
	}
}

func codeLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 409:
		return "409"
	case 413:
		return "413"
	case 422:
		return "422"
	case 503:
		return "503"
	}
	return "500"
}

// usageCollector exports quota usage and license counts per reseller, computed from the read
// models when Prometheus scrapes. Labels are the reseller id (and the license status, one of four)
// at most: never a license, tenant or user, whose numbers would grow without bound.
type usageCollector struct {
	ledger                                                 *handlers.Ledger
	licenses, seats, active, consumed, remaining, machines *prometheus.Desc
}

// RegisterUsage registers the per-reseller usage gauges of l on reg.
func RegisterUsage(reg prometheus.Registerer, l *handlers.Ledger) {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("licledger_reseller_"+name, help, append([]string{"reseller"}, labels...), nil)
	}
	reg.MustRegister(&usageCollector{
		ledger:    l,
		licenses:  desc("licenses", "Licenses of a reseller, by status.", "status"),
		seats:     desc("seats", "Seats (quota) of a reseller's licenses."),
		active:    desc("active_users", "End users holding a seat on a reseller's licenses."),
		consumed:  desc("consumed_seats", "Seats consumed in the current quota period on a reseller's licenses."),
		remaining: desc("remaining_seats", "Seats left in the current quota period on a reseller's licenses."),
		machines:  desc("machines", "Machines activated on a reseller's licenses."),
	})
}

func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.licenses, c.seats, c.active, c.consumed, c.remaining, c.machines} {
		ch <- d
	}
}

func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	usage := c.ledger.Usage()
	sums := usage.Summaries()
	for _, id := range usage.ResellerIDs() {
		s := sums.ByReseller[id]
		if s == nil {
			s = projections.NewSummary()
		}
		for _, st := range projections.Statuses {
			ch <- prometheus.MustNewConstMetric(c.licenses, prometheus.GaugeValue, float64(s.ByStatus[st]), id, st)
		}
		for d, v := range map[*prometheus.Desc]int{c.seats: s.Seats, c.active: s.Active, c.consumed: s.Consumed, c.remaining: s.Remaining, c.machines: s.Machines} {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), id)
		}
	}
}
