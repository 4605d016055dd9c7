package handlers

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Webhooks, as the core knows them: the commands and queries that manage them, the log of recent
// delivery attempts the delivering edge (handlers/webhooks) writes and webhook.deliveries reads,
// and what that edge needs of the ledger (the webhooks, their secrets, a way to pause one).

type webhookCreateWire struct {
	domain.WebhookCreate
	CommandMeta
}

// webhookView is a webhook as replies and webhook.list show it (never its secret).
type webhookView struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	ResellerID string   `json:"resellerId,omitempty"`
	EventTypes []string `json:"eventTypes,omitempty"`
	Enabled    bool     `json:"enabled"`
	Reason     string   `json:"reason,omitempty"`
}

func viewWebhook(w *domain.Webhook) webhookView {
	return webhookView{w.ID, w.URL, w.ResellerID, slices.Clone(w.EventTypes), w.Enabled, w.Reason}
}

// webhookCreated is webhook.create's reply: the webhook and its signing secret, shown once.
type webhookCreated struct {
	webhookView
	Secret string `json:"secret"`
}

func webhookCreateCommand(w webhookCreateWire, env *commandEnv) (*prepared, error) {
	fillID(&w.ID)
	secret, sealed := env.secrets.NewWebhookSecret()
	w.SealedSecret = sealed
	id := w.ID
	return &prepared{cmd: w.WebhookCreate, meta: w.CommandMeta, secret: true, result: func(s *domain.State, _ time.Time) any {
		return webhookCreated{viewWebhook(s.Webhooks[id]), secret}
	}}, nil
}

// Wire forms of the other webhook commands.
type (
	webhookUpdateWire struct {
		domain.WebhookUpdate
		CommandMeta
	}
	webhookDisableWire struct {
		domain.WebhookDisable
		CommandMeta
	}
	webhookEnableWire struct {
		domain.WebhookEnable
		CommandMeta
	}
	webhookDeleteWire struct {
		domain.WebhookDelete
		CommandMeta
	}
)

func (w webhookUpdateWire) parts() (domain.Command, CommandMeta) {
	return w.WebhookUpdate, w.CommandMeta
}
func (w webhookDisableWire) parts() (domain.Command, CommandMeta) {
	return w.WebhookDisable, w.CommandMeta
}
func (w webhookEnableWire) parts() (domain.Command, CommandMeta) {
	return w.WebhookEnable, w.CommandMeta
}
func (w webhookDeleteWire) parts() (domain.Command, CommandMeta) {
	return w.WebhookDelete, w.CommandMeta
}

// webhookChanged is the reply of the webhook commands after create: the webhook as it stands
// (deleted: true once it is gone).
type webhookChanged struct {
	webhookView
	Deleted bool `json:"deleted,omitempty"`
}

func webhookResult(cmd domain.Command) func(*domain.State, time.Time) webhookChanged {
	id := aggregateID(cmd)
	return func(s *domain.State, _ time.Time) webhookChanged {
		if w, ok := s.Webhooks[id]; ok {
			return webhookChanged{webhookView: viewWebhook(w)}
		}
		return webhookChanged{webhookView: webhookView{ID: id}, Deleted: true}
	}
}

// webhooksIn is licensesIn for webhooks: a reseller's, or the system's.
func webhooksIn(sc domain.Scope) func(*domain.Webhook) bool {
	return func(w *domain.Webhook) bool { return sc.Reaches(domain.WebhookPlace(w.ResellerID)) }
}

type webhookListQuery struct {
	ResellerID string `json:"resellerId,omitempty"`
	PageQuery
	ReadOptions
}

// listWebhooks answers webhook.list, one page at a time, in id order.
func listWebhooks(l *Ledger, caller domain.Credential, q webhookListQuery) (*page[webhookView], error) {
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	inScope := webhooksIn(caller.Scope)
	hooks, next := l.licenses.Webhooks(q.After, q.Limit, func(w *domain.Webhook) bool {
		return inScope(w) && (q.ResellerID == "" || w.ResellerID == q.ResellerID)
	})
	items := make([]webhookView, len(hooks))
	for i := range hooks {
		items[i] = viewWebhook(&hooks[i])
	}
	return &page[webhookView]{items, next}, nil
}

type webhookDeliveriesQuery struct {
	WebhookID string `json:"webhookId"`
	ReadOptions
}

// WebhookDelivery is one attempt to deliver one event to one webhook.
type WebhookDelivery struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Sequence  uint64 `json:"sequence"`
	// Stream is the event stream the event came from, on a ledger partitioned by reseller (a
	// system webhook's events come from every partition's, and a sequence is a place in one).
	Stream    string    `json:"stream,omitempty"`
	Attempt   int       `json:"attempt"` // 1 for the first try of this event
	At        time.Time `json:"at"`
	Status    int       `json:"status,omitempty"` // the receiver's HTTP status; 0 if none came
	Error     string    `json:"error,omitempty"`  // why it failed: a status, a timeout, a refused address
	Delivered bool      `json:"delivered"`
}

// webhookDeliveries is webhook.deliveries' result: the webhook and its most recent attempts, the
// newest first.
type webhookDeliveries struct {
	webhookView
	Attempts []WebhookDelivery `json:"attempts"`
}

// showDeliveries answers webhook.deliveries; a webhook outside the scope is as one that does not
// exist.
func showDeliveries(l *Ledger, caller domain.Credential, q webhookDeliveriesQuery) (webhookDeliveries, error) {
	w, ok := l.licenses.Webhook(q.WebhookID, webhooksIn(caller.Scope))
	if !ok {
		return webhookDeliveries{}, domain.Errorf(domain.CodeWebhookNotFound, "webhookId", "webhook %q does not exist", q.WebhookID)
	}
	return webhookDeliveries{viewWebhook(&w), l.deliveries.recent(w.ID)}, nil
}

// deliveryLog keeps each webhook's recent attempts in memory (a restart forgets them; the events
// and whether they were delivered are in the stream and its consumers).
type deliveryLog struct {
	mu   sync.Mutex
	byID map[string][]WebhookDelivery
}

// maxDeliveries is how many attempts per webhook the log keeps.
const maxDeliveries = 100

func (d *deliveryLog) add(id string, a WebhookDelivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID == nil {
		d.byID = map[string][]WebhookDelivery{}
	}
	log := append(d.byID[id], a)
	if len(log) > maxDeliveries {
		log = slices.Clone(log[len(log)-maxDeliveries:])
	}
	d.byID[id] = log
}

func (d *deliveryLog) recent(id string) []WebhookDelivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.byID[id])
	slices.Reverse(out)
	if out == nil {
		out = []WebhookDelivery{}
	}
	return out
}

// RecordDelivery notes one delivery attempt (the delivering edge calls it).
func (l *Ledger) RecordDelivery(webhookID string, a WebhookDelivery) { l.deliveries.add(webhookID, a) }

// Webhooks returns every webhook as the read model holds it, for the delivering edge.
func (l *Ledger) Webhooks() []domain.Webhook {
	hooks, _ := l.licenses.Webhooks("", int(^uint(0)>>1), func(*domain.Webhook) bool { return true })
	return hooks
}

// WebhookSecret opens a webhook's signing secret, for the delivering edge.
func (l *Ledger) WebhookSecret(w domain.Webhook) (string, error) {
	return l.secrets.OpenWebhookSecret(w.SealedSecret)
}

// DisableWebhook pauses a webhook as the ledger itself (the delivering edge, after repeated
// failures), with the reason the event keeps; webhook.enable resumes it.
func (l *Ledger) DisableWebhook(ctx context.Context, w domain.Webhook, reason string) error {
	// Addressed to the webhook's reseller, as its own commands are: on a partitioned ledger an
	// unaddressed change of a reseller's data is refused.
	p := &prepared{cmd: domain.WebhookDisable{WebhookID: w.ID, Reason: reason}, addressed: w.ResellerID,
		result: func(*domain.State, time.Time) any { return nil }}
	_, f := l.submit(ctx, eventstore.Command{Actor: "ledger", Decide: l.decision(p)}, w.ResellerID)
	if f != nil {
		return f.Err
	}
	// Once it returns, Webhooks shows the webhook paused: the edge does not start it again.
	return l.runner.WaitFor(ctx, l.store.Durable())
}
