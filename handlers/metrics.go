package handlers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
)

// Metrics are the ledger's Prometheus series. Labels stay bounded: endpoint names and status
// codes, never ids.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	commits  prometheus.Counter
	commands prometheus.Counter
	events   prometheus.Counter
	fsync    prometheus.Histogram
	dropped  *prometheus.CounterVec
}

// NewMetrics registers the request and commit series on reg, and gauges reading the given
// positions (durable mark, published, projected, and the stream's foreign message: see
// eventstore.Relay.Foreign).
func NewMetrics(reg prometheus.Registerer, durable, published, projected, foreign func() uint64) *Metrics {
	m := &Metrics{
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
func (m *Metrics) ObserveCommit(commands, events int, took time.Duration) {
	m.commits.Inc()
	m.commands.Add(float64(commands))
	m.events.Add(float64(events))
	m.fsync.Observe(took.Seconds())
}

func (m *Metrics) droppedRequest(endpoint string) {
	if m != nil {
		m.dropped.WithLabelValues(endpoint).Inc()
	}
}

func (m *Metrics) request(endpoint, kind string, code int, took time.Duration) {
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
	ledger                                                 *Ledger
	licenses, seats, active, consumed, remaining, machines *prometheus.Desc
}

// RegisterUsageMetrics registers the per-reseller usage gauges on reg.
func (l *Ledger) RegisterUsageMetrics(reg prometheus.Registerer) {
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
	sums := c.ledger.licenses.Summarize(c.ledger.now(), func(*domain.License) bool { return true })
	for _, id := range c.ledger.licenses.ResellerIDs() {
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
