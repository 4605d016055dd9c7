package natsapi

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/oklog/ulid/v2"
)

// discovery answers the NATS micro protocol for the service "ledger": PING, INFO and STATS on
// $SRV.<VERB>, $SRV.<VERB>.ledger and $SRV.<VERB>.ledger.<id>, so `nats micro ls/info/stats`
// work with the stock CLI.
//
// The ledger speaks the protocol itself instead of registering through nats.go's micro package.
// micro counts an endpoint's errors and time only for a reply sent inside its handler, and the
// ledger answers from a worker pool after the handler has returned, so that a slow group commit
// never holds up the next request: through micro, `nats micro stats` said 0 errors and a few
// microseconds a request. Here a request counts when its reply is sent, with the time from its
// receipt (which includes waiting for the fsync), and a refusal counts as an error.
type discovery struct {
	identity    micro.ServiceIdentity
	description string
	started     time.Time
	endpoints   []micro.EndpointInfo

	mu    sync.Mutex
	stats map[string]*micro.EndpointStats // by subject
}

func newDiscovery(name, version, description string) *discovery {
	return &discovery{
		identity:    micro.ServiceIdentity{Name: name, ID: ulid.Make().String(), Version: version, Metadata: map[string]string{}},
		description: description,
		started:     time.Now().UTC(),
		stats:       map[string]*micro.EndpointStats{},
	}
}

// add lists an endpoint (before subscribe).
func (d *discovery) add(e micro.EndpointInfo) {
	d.endpoints = append(d.endpoints, e)
	d.stats[e.Subject] = &micro.EndpointStats{Name: e.Name, Subject: e.Subject, QueueGroup: e.QueueGroup}
}

// record counts one answered request: its time from receipt to reply, and whether it was refused.
func (d *discovery) record(subject string, elapsed time.Duration, refusal string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats[subject]
	if s == nil {
		return
	}
	s.NumRequests++
	s.ProcessingTime += elapsed
	s.AverageProcessingTime = s.ProcessingTime / time.Duration(s.NumRequests)
	if refusal != "" {
		s.NumErrors++
		s.LastError = refusal
	}
}

func (d *discovery) ping() any {
	return micro.Ping{ServiceIdentity: d.identity, Type: micro.PingResponseType}
}

func (d *discovery) info() any {
	return micro.Info{ServiceIdentity: d.identity, Type: micro.InfoResponseType, Description: d.description, Endpoints: d.endpoints}
}

func (d *discovery) statistics() any {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := micro.Stats{ServiceIdentity: d.identity, Type: micro.StatsResponseType, Started: d.started}
	for _, e := range d.endpoints {
		s := *d.stats[e.Subject]
		out.Endpoints = append(out.Endpoints, &s)
	}
	return out
}

// subscribe answers the three verbs on their three subjects each.
func (d *discovery) subscribe(nc *nats.Conn) ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	for verb, answer := range map[micro.Verb]func() any{micro.PingVerb: d.ping, micro.InfoVerb: d.info, micro.StatsVerb: d.statistics} {
		for _, at := range [][2]string{{"", ""}, {d.identity.Name, ""}, {d.identity.Name, d.identity.ID}} {
			subject, err := micro.ControlSubject(verb, at[0], at[1])
			if err != nil {
				return subs, err
			}
			sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
				b, _ := json.Marshal(answer()) // plain data
				_ = m.Respond(b)
			})
			if err != nil {
				return subs, err
			}
			subs = append(subs, sub)
		}
	}
	return subs, nil
}
